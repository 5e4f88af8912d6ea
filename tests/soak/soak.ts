/**
 * `npm run test:soak`: two real shop processes on one PostgreSQL database under shoppers that
 * behave like shoppers, an admin at work and every fault the simulator has, for SOAK_SECONDS
 * (default 600); then the shops are left to settle and the ledger check runs. DATABASE_URL names
 * the PostgreSQL server (a fresh database is made on it and dropped after).
 *
 * The shops: each instance is a process of its own (tests/soak/instance.ts: the real start() of
 * src/main.ts, as `npm start` runs it), behind a TCP load balancer of the soak's own, which is also
 * WeChat's notify_url and the API base (the simulator lives in both instances, on the shared
 * database). The shops trust the balancer as they trust nginx (TRUST_PROXY=loopback), so each
 * shopper's address is its own. Only time is faked: one clock, shared by both instances and the
 * soak, runs SOAK_CLOCK_SPEED (default 20) times faster than real time, so QR codes expire and the
 * sweeper closes abandoned trades within a short soak.
 *
 * The load (tests/soak/shoppers.ts, admin.ts, faults.ts): SOAK_SHOPPERS (default 24) sessions at
 * once, new ones arriving as others leave, on desktops, phones and WeChat's browser, who pay,
 * abandon, pay late, pay twice or switch how to pay, in the mix printed at the start (SOAK_MIX
 * changes it); cash-on-delivery orders; an admin refunding (in full, in part, and every flagged
 * payment), retrying and syncing refunds, querying and closing payments, settling cash on delivery,
 * exporting CSV and reconciling, shipping the oldest orders of the queue (and correcting a tracking
 * number now and then); shoppers who come back confirming the receipt of what was shipped; the
 * merchant's alerts (order paid, shipped, completed, needs attention) delivered to the simulator's
 * stand-in robot; every fault kind kept armed; the warehouse restocking.
 *
 * The verdicts (each printed with its bound and why; exit 1 if any fails, 2 on a bad setting):
 *  - the ledger check: 0 discrepancies;
 *  - every fault kind was used by the simulator, not only injected;
 *  - throughput: at least SOAK_MIN_PAID_PER_MINUTE (default 100) trades paid a minute of load,
 *    across both instances;
 *  - refused checkouts (at a limit) at most REFUSED_SHARE_BOUND of checkouts;
 *  - memory, per shop process: the live heap after a full GC grows no more than HEAP_BOUND over
 *    the second half, and RSS (printed per minute) levels off within RSS_BOUND (in a load of 5
 *    minutes or more);
 *  - orders shipped by the admin (and, in a load of 5 minutes or more, receipts confirmed);
 *  - every alert of the outbox delivered once the load is over (none pending, none given up);
 *  - no answer 500 (an error the shop did not expect), and neither shop process died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { hashPassword } from '../../src/admin/password';
import { seedStockBySku } from '../../src/catalog/seed-data';
import { countStock } from '../../src/ledger';
import { checkLedger, formatLedgerReport, yuan } from '../../src/ledger/check';
import { freePorts } from '../e2e/helpers/processes';
import { cleanShopEnv } from '../helpers/shop-env';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { createTestDatabase } from '../helpers/testdb';
import { Admin } from './admin';
import { REARM_MS, SOAK_FAULTS, faultUse, injectFaults } from './faults';
import type { MemoryAnswer, MemoryProbe } from './instance';
import { Measurements, MemorySeries, mib, mibList, pct, secondHalf } from './measure';
import { describeMix, parseMix, shopperSlot, type ShopperMix } from './shoppers';

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
const SHOPPERS = setting('SOAK_SHOPPERS', 24, 1, 200);
/** Issue 27's floor: a shop that settles fewer than 100 trades a minute across two instances on this 2-core machine has regressed. */
const MIN_PAID_PER_MINUTE = setting('SOAK_MIN_PAID_PER_MINUTE', 100, 0, 1_000_000);
let MIX: ShopperMix;
try {
  MIX = parseMix(process.env.SOAK_MIX);
} catch (err) {
  console.error(`soak: ${(err as Error).message}`);
  process.exit(2);
}

