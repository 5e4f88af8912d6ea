import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import request from 'supertest';
import { openDatabase } from '../../../src/db';
import { checkLedger, formatLedgerReport } from '../../../src/ledger/check';
import { SIMULATOR_MERCHANT } from '../../../src/config';
import { freePorts, waitFor } from '../../e2e/helpers/processes';
import { HttpShopper } from '../../helpers/http-shopper';
import { SEED_STOCK } from '../../helpers/ledger';
import { startShopChild, type ShopChild } from '../../helpers/shop-process';
import { payOnPhone } from '../../helpers/shopper';
import { startTcpProxy } from '../../helpers/tcp-proxy';
import { createTestDatabase, serverUrl, type TestDatabase } from '../../helpers/testdb';
import { scaled } from '../../helpers/timeouts';

/**
 * The real shop process killed with SIGKILL (its whole process group) in the middle of a burst of
 * payments and their notifies, then started again on the same database: WeChat (the simulator,
 * time-scaled) retries, the sweeper asks, and every trade paid at WeChat ends SUCCESS here exactly
 * once; the ledger check is clean. On PostgreSQL also two instances behind one address with one of
 * them killed: the other carries on and the status polls waiting on it still wake.
 */
// the sweeper runs, but asks WeChat only after a minute: settling is left to WeChat's own retries
const SHOP_ENV = { SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '1', POLL_QUERY_AFTER_SECONDS: '60', POLL_QUERY_INTERVAL_SECONDS: '10' };
const ITEMS: [string, number][][] = [[['GEEK-CBL-01', 1]], [['TEA-MLH-100', 2], ['GEEK-CBL-01', 1]], [['GEEK-PB-10K', 1]]];

interface Trade {
  shopper: HttpShopper;
  outTradeNo: string;
  codeUrl: string;
  paidOnPhone: boolean;
  lastError?: string;
}

async function openTrades(baseUrl: string, count: number): Promise<Trade[]> {
  const trades: Trade[] = [];
  for (let i = 0; i < count; i += 1) {
    const shopper = new HttpShopper(baseUrl);
    const { outTradeNo, codeUrl } = await shopper.buy(ITEMS[i % ITEMS.length] as [string, number][]);
    if (!outTradeNo || !codeUrl) throw new Error('no trade or no QR code');
    trades.push({ shopper, outTradeNo, codeUrl, paidOnPhone: false });
  }
  return trades;
}

const PAID_ALREADY = /该订单已支付/;

