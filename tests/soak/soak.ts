/**
 * `npm run test:soak`: the shop under a long mixed load with every fault the simulator has, then
 * the ledger check. SOAK_SECONDS (default 600) sets how long the load lasts; DATABASE_URL names
 * the PostgreSQL server (a fresh database is made on it and dropped after).
 *
 * Two shop instances (the real start() of src/main.ts, each with its own connections and LISTEN)
 * behind a TCP load balancer of the soak's own, which is also WeChat's notify_url and the API base
 * (the simulator lives in both instances on the shared database). Only time is faked: one clock,
 * shared by both instances, runs SOAK_CLOCK_SPEED (default 20) times faster than real time, so
 * QR codes expire and the sweeper closes abandoned trades within a short soak.
 *
 * Load: shoppers checking out (WeChat Pay, and cash on delivery), paying on the simulator's phone
 * or walking away, their pages long-polling the status on either instance; an admin listing the
 * paylog, exporting CSV and refunding (in part or in full); the simulator injecting faults (lost,
 * duplicated, delayed and badly signed notifies, SYSTEMERROR on every API call). After the load:
 * faults removed, pending refunds retried, the shop left to settle, then the ledger check.
 *
 * Prints trades, ¥ paid, ¥ refunded, notifies received by verdict, faults injected, p50/p99 of
 * each page, RSS at start / middle / end. Exit 1 on any discrepancy or on memory growth over the
 * second half beyond the bound (see MEMORY_BOUND below); exit 2 on a bad setting.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { hashPassword } from '../../src/admin/password';
import { SEED_PRODUCTS } from '../../src/catalog/seed-data';
import { openDatabase, type Database } from '../../src/db';
import { checkLedger, formatLedgerReport, yuan } from '../../src/ledger/check';
import { start, type RunningShop } from '../../src/main';
import { sendRefund } from '../../src/refunds/service';
import { addFault, parseFaultInput } from '../../src/simulator';
import { freePorts } from '../e2e/helpers/processes';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { createTestDatabase } from '../helpers/testdb';
import { RECEIVER, checkoutTokenOf, csrfOf } from '../helpers/shopper';

function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`soak: ${name} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return value;
}

const SOAK_SECONDS = setting('SOAK_SECONDS', 600, 10, 24 * 3600);
const CLOCK_SPEED = setting('SOAK_CLOCK_SPEED', 20, 1, 100);
const SHOPPERS = setting('SOAK_SHOPPERS', 3, 1, 50);
/**
 * Memory bound over the second half: the median of the last quarter's samples may exceed the
 * median of the third quarter's by at most max(48 MiB, 15%). What is measured is the live heap
 * after a full GC (`npm run test:soak` runs node with --expose-gc; RSS is printed too, but it also
 * holds pages V8 and malloc keep after freeing, and it grew by ~100 MiB over the second half of a
 * 10-minute soak whose live heap grew by a few MiB). Why 48 MiB: what a process without a leak
 * may still add after warm-up is its bounded caches, filling at the soak's pace: the QR drawings
 * (src/pay/qr.ts, 2000 entries of ~1.6 KiB: ~4 MiB) and each session store's recent writes
 * (src/http/session-store.ts, up to 100,000 entries of ~150 B: ~15 MiB per instance, 2 instances
 * in this process), ~34 MiB in all, and V8's heap moving in steps of a few MiB. Everything the
 * soak keeps is bounded too (latency reservoirs of 2000 samples per page, counters). A leak of a
 * few KiB per request (some 100 requests a second here) breaks the bound within minutes; medians
 * of many samples, not two points, keep one GC from deciding the verdict.
 */
const MEMORY_BOUND = { bytes: 48 * 1024 * 1024, ratio: 0.15 };

if (!process.env.DATABASE_URL?.trim()) {
  console.error('soak: DATABASE_URL must name a PostgreSQL server (the soak runs two shop instances on one database there)');
  process.exit(2);
}

// ---- measurement