/**
 * Refused checkouts, at most this share of all checkouts. A session refused at its limit pays or
 * leaves and never asks again, so a refusal costs one request per session that reaches a limit: a
 * few sessions in a hundred with the mix's abandoned and late checkouts (each holds its place for
 * PAY_QR_TTL_SECONDS). The 99.7% refused of the soak before issue 27 (every shopper from one address,
 * against the per-address limit its unaccepted cash-on-delivery orders filled) breaks it at once.
 */
const REFUSED_SHARE_BOUND = 0.05;
/**
 * Live heap after a full GC, per shop process: the median of the last quarter's samples may exceed
 * the third quarter's by at most max(32 MiB, 15%). What a process without a leak may still add after
 * warm-up is its bounded caches filling at the soak's pace. The largest is the QR drawings
 * (src/pay/qr.ts, at most 2000): V8 holds each cached SVG as the rope it was built as, ~900 string
 * pieces, ~25 KiB (a heap snapshot of this soak: 275 drawings, 7.0 MB), not the 1.6 KB of the flat
 * text, so the cache fills at ~1.5 MiB a minute per shop (~60 new QR codes a minute) up to ~50 MiB
 * after some 30 minutes: the live heap's steady rise in the per-minute line, ~7 MiB over the second
 * half of a 10-minute run. Then the session store's recent writes (src/http/session-store.ts, ~150 B
 * per session, some 150 sessions a minute here) and the sweeper's backoff records (at most 10,000:
 * ~1 MiB), and V8's heap moving in steps of a few MiB. A leak of a few KiB per request (some 30
 * requests a second reach each instance) breaks the bound within minutes; medians of many samples,
 * not two points, keep one GC from deciding the verdict.
 */
const HEAP_BOUND = { bytes: 32 * 1024 * 1024, ratio: 0.15 };
/**
 * RSS, per shop process, printed per minute: it must level off. The median of the last quarter's
 * samples may exceed the third quarter's by at most max(32 MiB, 10%), judged when the load lasted
 * at least RSS_JUDGED_FROM_S. Why: RSS holds the live heap and what V8 and malloc keep beside it
 * (V8 sizes its heap spaces in steps as the load warms it up and gives pages back lazily; glibc
 * keeps freed memory in its arenas). In our runs each shop's RSS rose from ~160 to ~235 MiB over the
 * first two or three minutes and then by 1 or 2 MiB a minute, most of it the live heap's QR cache
 * filling (10-minute runs, 155 to 170 trades paid a minute: +3 to +6 MiB over the second half, the
 * live heap +3 to +4 MiB of it). What RSS may still add after warm-up
 * is what the heap may add (HEAP_BOUND's bounded caches); more, over the second half of a run, is
 * memory held outside the live heap that keeps coming (buffers, sockets, native allocations): the
 * leak the heap verdict cannot see. A run shorter than RSS_JUDGED_FROM_S is warm-up from end to end
 * (a minute's second half grew by up to 18 MiB): its RSS is printed, not judged.
 */
const RSS_BOUND = { bytes: 32 * 1024 * 1024, ratio: 0.1 };
const RSS_JUDGED_FROM_S = 300;

