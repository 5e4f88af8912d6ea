import type { Knex } from 'knex';
import { MAX_BACKOFF_MS } from '../../../src/sweeper';
import { deleteFault } from '../../../src/simulator';
import { newOutRefundNo, requestRefund } from '../../../src/ledger';
import { sendRefund } from '../../../src/refunds/service';
import { freePort } from '../../e2e/helpers/processes';
import { createTestShop, manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { expectCleanLedger, onlyOrderOf, payAtWechat } from '../../helpers/ledger';
import { addFault, merchantOf, tradeWithQr } from '../../helpers/settlement';
import { Shopper } from '../../helpers/shopper';
import { startTcpProxy, type ProxyMode, type TcpProxy } from '../../helpers/tcp-proxy';
import { scaled } from '../../helpers/timeouts';

/**
 * WeChat misbehaving for minutes (time on a manual clock): every API call (unifiedorder,
 * orderquery, closeorder, refund) answered SYSTEMERROR, its connection dropped, its answer lost
 * after WeChat did the work, or no answer at all (the client's timeout). The shop talks to WeChat
 * through a TCP proxy of the test's own in front of the simulator. Meanwhile the shopper sees the
 * retry page, the sweeper keeps trying, nothing is closed or refunded by mistake; once WeChat is
 * back everything converges and the ledger is clean. The QR codes here live two hours (PAY_QR_TTL_SECONDS=7200),
 * so that minutes of outage do not expire them.
 */
type Outage = Exclude<ProxyMode, 'pass' | 'hang'> | 'systemerror';

describe('fault: WeChat failing for minutes', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let proxy: TcpProxy;
  let knex: Knex;

  beforeAll(async () => {
    clock = manualClock(new Date());
    const port = await freePort();
    proxy = await startTcpProxy([{ host: '127.0.0.1', port }]);
    shop = await createTestShop({
      clock,
      env: { PORT: String(port), WXPAY_BASE_URL: `http://127.0.0.1:${proxy.port}/wxsim`, PAY_QR_TTL_SECONDS: '7200', SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0', POLL_QUERY_INTERVAL_SECONDS: '60' },
    });
    knex = shop.db.knex;
  });
  afterAll(async () => {
    await shop?.close();
    await proxy?.close();
  });

  const settleSimulator = async () => {
    for (let i = 0; i < 20 && ((await shop.simulator?.runDueWork()) ?? 0) > 0; i += 1);
  };
  const stateOf = async (outTradeNo: string) => (await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'code_url', 'refunded_fee')) as { trade_state: string; code_url: string | null; refunded_fee: number };
  const simState = async (outTradeNo: string) => ((await knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string } | undefined)?.trade_state;
  const stockOf = async (sku: string) => ((await knex('product_variants').where({ sku }).first('stock')) as { stock: number }).stock;

  test('retry page, sweeper retrying, nothing closed or refunded by mistake; converges once WeChat is back', async () => {
    const deps = shop.app.locals.deps;
    // b: a QR code that will expire during the outage, unpaid
    const b = await tradeWithQr(shop, [['TEA-CUP-01', 2]]);
    clock.advance((7200 - 300) * 1000);
    // c: a live QR code, paid at WeChat during the outage, its notify lost
    const c = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    await addFault(shop, { kind: 'notify_drop', out_trade_no: c.outTradeNo });
    // d: paid, and refunded during the outage
    const d = await tradeWithQr(shop, [['GEEK-PB-10K', 1]]);
    await payAtWechat(shop, d.outTradeNo);
    await settleSimulator();
    expect((await stateOf(d.outTradeNo)).trade_state).toBe('SUCCESS');
    clock.advance(61_000);
    const cupStock = await stockOf('TEA-CUP-01');
    const a = new Shopper(shop.url, knex);
    const aNo = await a.buy([['GEEK-CBL-01', 2]]);
    const outRefundNo = newOutRefundNo(clock());
    await requestRefund(knex, { outTradeNo: d.outTradeNo, orderId: await onlyOrderOf(knex, d.outTradeNo), outRefundNo, refundFee: 500, reason: 'outage', operator: 'admin:test', now: clock() });

    let systemError: number | undefined;
    const setOutage = async (outage: Outage | 'none') => {
      if (systemError !== undefined) expect(await deleteFault(knex, systemError)).toBe(true);
      systemError = undefined;
      proxy.mode = outage === 'systemerror' || outage === 'none' ? 'pass' : outage;
      // kept-alive connections too: they met the old mode
      proxy.cutAll();
      if (outage === 'systemerror') systemError = (await addFault(shop, { kind: 'systemerror', count: 100000 })).id;
    };

    const outages: Outage[] = ['refuse', 'systemerror', 'drop_answer', 'refuse', 'systemerror', 'drop_answer'];
    for (const [i, outage] of outages.entries()) {
      await setOutage(outage);
      // the shopper: the retry page (502), nothing stored
      const page = await a.agent.get(`/pay/${aNo}`);
      expect({ outage, status: page.status }).toEqual({ outage, status: 502 });
      expect(page.text).toContain(`/pay/${aNo}`);
      expect(await stateOf(aNo)).toMatchObject({ trade_state: 'NOTPAY', code_url: null });
      if (i === 0) await payAtWechat(shop, c.outTradeNo);
      // the admin's refund (and the retry button) cannot get an answer: the refund stays PENDING
      // (once an answer was lost after WeChat took the refund, its notify settles it: that is WeChat's word, not a mistake)
      const atWechatBefore = (await knex('sim_refunds').where({ out_refund_no: outRefundNo }).select('refund_fee')) as unknown[];
      const sent = await sendRefund(knex, deps.payments, { outRefundNo, operator: 'admin:test', clock });
      const ours = ((await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')) as { status: string }).status;
      if (atWechatBefore.length === 0) {
        // WeChat's passing fault and a lost answer alike: not accepted, not refused for good
        expect({ outage, kind: sent.kind, hold: sent.kind === 'unknown' ? sent.hold : undefined }).toEqual({ outage, kind: 'unknown', hold: outage === 'systemerror' ? 'provider_error' : 'no_answer' });
        expect(ours).toBe('PENDING');
      } else expect(['PENDING', 'SUCCESS']).toContain(ours);
      // never more than the one refund at WeChat, however many tries
      expect(((await knex('sim_refunds').where({ out_refund_no: outRefundNo }).select('refund_fee')) as unknown[]).length).toBeLessThanOrEqual(1);
      // minutes pass; the sweeper tries b (expired), c (no news) and a (no QR yet) and gives up for now
      clock.advance(2 * 60_000);
      await shop.sweeper.sweepOnce();
      expect({ outage, b: (await stateOf(b.outTradeNo)).trade_state, c: (await stateOf(c.outTradeNo)).trade_state, a: (await stateOf(aNo)).trade_state }).toEqual({ outage, b: 'NOTPAY', c: 'NOTPAY', a: 'NOTPAY' });
      expect(await stockOf('TEA-CUP-01')).toBe(cupStock);
    }
    // no answer at all: the client gives up after its timeout; nothing changes
    await setOutage('none');
    proxy.mode = 'hang';
    proxy.cutAll();
    // (past the sweeper's longest wait, so that it tries b and c again)
    clock.advance(MAX_BACKOFF_MS);
    const [hungPage] = await Promise.all([a.agent.get(`/pay/${aNo}`), shop.sweeper.sweepOnce()]);
    expect(hungPage.status).toBe(502);
    expect(proxy.counts.hang).toBeGreaterThanOrEqual(2);
    expect([(await stateOf(b.outTradeNo)).trade_state, (await stateOf(c.outTradeNo)).trade_state, (await stateOf(aNo)).code_url]).toEqual(['NOTPAY', 'NOTPAY', null]);
    // WeChat did the work whose answer was lost (drop_answer): c paid, maybe a refund; but b was never closed there
    expect(await simState(c.outTradeNo)).toBe('SUCCESS');
    expect(await simState(b.outTradeNo)).toBe('NOTPAY');

    // WeChat is back; the sweeper, backing off from trades that kept failing, takes them up within its longest wait
    proxy.mode = 'pass';
    clock.advance(MAX_BACKOFF_MS);
    await shop.sweeper.sweepOnce();
    expect((await stateOf(b.outTradeNo)).trade_state).toBe('CLOSED');
    expect(await stockOf('TEA-CUP-01')).toBe(cupStock + 2);
    expect((await stateOf(c.outTradeNo)).trade_state).toBe('SUCCESS');
    const page = await a.agent.get(`/pay/${aNo}`).expect(200);
    expect(page.text).toContain('weixin://wxpay/bizpayurl');
    const retried = await sendRefund(knex, deps.payments, { outRefundNo, operator: 'admin:test', clock });
    expect(['accepted', 'not_pending']).toContain(retried.kind);
    clock.advance(10_000);
    await settleSimulator();
    expect(await stateOf(d.outTradeNo)).toMatchObject({ trade_state: 'REFUND', refunded_fee: 500 });
    // refunded once at WeChat, whatever number of tries
    const simRefunds = (await knex('sim_refunds').where({ mch_id: merchantOf(shop).mchId, out_refund_no: outRefundNo }).select('refund_fee', 'status')) as unknown[];
    expect(simRefunds).toEqual([{ refund_fee: 500, status: 'SUCCESS' }]);
    await expectCleanLedger(shop, clock());
  }, scaled(90_000));

  test('the sweeper backs off from a trade WeChat keeps failing on (2, 4, 8 minutes...), and takes it up again', async () => {
    proxy.mode = 'pass';
    const e = await tradeWithQr(shop, [['GEEK-CBL-01', 1]]);
    const fault = await addFault(shop, { kind: 'systemerror', api: 'orderquery', out_trade_no: e.outTradeNo, count: 1000 });
    const used = async () => ((await knex('sim_faults').where({ id: fault.id }).first('used')) as { used: number }).used;
    // past POLL_QUERY_AFTER_SECONDS: a trade with no news is asked about, once a minute at most
    clock.advance(20_000);
    const tries: number[] = [];
    for (let minute = 0; minute < 16; minute += 1) {
      await shop.sweeper.sweepOnce();
      tries.push(await used());
      clock.advance(61_000);
    }
    // asked at minutes 0, 2, 6 and 14 (waits of 2, 4 and 8 minutes), not at every one of the 16 sweeps
    expect(tries).toEqual([1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4]);
    expect((await stateOf(e.outTradeNo)).trade_state).toBe('NOTPAY');

    // WeChat answers again, and the trade was paid meanwhile (its notify lost): found at the next try
    expect(await deleteFault(knex, fault.id)).toBe(true);
    await addFault(shop, { kind: 'notify_drop', out_trade_no: e.outTradeNo });
    await payAtWechat(shop, e.outTradeNo);
    clock.advance(MAX_BACKOFF_MS);
    await shop.sweeper.sweepOnce();
    expect((await stateOf(e.outTradeNo)).trade_state).toBe('SUCCESS');
    await expectCleanLedger(shop, clock());
  }, scaled(60_000));
});