class Reservoir {
  private readonly samples: number[] = [];
  private seen = 0;
  constructor(private readonly size = 2000) {}
  add(value: number) {
    this.seen += 1;
    if (this.samples.length < this.size) this.samples.push(value);
    else {
      const i = Math.floor(Math.random() * this.seen);
      if (i < this.size) this.samples[i] = value;
    }
  }
  get count() {
    return this.seen;
  }
  quantile(q: number): number {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
  }
}

const latency = new Map<string, Reservoir>();
const statuses = new Map<string, number>();
async function timed<T extends { status: number }>(page: string, call: () => PromiseLike<T>): Promise<T> {
  const started = performance.now();
  const res = await call();
  const reservoir = latency.get(page) ?? new Reservoir();
  latency.set(page, reservoir);
  reservoir.add(performance.now() - started);
  const key = `${page} ${res.status}`;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
  return res;
}
const counters = new Map<string, number>();
const count = (name: string, by = 1) => counters.set(name, (counters.get(name) ?? 0) + by);

const rss: { at: number; bytes: number }[] = [];
const heap: { at: number; bytes: number }[] = [];
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

// ---- the actors

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const PLENTY = SEED_PRODUCTS.filter((p) => p.stock >= 25).map((p) => p.sku);


interface Paid {
  outTradeNo: string;
  totalFee: number;
  refundable: number;
}