if (!process.env.DATABASE_URL?.trim()) {
  console.error('soak: DATABASE_URL must name a PostgreSQL server (the soak runs two shop instances on one database there)');
  process.exit(2);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

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

// ---- the shop processes

interface Instance {
  name: string;
  child: ChildProcess;
  logPath: string;
  /** set when the process ended */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  memory: MemorySeries;
  probe(gc: boolean): Promise<MemoryAnswer | undefined>;
  stop(): Promise<void>;
  tail(): string;
}

async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const logPath = path.join(os.tmpdir(), `wxpay-soak-${process.pid}-${name.replace(/\W+/g, '-')}.log`);
  const log = fs.openSync(logPath, 'w');
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(__dirname, 'instance.ts')], {
    cwd: path.resolve(__dirname, '..', '..'),
    env: cleanShopEnv(env),
    stdio: ['ignore', log, log, 'ipc'],
  });
  fs.closeSync(log);
  const waiting = new Map<number, (answer: MemoryAnswer) => void>();
  let nextId = 0;
  const instance: Instance = {
    name,
    child,
    logPath,
    exit: undefined,
    memory: new MemorySeries(name),
    probe(gc) {
      if (instance.exit || !child.connected) return Promise.resolve(undefined);
      const id = (nextId += 1);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(undefined);
        }, 10_000);
        waiting.set(id, (answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
        child.send({ kind: 'memory', id, gc } satisfies MemoryProbe);
      });
    },
    async stop() {
      if (instance.exit) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
    tail: () => fs.readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n'),
  };
  child.on('message', (message: MemoryAnswer) => {
    if (message?.kind === 'memory') waiting.get(message.id)?.(message);
  });
  child.once('exit', (code, signal) => {
    instance.exit = { code, signal };
  });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: { kind?: string }) => {
      if (message?.kind !== 'ready') return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve();
    };
    const onExit = (code: number | null) => reject(new Error(`${name} exited with ${code} before it was ready:\n${instance.tail()}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  return instance;
}

// ---- the run

async function main(): Promise<number> {
  let keepLogs = true;
  await dropLeftovers(process.env.DATABASE_URL as string);
  const testDb = await createTestDatabase({ prefix: 'wxpay_soak_' });
  const instances: Instance[] = [];
  const lbPorts = await freePorts(2);
  const lb = await startTcpProxy(lbPorts.map((port) => ({ host: '127.0.0.1', port })));
  const front = `http://127.0.0.1:${lb.port}`;
  const t0 = Date.now();
  const clock = () => new Date(t0 + (Date.now() - t0) * CLOCK_SPEED);
  const adminPassword = crypto.randomBytes(12).toString('hex');
  const PAY_QR_TTL_SECONDS = 600;
  const env = {
    DATABASE_URL: testDb.url as string,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // the load balancer stands where nginx stands in deploy/: the shops read the shopper's address from it
    TRUST_PROXY: 'loopback',
    SIM_TIME_SCALE: '100',
    SIM_REFUND_DELAY_SECONDS: '5',
    SWEEP_INTERVAL_SECONDS: '1',
    PAY_QR_TTL_SECONDS: String(PAY_QR_TTL_SECONDS),
    POLL_QUERY_AFTER_SECONDS: '30',
    POLL_QUERY_INTERVAL_SECONDS: '20',
    POLL_MAX_WAIT_SECONDS: '10',
    ADMIN_USER: 'soak',
    ADMIN_PASSWORD_HASH: await hashPassword(adminPassword, { N: 2 ** 14, r: 8, p: 1 }),
    WXPAY_NOTIFY_URL: `${front}/wxpay/notify`,
    WXPAY_BASE_URL: `${front}/wxsim`,
    SOAK_T0: String(t0),
    SOAK_CLOCK_SPEED: String(CLOCK_SPEED),
  };
  try {
    for (const [i, port] of lbPorts.entries()) instances.push(await startInstance(`shop ${'AB'[i]}`, { ...env, PORT: String(port) }));
    const knex = testDb.db.knex;
    const { mch_id: mchId } = (await knex('sim_merchants').first('mch_id')) as { mch_id: string };

    const loadStart = Date.now();
    const deadline = loadStart + SOAK_SECONDS * 1000;
    const running = () => Date.now() < deadline && !instances.some((i) => i.exit);
    const m = new Measurements(() => loadStart);
    const soakMemory = new MemorySeries('soak (load)');

    console.log(
      `soak: ${SOAK_SECONDS} s of load, ${SHOPPERS} shoppers at once, 2 shop processes (pids ${instances.map((i) => i.child.pid).join(', ')}) behind ${front}, clock x${CLOCK_SPEED}, database ${new URL(testDb.url as string).pathname.slice(1)}`,
    );
    console.log('the mix (SOAK_MIX changes it):');
    for (const line of describeMix(MIX)) console.log(line);
    console.log(`faults: ${SOAK_FAULTS.length} kinds kept armed (one injection a second at most, of 1 or 2 uses; a kind again once used up and ${REARM_MS / 1000} s after its last): ${SOAK_FAULTS.map((f) => f.label).join(', ')}`);

    // deliveries from the warehouse: what sells out comes back in stock, counted by the admin as a
    // stock count (a movement the ledger check adds up like every other)
    const restock = async () => {
      while (running()) {
        const low = (await knex('product_variants').where('stock', '<', 20).select('id', 'stock')) as { id: number; stock: number }[];
        for (const v of low) {
          await countStock(knex, { variantId: Number(v.id), stock: Number(v.stock) + 200, operator: 'admin:soak', note: 'delivery', now: clock() });
          m.count('restocked variants');
        }
        await pause(2000);
      }
    };
    // what each variant had: the demo catalog's opening stock and the deliveries counted since
    const stockAtStart = async () => {
      const counted = (await knex('stock_movements')
        .join('product_variants', 'product_variants.id', 'stock_movements.variant_id')
        .where('stock_movements.reason', 'count')
        .groupBy('product_variants.sku')
        .select('product_variants.sku', knex.raw('sum(stock_movements.delta)::bigint AS delta'))) as { sku: string; delta: number }[];
      const start = seedStockBySku();
      for (const c of counted) start[c.sku] = (start[c.sku] ?? 0) + Number(c.delta);
      return start;
    };

    // memory: each shop's RSS every second and its live heap after a full GC every fifth; the soak's own RSS
    const gc = (globalThis as { gc?: () => void }).gc;
    const sampler = async () => {
      for (let tick = 0; running(); tick += 1) {
        const at = Date.now() - loadStart;
        const answers = await Promise.all(instances.map((i) => i.probe(tick % 5 === 0)));
        answers.forEach((answer, n) => {
          const series = (instances[n] as Instance).memory;
          if (!answer) return;
          series.rss.push({ at, bytes: answer.rss });
          if (tick % 5 === 0) series.heap.push({ at, bytes: answer.heapUsed });
        });
        if (gc && tick % 5 === 0) {
          gc();
          soakMemory.heap.push({ at, bytes: process.memoryUsage().heapUsed });
        }
        soakMemory.rss.push({ at, bytes: process.memoryUsage().rss });
        await pause(Math.max(0, 1000 - (Date.now() - loadStart - at)));
      }
    };

    // one line a minute while it runs
    const shopClockAt = (realMs: number) => new Date(t0 + (realMs - t0) * CLOCK_SPEED);
    const paidIn = async (fromReal: number, toReal: number) =>
      Number(
        (
          (await knex('paylog')
            .whereIn('trade_state', ['SUCCESS', 'REFUND'])
            .andWhere('pay_time', '>=', shopClockAt(fromReal))
            .andWhere('pay_time', '<', shopClockAt(toReal))
            .count({ n: '*' })) as { n: string }[]
        )[0]?.n ?? 0,
      );
    const lastRss = (series: MemorySeries) => series.rss.at(-1)?.bytes ?? NaN;
    const progress = async () => {
      for (let minute = 0; ; minute += 1) {
        const end = loadStart + (minute + 1) * 60_000;
        while (running() && Date.now() < end) await pause(Math.min(1000, end - Date.now()));
        if (!running() && Date.now() < end) return;
        const paid = await paidIn(loadStart + minute * 60_000, end);
        console.log(
          `[minute ${minute + 1}] sessions ${m.inMinute('sessions arrived', minute)}, checkouts ${m.inMinute('checkouts', minute)} (refused ${m.inMinute('checkouts refused at a limit (409)', minute)}), trades paid ${paid}, refunds asked ${m.inMinute('refunds asked', minute)}; RSS ${instances.map((i) => `${i.name} ${mib(lastRss(i.memory))}`).join(', ')}, soak ${mib(lastRss(soakMemory))}`,
        );
      }
    };

    // the shop's support inbox: what shoppers wrote, for the admin (bounded: the oldest go unread)
    const complaints: string[] = [];
    const complain = (outTradeNo: string) => {
      complaints.push(outTradeNo);
      if (complaints.length > 1000) complaints.shift();
    };
    const admin = new Admin({ front, m, running, user: 'soak', password: adminPassword, complaints });
    const shopperCtx = { front, m, mix: MIX, running, offerMs: (PAY_QR_TTL_SECONDS * 1000) / CLOCK_SPEED, complain };
    await Promise.all([
      ...Array.from({ length: SHOPPERS }, () => shopperSlot(shopperCtx)),
      admin.run(),
      injectFaults({ knex, m, mchId, clock, running }),
      restock(),
      sampler(),
      progress(),
    ]);
    const loadEnd = Math.min(Date.now(), deadline);
    const loadMinutes = (loadEnd - loadStart) / 60_000;
    const died = instances.filter((i) => i.exit);

    // ---- settle: WeChat behaves again, pending refunds are retried by the admin, the sweeper and retries finish
    const use = await faultUse(knex, m, mchId);
    await knex('sim_faults').update({ remaining: 0 });
    // the merchant's alerts still on their way: events not yet fanned out to the channels, deliveries not yet made
    const alertsInFlight = async () => {
      const [unfanned] = (await knex('outbox').whereNull('fanned_out_at').count({ n: '*' })) as { n: string | number }[];
      const [pending] = (await knex('outbox_deliveries').where({ status: 'pending' }).count({ n: '*' })) as { n: string | number }[];
      return Number(unfanned?.n ?? 0) + Number(pending?.n ?? 0);
    };
    const settleStart = Date.now();
    const settleUntil = settleStart + 180_000;
    let report = await checkLedger(knex, { mchId, initialStock: await stockAtStart(), now: clock() });
    while (died.length === 0) {
      const pending = (await knex('refunds').where({ status: 'PENDING' }).distinct('out_trade_no').pluck('out_trade_no')) as string[];
      await admin.retryPending(pending).catch(() => undefined);
      await admin.answerComplaints().catch(() => undefined);
      const busy = (await knex('sim_notifications').where({ status: 'pending' }).count({ n: '*' })) as { n: string | number }[];
      const processing = (await knex('refunds').whereIn('status', ['PENDING', 'PROCESSING']).count({ n: '*' })) as { n: string | number }[];
      const alerting = await alertsInFlight();
      report = await checkLedger(knex, { mchId, initialStock: await stockAtStart(), now: clock() });
      if ((report.discrepancies.length === 0 && Number(busy[0]?.n) === 0 && Number(processing[0]?.n) === 0 && alerting === 0) || Date.now() > settleUntil) break;
      await pause(2000);
    }
    console.log(`load over after ${loadMinutes.toFixed(1)} min; settled in ${((Date.now() - settleStart) / 1000).toFixed(0)} s (faults removed, pending refunds retried and support written to answered by the admin, notifies and refunds finished)`);

    // ---- the printout
    const failures: string[] = [];
    const verdict = (ok: boolean, line: string, failure: string) => {
      console.log(`${line} -> ${ok ? 'ok' : 'FAILED'}`);
      if (!ok) failures.push(failure);
    };
    const verdicts = (await knex('notify_log').groupBy('kind', 'verdict').orderBy(['kind', 'verdict']).select('kind', 'verdict', knex.raw('count(*)::int AS n'))) as { kind: string; verdict: string; n: number }[];
    const states = (await knex('paylog').groupBy('trade_state').orderBy('trade_state').select('trade_state', knex.raw('count(*)::int AS n'))) as { trade_state: string; n: number }[];
    const flags = (await knex('paylog').whereNotNull('flag').groupBy('flag').orderBy('flag').select('flag', knex.raw('count(*)::int AS n'))) as { flag: string; n: number }[];
    const types = (await knex('paylog').groupBy('trade_type').orderBy('trade_type').select('trade_type', knex.raw('count(*)::int AS n'))) as { trade_type: string; n: number }[];
    const refunds = (await knex('refunds').groupBy('status').orderBy('status').select('status', knex.raw('count(*)::int AS n'))) as { status: string; n: number }[];
    const cod = (await knex('orders').where({ pay_type: 'cod' }).groupBy('status').orderBy('status').select('status', knex.raw('count(*)::int AS n'))) as { status: string; n: number }[];
    const list = (rows: { n: number }[], key: string) => rows.map((r) => `${(r as unknown as Record<string, string>)[key]} ${r.n}`).join(', ') || 'none';
    console.log(`trades: ${report.trades} (${list(states, 'trade_state')}; ${list(types, 'trade_type')}); flagged: ${list(flags, 'flag')}; ${yuan(report.paidFen)} paid, ${yuan(report.refundedFen)} refunded`);
    const goods = (await knex('orders').groupBy('delivery_status').orderBy('delivery_status').select('delivery_status', knex.raw('count(*)::int AS n'))) as { delivery_status: string; n: number }[];
    const events = (await knex('outbox').groupBy('type').orderBy('type').select('type', knex.raw('count(*)::int AS n'))) as { type: string; n: number }[];
    const deliveries = (await knex('outbox_deliveries').groupBy('channel', 'status').orderBy(['channel', 'status']).select(knex.raw("channel || '/' || status AS cs"), knex.raw('count(*)::int AS n'))) as { cs: string; n: number }[];
    console.log(`refunds: ${list(refunds, 'status')}; cash-on-delivery orders: ${list(cod, 'status')}`);
    console.log(`goods: ${list(goods, 'delivery_status')}; alerts (outbox events): ${list(events, 'type')}; deliveries: ${list(deliveries, 'cs')}`);
    console.log(`activity: ${[...m.counters].filter(([k]) => !k.startsWith('faults injected')).sort().map(([k, v]) => `${k} ${v}`).join('; ')}`);
    console.log(`notifies received by verdict: ${verdicts.map((v) => `${v.kind}/${v.verdict} ${v.n}`).join(', ')}`);

    // per minute of the load
    const minutes = Math.ceil(loadMinutes - 1e-9);
    console.log('per minute of load: minute  sessions  checkouts  refused  trades made  trades paid  RSS (median / max) of each process');
    const perMinuteRss = [...instances.map((i) => i.memory), soakMemory].map((s) => ({ label: s.label, minutes: s.rssPerMinute() }));
    for (let minute = 0; minute < minutes; minute += 1) {
      const from = loadStart + minute * 60_000;
      const to = Math.min(loadEnd, from + 60_000);
      const made = Number(((await knex('paylog').where('create_time', '>=', shopClockAt(from)).andWhere('create_time', '<', shopClockAt(to)).count({ n: '*' })) as { n: string }[])[0]?.n ?? 0);
      const rssText = perMinuteRss.map((p) => `${p.label} ${mib(p.minutes[minute]?.median ?? NaN)} / ${mib(p.minutes[minute]?.max ?? NaN)}`).join('; ');
      console.log(
        `  ${String(minute + 1).padStart(6)} ${String(m.inMinute('sessions arrived', minute)).padStart(9)} ${String(m.inMinute('checkouts', minute)).padStart(10)} ${String(m.inMinute('checkouts refused at a limit (409)', minute)).padStart(8)} ${String(made).padStart(12)} ${String(await paidIn(from, to)).padStart(12)}  ${rssText}`,
      );
    }

    const checkouts = m.get('checkouts');
    const refused = m.get('checkouts refused at a limit (409)');
    verdict(
      refused <= checkouts * REFUSED_SHARE_BOUND,
      `refused checkouts: ${refused} of ${checkouts} (${pct(refused, checkouts)}); bound ${REFUSED_SHARE_BOUND * 100}% (a session refused at its limit pays or leaves, it never asks again)`,
      `refused checkouts ${pct(refused, checkouts)} above ${REFUSED_SHARE_BOUND * 100}%`,
    );
    const paidDuringLoad = await paidIn(loadStart, loadEnd);
    const perMinute = paidDuringLoad / loadMinutes;
    verdict(
      perMinute >= MIN_PAID_PER_MINUTE,
      `throughput: ${paidDuringLoad} trades paid in ${loadMinutes.toFixed(1)} min of load = ${perMinute.toFixed(1)} a minute across both instances; bound >= ${MIN_PAID_PER_MINUTE} a minute (SOAK_MIN_PAID_PER_MINUTE; issue 27's floor for this 2-core machine)`,
      `throughput ${perMinute.toFixed(1)} trades paid a minute, below ${MIN_PAID_PER_MINUTE}`,
    );

    console.log('faults (each must be used by the simulator at least once, not only injected): fault  injected  used');
    for (const f of use) console.log(`  ${f.label.padEnd(34)} ${String(f.injected).padStart(8)} ${String(f.used).padStart(6)}${f.used === 0 ? '  <- never used' : ''}`);
    const unused = use.filter((f) => f.used === 0).map((f) => f.label);
    verdict(unused.length === 0, `faults used: ${use.length - unused.length} of ${use.length} kinds`, `fault kinds never used: ${unused.join(', ')}`);

    // the goods after "paid" and the merchant's alerts (issue 23's states): driven, and every alert delivered
    const shippedByAdmin = m.get('orders shipped');
    const received = m.get('receipts confirmed by shoppers');
    verdict(
      shippedByAdmin > 0 && (received > 0 || loadMinutes < RSS_JUDGED_FROM_S / 60),
      `shipping: ${shippedByAdmin} orders shipped by the admin, ${m.get('tracking numbers corrected')} tracking numbers corrected, ${received} receipts confirmed by shoppers (required: some shipped; some received in a load of ${RSS_JUDGED_FROM_S / 60} min or more)`,
      `shipping not driven: ${shippedByAdmin} shipped, ${received} received`,
    );
    const deliveredAlerts = deliveries.filter((d) => d.cs.endsWith('/delivered')).reduce((sum, d) => sum + d.n, 0);
    const undelivered = deliveries.filter((d) => !d.cs.endsWith('/delivered')).reduce((sum, d) => sum + d.n, 0) + (await alertsInFlight());
    verdict(
      deliveredAlerts > 0 && undelivered === 0,
      `alerts: ${deliveredAlerts} deliveries made to the robot, ${undelivered} pending or given up after settling (required: some, and none left)`,
      `alerts: ${deliveredAlerts} delivered, ${undelivered} left undelivered`,
    );

    for (const line of m.latencyLines()) console.log(line);
    const errors = m.answersWith(500);
    verdict(errors === 0, `answers 500 (an error the shop did not expect; WeChat's injected failures answer 502): ${errors}`, `${errors} answers 500`);

    // memory, per shop process
    for (const instance of instances) {
      const heap = secondHalf(instance.memory.heap);
      const heapAllowed = Math.max(HEAP_BOUND.bytes, heap.third * HEAP_BOUND.ratio);
      verdict(
        instance.memory.heap.length >= 8 && !(heap.last - heap.third > heapAllowed),
        `memory, ${instance.name}: live heap after GC start ${mib(heap.start)}, third quarter ${mib(heap.third)}, last quarter ${mib(heap.last)}; growth over the second half ${mib(heap.last - heap.third)}, allowed ${mib(heapAllowed)} (max(${mib(HEAP_BOUND.bytes)}, ${HEAP_BOUND.ratio * 100}%): the shop's bounded caches and V8's steps)`,
        `${instance.name}'s live heap grew by ${mib(heap.last - heap.third)} over the second half (allowed ${mib(heapAllowed)})`,
      );
      const rss = secondHalf(instance.memory.rss);
      const rssAllowed = Math.max(RSS_BOUND.bytes, rss.third * RSS_BOUND.ratio);
      console.log(`memory per minute, ${instance.name} (median of each minute, MiB): RSS ${mibList(instance.memory.rssPerMinute())}; live heap after GC ${mibList(instance.memory.heapPerMinute())}`);
      const rssLine = `memory, ${instance.name}: RSS start ${mib(rss.start)}, third quarter ${mib(rss.third)}, last quarter ${mib(rss.last)}; growth over the second half ${mib(rss.last - rss.third)}`;
      if (loadMinutes * 60 < RSS_JUDGED_FROM_S) console.log(`${rssLine}; not judged: a load shorter than ${RSS_JUDGED_FROM_S} s is warm-up from end to end`);
      else {
        verdict(
          instance.memory.rss.length >= 8 && !(rss.last - rss.third > rssAllowed),
          `${rssLine}, allowed ${mib(rssAllowed)} (max(${mib(RSS_BOUND.bytes)}, ${RSS_BOUND.ratio * 100}%): what the heap's bounded caches may add; it levels off)`,
          `${instance.name}'s RSS grew by ${mib(rss.last - rss.third)} over the second half (allowed ${mib(rssAllowed)})`,
        );
      }
    }
    const soakHeap = secondHalf(soakMemory.heap);
    console.log(
      `memory, ${soakMemory.label} (not judged: the load generator, not the shop): RSS per minute (MiB) ${mibList(soakMemory.rssPerMinute())}; live heap after GC start ${mib(soakHeap.start)}, third quarter ${mib(soakHeap.third)}, last quarter ${mib(soakHeap.last)}`,
    );

    for (const instance of died) failures.push(`${instance.name} exited during the load (${JSON.stringify(instance.exit)}):\n${instance.tail()}`);
    for (const line of formatLedgerReport(report)) console.log(line);
    if (report.discrepancies.length > 0) failures.push(`${report.discrepancies.length} ledger discrepancies`);
    if (failures.length > 0) console.log(`the shops' logs: ${instances.map((i) => i.logPath).join(', ')}`);
    else keepLogs = false;
    console.log(failures.length === 0 ? 'soak: passed' : `soak: FAILED: ${failures.join('; ')}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    for (const instance of instances) await instance.stop().catch(() => undefined);
    // the shops' logs (warnings and errors) are kept when the soak failed or broke off
    if (!keepLogs) for (const instance of instances) fs.rmSync(instance.logPath, { force: true });
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