/** Pays every trade on the phone, `parallel` at a time; `afterEach(done)` runs as each one ends. */
async function payAll(phoneUrl: string, trades: Trade[], parallel: number, afterEach: (done: number) => void = () => undefined): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < trades.length) {
      const trade = trades[next++] as Trade;
      if (trade.paidOnPhone) continue;
      try {
        // paid by an earlier try whose answer was lost (the shop died under it): the phone says so
        const scan = await request(phoneUrl).get('/wxsim/scan').query({ code_url: trade.codeUrl });
        if (PAID_ALREADY.test(scan.text)) trade.paidOnPhone = true;
        else {
          const res = await payOnPhone(phoneUrl, trade.codeUrl);
          trade.paidOnPhone = res.status === 200 || PAID_ALREADY.test(res.text);
          if (!trade.paidOnPhone) trade.lastError = `phone answered ${res.status}: ${res.text.slice(0, 300)}`;
        }
      } catch (err) {
        trade.paidOnPhone = false;
        trade.lastError = (err as Error).message;
      }
      afterEach((done += 1));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function everyTradeSuccess(statusUrl: string, trades: Trade[]): Promise<void> {
  await waitFor(
    'every paid trade to be SUCCESS at the shop',
    async () => {
      for (const t of trades) if ((await t.shopper.status(t.outTradeNo, 0, statusUrl)).state !== 'SUCCESS') return false;
      return true;
    },
    { timeoutMs: scaled(90_000), intervalMs: 300 },
  );
}

async function expectCleanLedgerIn(knex: Knex, trades: Trade[]) {
  const report = await checkLedger(knex, { mchId: SIMULATOR_MERCHANT.mchId, initialStock: SEED_STOCK });
  expect(formatLedgerReport(report)).toEqual([`ledger: ${trades.length} trades, ${formatLedgerReport(report).at(-1)?.split(', ')[1]}, 0 discrepancies`]);
  // every order paid exactly once: one unpaid -> paid line per order
  const orders = (await knex('orders').where({ pay_type: 'wxpay' }).count({ n: '*' })) as { n: string | number }[];
  const paidLines = (await knex('order_log').where({ to_status: 'paid' }).count({ n: '*' })) as { n: string | number }[];
  expect(Number(paidLines[0]?.n)).toBe(Number(orders[0]?.n));
  const states = (await knex('paylog').pluck('trade_state')) as string[];
  expect(states).toEqual(new Array(trades.length).fill('SUCCESS'));
  return report;
}

describe('fault: the shop killed with SIGKILL mid-burst', () => {
  let testDb: TestDatabase | undefined;
  let dir: string | undefined;
  const children: ShopChild[] = [];
  afterAll(async () => {
    for (const child of children) await child.kill9().catch(() => undefined);
    await testDb?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, scaled(60_000));

  test(`${serverUrl() ? 'PostgreSQL' : 'embedded PGlite (a data directory)'}: started again, every paid trade is SUCCESS once and the ledger is clean`, async () => {
    let env: Record<string, string>;
    if (serverUrl()) {
      testDb = await createTestDatabase();
      env = { ...SHOP_ENV, DATABASE_URL: testDb.url as string };
    } else {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-sigkill-'));
      env = { ...SHOP_ENV, PGLITE_DIR: dir };
    }
    const [port] = await freePorts(1);
    const first = await startShopChild('sigkill-first', port as number, env);
    children.push(first);
    const trades = await openTrades(first.url, 16);

    let killed: Promise<void> | undefined;
    await payAll(first.url, trades, 4, (done) => {
      if (done === 6) killed = first.kill9();
    });
    await killed;
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(trades.some((t) => !t.paidOnPhone)).toBe(true);

    const again = await startShopChild('sigkill-again', port as number, env);
    children.push(again);
    await payAll(again.url, trades, 4);
    expect(trades.filter((t) => !t.paidOnPhone).map((t) => t.lastError)).toEqual([]);
    await everyTradeSuccess(again.url, trades);
    await again.stop();

    if (testDb) await expectCleanLedgerIn(testDb.db.knex, trades);
    else {
      const db = await openDatabase({ databaseUrl: undefined, pgliteDir: dir as string });
      try {
        await expectCleanLedgerIn(db.knex, trades);
      } finally {
        await db.close();
      }
    }
  }, scaled(240_000));

  (serverUrl() ? test : test.skip)('two instances behind one address, one killed: the other carries on and its waiters wake', async () => {
    const shared = await createTestDatabase();
    try {
      const [p1, p2] = (await freePorts(2)) as [number, number];
      const lb = await startTcpProxy([{ host: '127.0.0.1', port: p1 }, { host: '127.0.0.1', port: p2 }]);
      const front = `http://127.0.0.1:${lb.port}`;
      const env = { ...SHOP_ENV, DATABASE_URL: shared.url as string, POLL_MAX_WAIT_SECONDS: '120', WXPAY_NOTIFY_URL: `${front}/wxpay/notify`, WXPAY_BASE_URL: `${front}/wxsim` };
      try {
        const one = await startShopChild('two-one', p1, env);
        children.push(one);
        const two = await startShopChild('two-two', p2, env);
        children.push(two);
        const trades = await openTrades(front, 10);
        // every shopper's page waits on instance two
        const waits = trades.map(async (t) => {
          const started = Date.now();
          const answer = await t.shopper.status(t.outTradeNo, 120, two.url);
          return { state: answer.state, seconds: (Date.now() - started) / 1000 };
        });
        let killed: Promise<void> | undefined;
        await payAll(front, trades, 3, (done) => {
          if (done === 3) killed = one.kill9();
        });
        await killed;
        await payAll(front, trades, 3);
        expect(trades.every((t) => t.paidOnPhone)).toBe(true);
        const answers = await Promise.all(waits);
        // woken by the settlement (whichever instance made it), not by the 120 s running out
        for (const a of answers) expect(a).toEqual({ state: 'SUCCESS', seconds: expect.any(Number) });
        expect(Math.max(...answers.map((a) => a.seconds))).toBeLessThan(100);
        await expectCleanLedgerIn(shared.db.knex, trades);
        await two.stop();
      } finally {
        await lb.close();
      }
    } finally {
      await shared.drop();
    }
  }, scaled(240_000));
});