/** Drops the databases of earlier soaks that were interrupted (their process is gone). */
async function dropLeftovers(server: string): Promise<void> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'wxpay\\_soak\\_%'");
    for (const { datname } of rows) {
      const pid = Number(/^wxpay_soak_(\d+)_/.exec(datname)?.[1]);
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (!alive) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

async function main() {
  await dropLeftovers(process.env.DATABASE_URL as string);
  const testDb = await createTestDatabase({ prefix: 'wxpay_soak_' });
  const dbs: Database[] = [];
  const shops: RunningShop[] = [];
  const lbPorts = await freePorts(2);
  const lb = await startTcpProxy(lbPorts.map((port) => ({ host: '127.0.0.1', port })));
  const front = `http://127.0.0.1:${lb.port}`;
  const t0 = Date.now();
  const clock = () => new Date(t0 + (Date.now() - t0) * CLOCK_SPEED);
  const adminPassword = crypto.randomBytes(12).toString('hex');
  const env = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    SIM_TIME_SCALE: '100',
    SIM_REFUND_DELAY_SECONDS: '5',
    SWEEP_INTERVAL_SECONDS: '1',
    PAY_QR_TTL_SECONDS: '600',
    POLL_QUERY_AFTER_SECONDS: '30',
    POLL_QUERY_INTERVAL_SECONDS: '20',
    POLL_MAX_WAIT_SECONDS: '10',
    ADMIN_USER: 'soak',
    ADMIN_PASSWORD_HASH: await hashPassword(adminPassword, { N: 2 ** 14, r: 8, p: 1 }),
    WXPAY_NOTIFY_URL: `${front}/wxpay/notify`,
    WXPAY_BASE_URL: `${front}/wxsim`,
  };
  try {
    for (const port of lbPorts) {
      const db = await openDatabase({ databaseUrl: testDb.url, pgliteDir: 'memory://' });
      dbs.push(db);
      shops.push(await start({ ...env, PORT: String(port) }, { db, clock }));
    }
    const knex = testDb.db.knex;
    const mchId = shops[0]?.app.locals.deps.config.wxpay.mchId as string;
    const paid: Paid[] = [];
    const deadline = Date.now() + SOAK_SECONDS * 1000;
    const running = () => Date.now() < deadline;

    const shopper = async () => {
      while (running()) {
        const agent = request.agent(front);
        try {
          const home = await timed('GET /', () => agent.get('/'));
          let csrf = csrfOf(home.text);
          const lines = Math.random() < 0.7 ? 1 : 2;
          for (let i = 0; i < lines; i += 1) {
            const sku = pick(PLENTY);
            const id = new RegExp(`id="product-(\\d+)" data-sku="${sku}"`).exec(home.text)?.[1];
            if (!id) continue;
            const res = await timed('POST /cart/add', () => agent.post('/cart/add').type('form').send({ _csrf: csrf, product_id: id, quantity: '1' }));
            if (res.headers['set-cookie']) csrf = csrfOf((await timed('GET /', () => agent.get('/'))).text);
          }
          const form = await timed('GET /checkout', () => agent.get('/checkout'));
          if (form.status !== 200) continue;
          const cod = Math.random() < 0.15;
          const done = await timed('POST /checkout', () =>
            agent.post('/checkout').type('form').send({ _csrf: csrfOf(form.text), checkout_token: checkoutTokenOf(form.text), pay_type: cod ? 'cod' : 'wxpay', ...RECEIVER }),
          );
          if (done.status !== 303) {
            count(`checkout refused ${done.status}`);
            continue;
          }
          if (cod) {
            count('cash on delivery orders');
            continue;
          }
          const outTradeNo = /^\/pay\/(\w+)$/.exec(done.headers.location ?? '')?.[1];
          if (!outTradeNo) continue;
          const page = await timed('GET /pay/:outTradeNo', () => agent.get(`/pay/${outTradeNo}`));
          const href = /href="\/wxsim\/scan\?code_url=([^"]+)"/.exec(page.text)?.[1];
          if (page.status !== 200 || !href) {
            count('pay page without a QR code (WeChat failing)');
            continue;
          }
          if (Math.random() < 0.25) {
            count('abandoned trades');
            continue;
          }
          const codeUrl = decodeURIComponent(href.replace(/&amp;/g, '&'));
          const scan = await timed('GET /wxsim/scan', () => request(front).get('/wxsim/scan').query({ code_url: codeUrl }));
          const token = /name="token" value="([^"]+)"/.exec(scan.text)?.[1];
          if (!token) continue;
          const pay = await timed('POST /wxsim/scan/pay', () => request(front).post('/wxsim/scan/pay').set('Origin', front).type('form').send({ code_url: codeUrl, token }));
          if (pay.status !== 200) continue;
          count('paid on the phone');
          // the pay page's long poll, on either instance, until it says SUCCESS (a lost notify waits for orderquery)
          for (let i = 0; i < 6 && running(); i += 1) {
            const status = await timed('GET /pay/:outTradeNo/status', () => agent.get(`/pay/${outTradeNo}/status?wait=10`));
            if ((status.body as { state?: string }).state === 'SUCCESS') {
              const row = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('total_fee')) as { total_fee: number };
              paid.push({ outTradeNo, totalFee: row.total_fee, refundable: row.total_fee });
              count('success pages seen');
              break;
            }
          }
        } catch (err) {
          count(`shopper error: ${(err as Error).message.slice(0, 60)}`);
          await pause(200);
        }
        // a shopper's pause between two visits (keeps the soak within about one core)
        await pause(50);
      }
    };

    const admin = async () => {
      const agent = request.agent(front);
      const form = await agent.get('/admin/login');
      const login = await agent.post('/admin/login').type('form').send({ _csrf: csrfOf(form.text), username: 'soak', password: adminPassword });
      if (login.status !== 303) throw new Error(`admin login answered ${login.status}`);
      let round = 0;
      while (running()) {
        round += 1;
        try {
          await timed('GET /admin/paylog', () => agent.get('/admin/paylog'));
          if (round % 5 === 0) await timed('GET /admin/paylog.csv', () => agent.get('/admin/paylog.csv'));
          if (round % 3 === 0 && paid.length > 0) {
            const trade = pick(paid);
            if (trade.refundable > 0) {
              const amount = Math.random() < 0.5 ? trade.refundable : Math.max(1, Math.floor(trade.refundable / 2));
              const refundForm = await agent.get(`/admin/paylog/${trade.outTradeNo}/refund`);
              const outRefundNo = /name="out_refund_no" value="([^"]+)"/.exec(refundForm.text)?.[1];
              if (refundForm.status === 200 && outRefundNo) {
                const res = await timed('POST /admin/paylog/:outTradeNo/refund', () =>
                  agent
                    .post(`/admin/paylog/${trade.outTradeNo}/refund`)
                    .type('form')
                    .send({ _csrf: csrfOf(refundForm.text), out_refund_no: outRefundNo, amount: (amount / 100).toFixed(2), reason: 'soak', confirm: 'yes' }),
                );
                if (res.status === 303) {
                  trade.refundable -= amount;
                  count('refunds asked');
                }
              }
            }
          }
        } catch (err) {
          count(`admin error: ${(err as Error).message.slice(0, 60)}`);
        }
        await pause(700);
      }
    };

    const FAULTS: Record<string, unknown>[] = [
      { kind: 'notify_drop' },
      { kind: 'notify_duplicate', copies: 3 },
      { kind: 'notify_delay', delay_seconds: 30 },
      { kind: 'notify_bad_signature' },
      { kind: 'systemerror', api: 'unifiedorder' },
      { kind: 'systemerror', api: 'orderquery' },
      { kind: 'systemerror', api: 'closeorder' },
      { kind: 'systemerror', api: 'refund' },
      { kind: 'systemerror', api: 'refundquery' },
    ];
    const faults = async () => {
      while (running()) {
        const fault = pick(FAULTS);
        // straight into the simulator's table: its fault API over HTTP is the admin's (tested on its own)
        await addFault(knex, clock(), parseFaultInput({ mch_id: mchId, count: 1 + Math.floor(Math.random() * 3), ...fault }));
        count(`faults injected: ${String(fault.kind)}${fault.api ? `/${String(fault.api)}` : ''}`);
        await pause(1500);
      }
    };

    // deliveries from the warehouse: what sold out comes back in stock (counted, so that stock is still conserved)
    const delivered = new Map<string, number>();
    const restock = async () => {
      while (running()) {
        const low = (await knex('products').where('stock', '<', 20).pluck('sku')) as string[];
        for (const sku of low) {
          await knex('products').where({ sku }).increment('stock', 200);
          delivered.set(sku, (delivered.get(sku) ?? 0) + 200);
          count('restocked products');
        }
        await pause(2000);
      }
    };
    const initialStock = () => Object.fromEntries(SEED_PRODUCTS.map((p) => [p.sku, p.stock + (delivered.get(p.sku) ?? 0)]));

    const gc = (globalThis as { gc?: () => void }).gc;
    const sampler = async () => {
      let tick = 0;
      while (running()) {
        rss.push({ at: Date.now() - t0, bytes: process.memoryUsage().rss });
        // the live heap after a full collection: what a leak grows (RSS also holds freed pages V8 keeps)
        if (gc && tick % 5 === 0) {
          gc();
          heap.push({ at: Date.now() - t0, bytes: process.memoryUsage().heapUsed });
        }
        tick += 1;
        await pause(1000);
      }
    };

    console.log(`soak: ${SOAK_SECONDS} s, ${SHOPPERS} shoppers, 2 instances behind ${front}, clock x${CLOCK_SPEED}, database ${new URL(testDb.url as string).pathname.slice(1)}`);
    const rssStart = process.memoryUsage().rss;
    await Promise.all([...Array.from({ length: SHOPPERS }, shopper), admin(), faults(), restock(), sampler()]);

    // ---- settle: WeChat behaves again, pending refunds are retried, the sweeper and retries finish
    await knex('sim_faults').update({ remaining: 0 });
    const settleUntil = Date.now() + 120_000;
    let report = await checkLedger(knex, { mchId, initialStock: initialStock(), now: clock() });
    for (;;) {
      const shop = shops[0] as RunningShop;
      const pending = (await knex('refunds').where({ status: 'PENDING' }).pluck('out_refund_no')) as string[];
      for (const outRefundNo of pending) {
        await sendRefund(knex, shop.app.locals.deps.payments, { outRefundNo, operator: 'admin:soak', clock }).catch(() => undefined);
      }
      const busy = (await knex('sim_notifications').where({ status: 'pending' }).count({ n: '*' })) as { n: string | number }[];
      const processing = (await knex('refunds').whereIn('status', ['PENDING', 'PROCESSING']).count({ n: '*' })) as { n: string | number }[];
      report = await checkLedger(knex, { mchId, initialStock: initialStock(), now: clock() });
      if ((report.discrepancies.length === 0 && Number(busy[0]?.n) === 0 && Number(processing[0]?.n) === 0) || Date.now() > settleUntil) break;
      await pause(1000);
    }

    // ---- the printout
    const verdicts = (await knex('notify_log').groupBy('kind', 'verdict').orderBy(['kind', 'verdict']).select('kind', 'verdict', knex.raw('count(*)::int AS n'))) as { kind: string; verdict: string; n: number }[];
    const used = (await knex('sim_faults').groupBy('kind', 'api').select('kind', 'api', knex.raw('sum(used)::int AS used'))) as { kind: string; api: string | null; used: number }[];
    const states = (await knex('paylog').groupBy('trade_state').select('trade_state', knex.raw('count(*)::int AS n'))) as { trade_state: string; n: number }[];
    console.log(`trades: ${report.trades} (${states.map((s) => `${s.trade_state} ${s.n}`).join(', ')}); ${yuan(report.paidFen)} paid, ${yuan(report.refundedFen)} refunded`);
    console.log(`activity: ${[...counters].sort().map(([k, v]) => `${k} ${v}`).join('; ')}`);
    console.log(`notifies received by verdict: ${verdicts.map((v) => `${v.kind}/${v.verdict} ${v.n}`).join(', ')}`);
    console.log(`faults used by the simulator: ${used.map((u) => `${u.kind}${u.api ? `/${u.api}` : ''} ${u.used}`).join(', ')}`);
    console.log('page latency (ms): page  requests  p50  p99  statuses');
    for (const [page, r] of [...latency].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const codes = [...statuses].filter(([k]) => k.startsWith(`${page} `)).map(([k, v]) => `${k.slice(page.length + 1)}x${v}`).join(' ');
      console.log(`  ${page.padEnd(38)} ${String(r.count).padStart(7)} ${r.quantile(0.5).toFixed(1).padStart(7)} ${r.quantile(0.99).toFixed(1).padStart(8)}  ${codes}`);
    }
    const quarters = (samples: { at: number; bytes: number }[]) => {
      const span = samples.at(-1)?.at ?? 0;
      return {
        start: samples[0]?.bytes ?? NaN,
        mid: median(samples.filter((x) => x.at >= span / 2 && x.at < (span * 3) / 4).map((x) => x.bytes)),
        end: median(samples.filter((x) => x.at >= (span * 3) / 4).map((x) => x.bytes)),
      };
    };
    const r = quarters(rss);
    console.log(`RSS: start ${mib(rssStart)}, middle ${mib(r.mid)}, end ${mib(r.end)}`);
    // the verdict: the live heap after a full GC when the soak runs with --expose-gc (npm run test:soak does), else RSS
    const judged = heap.length >= 8 ? { what: 'live heap after GC', ...quarters(heap) } : { what: 'RSS', ...r };
    const allowed = Math.max(MEMORY_BOUND.bytes, judged.mid * MEMORY_BOUND.ratio);
    const growth = judged.end - judged.mid;
    console.log(`memory (${judged.what}): start ${mib(judged.start)}, middle ${mib(judged.mid)}, end ${mib(judged.end)}; growth over the second half ${mib(growth)}, allowed ${mib(allowed)}`);
    for (const line of formatLedgerReport(report)) console.log(line);
    const memoryOk = !(growth > allowed);
    if (!memoryOk) console.log(`soak: ${judged.what} grew by ${mib(growth)} over the second half, more than the ${mib(allowed)} allowed`);
    return report.discrepancies.length === 0 && memoryOk ? 0 : 1;
  } finally {
    for (const shop of shops) await shop.stop().catch(() => undefined);
    for (const db of dbs) await db.close().catch(() => undefined);
    await lb.close();
    await testDb.drop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`soak failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(1);
  },
);
