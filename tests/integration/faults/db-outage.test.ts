import type { Knex } from 'knex';
import { openDatabase, type Database } from '../../../src/db';
import { start, type RunningShop } from '../../../src/main';
import { seedCatalogIfEmpty } from '../../../src/catalog/service';
import { PAYLOG_CHANNEL } from '../../../src/ledger';
import { expectCleanLedger } from '../../helpers/ledger';
import { postNotify, signedNotify } from '../../helpers/settlement';
import { Shopper, payOnPhone } from '../../helpers/shopper';
import { createTestDatabase, serverUrl, type TestDatabase } from '../../helpers/testdb';
import { scaled } from '../../helpers/timeouts';
import { endpointOf, startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';
import { freePort, waitFor } from '../../e2e/helpers/processes';

/**
 * PostgreSQL goes away for ~10 s in the middle of a stream of payment notifies. The server itself
 * is shared and left alone: the shop under test reaches it through a TCP proxy of the test's own
 * that cuts every connection and refuses new ones (as when backends are terminated and the server
 * does not accept), then lets them through again. WeChat (the simulator, in a second instance with
 * its own direct connections) keeps paying and retrying on its schedule, time-scaled.
 * Only on a PostgreSQL server (embedded PGlite has no connection to cut).
 */
const onServer = serverUrl() ? describe : describe.skip;

onServer('fault: the database unavailable for ~10 s during a stream of notifies', () => {
  const OUTAGE_MS = 10_000;
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let wechat: RunningShop;
  let shop: RunningShop;
  let shopDb: Database;
  let direct: Knex;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    direct = testDb.db.knex;
    await seedCatalogIfEmpty(direct);
    proxy = await startTcpProxy([endpointOf(testDb.url as string)]);
    const shopPort = await freePort();
    // both name the shop's notify URL: the simulator notifies only the URLs its shop is configured with
    const env = { HOST: '127.0.0.1', LOG_LEVEL: 'silent', SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0', WXPAY_MODE: 'simulator', WXPAY_NOTIFY_URL: `http://127.0.0.1:${shopPort}/wxpay/notify` };
    // WeChat's side: the simulator in an instance of its own, on direct connections
    wechat = await start({ ...env, PORT: '0' }, { db: testDb.db });
    shopDb = await openDatabase({ databaseUrl: proxy.via(testDb.url as string), pgliteDir: 'memory://' });
    shop = await start({ ...env, PORT: String(shopPort), WXPAY_BASE_URL: `${wechat.url}/wxsim` }, { db: shopDb });
  }, scaled(60_000));
  afterAll(async () => {
    proxy.mode = 'pass';
    await shop?.stop();
    await shopDb?.close();
    await wechat?.stop();
    await proxy?.close();
    await testDb?.drop();
  }, scaled(60_000));

  test('no notify is acknowledged unstored, the shop recovers without a restart, WeChat retries settle every trade', async () => {
    // shoppers check out on the shop and open the pay page (unifiedorder at WeChat)
    const trades: { outTradeNo: string; codeUrl: string; totalFee: number }[] = [];
    for (let i = 0; i < 18; i += 1) {
      const shopper = new Shopper(shop.url, direct);
      const outTradeNo = await shopper.buy([['GEEK-CBL-01', 1 + (i % 3)]]);
      await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
      const row = (await direct('paylog').where({ out_trade_no: outTradeNo }).first('code_url', 'total_fee')) as { code_url: string; total_fee: number };
      trades.push({ outTradeNo, codeUrl: row.code_url, totalFee: row.total_fee });
    }
    const watched = trades.pop() as (typeof trades)[number];

    // a stream of payments; the database goes away a third of the way in
    let outageAnswers: { status: number; text: string }[] = [];
    let healthDuring = 0;
    const outage = (async () => {
      await new Promise((r) => setTimeout(r, 600));
      proxy.mode = 'refuse';
      proxy.cutAll();
      const until = Date.now() + OUTAGE_MS;
      // a notify straight to the shop while its database is gone: FAIL and a 5xx, never SUCCESS
      const fee = trades[trades.length - 1]?.totalFee ?? 1;
      const res = await postNotify(shop as never, signedNotify(shop as never, { out_trade_no: trades[trades.length - 1]?.outTradeNo, total_fee: fee, transaction_id: '4200000000000000000000000001' }));
      outageAnswers.push({ status: res.status, text: res.text });
      healthDuring = (await fetch(`${shop.url}/healthz`)).status;
      await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
      proxy.mode = 'pass';
    })();
    for (const trade of trades) {
      const res = await payOnPhone(wechat.url, trade.codeUrl);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 120));
    }
    await outage;
    outageAnswers = outageAnswers.filter(Boolean);
    expect(outageAnswers).toEqual([{ status: 500, text: expect.stringContaining('<return_code><![CDATA[FAIL]]></return_code>') }]);
    expect(healthDuring).toBe(503);
    // the notifies WeChat sent in the outage were refused (it keeps them for another attempt)
    const refusedAttempts = await direct('sim_notifications').where({ kind: 'pay' }).andWhere('attempts', '>', 1).count({ n: '*' });
    expect(Number(refusedAttempts[0]?.n)).toBeGreaterThan(0);

    // recovery, without a restart: /healthz, the pool, the LISTEN connection
    await waitFor('/healthz to answer 200 again', async () => (await fetch(`${shop.url}/healthz`)).status === 200, { timeoutMs: scaled(30_000), intervalMs: 200 });
    const controller = new AbortController();
    const woken = shop.waiters.wait(watched.outTradeNo, scaled(30_000), controller.signal, async () => false);
    let end: string | undefined;
    void woken.then((e) => (end = e));
    // notifies sent before the listener is back are lost by design (it wakes everyone on reconnect): keep sending
    while (end === undefined) {
      await direct.raw('select pg_notify(?, ?)', [PAYLOG_CHANNEL, watched.outTradeNo]);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(end).toBe('woken');

    // WeChat's retries settle every paid trade, each once
    await waitFor(
      'every trade paid at WeChat to be SUCCESS here',
      async () => {
        const left = await direct('paylog').whereIn('out_trade_no', trades.map((t) => t.outTradeNo)).whereNot('trade_state', 'SUCCESS').count({ n: '*' });
        return Number(left[0]?.n) === 0;
      },
      { timeoutMs: scaled(60_000), intervalMs: 250 },
    );
    const report = await expectCleanLedger(wechat);
    expect(report.paidFen).toBe(trades.reduce((sum, t) => sum + t.totalFee, 0));
    const notified = (await direct('order_log').where({ to_status: 'paid' }).count({ n: '*' })) as { n: number | string }[];
    expect(Number(notified[0]?.n)).toBe(trades.length);
  }, scaled(120_000));
});
