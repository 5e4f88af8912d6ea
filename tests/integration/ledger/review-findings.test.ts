import request from 'supertest';
import { CLOSE_NOT_BEFORE_MS, newOutRefundNo, requestRefund } from '../../../src/ledger';
import { CLOSED_ASK_AFTER_MS } from '../../../src/ledger/sweep-repo';
import { DEFAULT_QR_TTL_SECONDS } from '../../../src/config';
import { translator } from '../../../src/i18n';
import { ABANDON_AFTER_MS, sendRefund } from '../../../src/refunds/service';
import type { Admin} from '../admin/helpers';
import { adminShop, loggedIn, unescapeHtml, waitFor } from '../admin/helpers';
import { expectCleanLedger, onlyOrderOf, ordersOfTrade, v2ClientOf } from '../../helpers/ledger';
import { DeviceShopper, USER_AGENTS } from '../../helpers/mobile';
import { addFault, tradeWithQr } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';
import { manualClock, type ManualClock, type TestShop } from '../../helpers/app';

/**
 * What a second review of the foundation found (after the five defects of review-defects.test.ts),
 * each on a real database with the simulator over HTTP and ending with the ledger check:
 * a shopper who paid twice and got the wrong payment back keeps the goods; a refund WeChat never
 * took can be given up, only once WeChat says it has none; a payment taken on a trade we had
 * closed is found by the sweeper though its notify was lost.
 */

const MINUTE = 60 * 1000;
const t = translator('zh');

async function noticeOf(admin: Admin, location: string | undefined): Promise<string> {
  const page = await admin.agent.get(location ?? '/admin').expect(200);
  return unescapeHtml(/<div class="admin-notice[^"]*" role="status">\s*<p>([^<]*)<\/p>/.exec(page.text)?.[1] ?? '');
}

/** The payer pays in WeChat's H5 cashier (the simulator's), opened from the shop's page. */
async function payInCashier(shop: TestShop, cashier: URL): Promise<void> {
  const opened = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`).expect(200);
  const token = /name="token" value="([^"]+)"/.exec(opened.text)?.[1] as string;
  await request(shop.url).post('/wxsim/h5pay/pay').set('Origin', shop.url).type('form').send({ prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package'), token }).expect(200);
}

const stateOf = async (shop: TestShop, outTradeNo: string) => shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'flag', 'flag_resolved_at', 'refunded_fee');

/** One order paid twice: on the phone's H5 cashier, and (after a switch) by the QR code. The QR payment pays the order; the H5 one is kept, flagged. */
async function paidTwice(shop: TestShop, clock: ManualClock) {
  const knex = shop.db.knex;
  const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
  const h5 = await shopper.buy([['TEA-MLH-100', 1]]);
  const cashier = new URL(String((await shopper.postFrom(`/pay/${h5}`, `/pay/${h5}/h5`)).headers.location));
  clock.advance(MINUTE);
  const switched = await shopper.postFrom(`/pay/${h5}`, `/pay/${h5}/switch`, { trade_type: 'NATIVE' });
  const qr = /^\/pay\/(\w+)$/.exec(String(switched.headers.location))?.[1] as string;
  await shopper.agent.get(`/pay/${qr}`).expect(200);
  const codeUrl = (await knex('paylog').where({ out_trade_no: qr }).first('code_url')).code_url as string;
  expect((await payOnPhone(shop.url, codeUrl)).status).toBe(200);
  await waitFor('the QR payment', async () => (await stateOf(shop, qr)).trade_state === 'SUCCESS');
  await payInCashier(shop, cashier);
  await waitFor('the H5 payment', async () => (await stateOf(shop, h5)).trade_state === 'SUCCESS');
  const orderId = (await onlyOrderOf(knex, qr)) as number;
  const totalFee = Number((await knex('orders').where({ id: orderId }).first('total_fen')).total_fen);
  return { qr, h5, orderId, totalFee };
}

describe('the second review\'s findings', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = manualClock(new Date());
    shop = await adminShop({ clock });
  });
  afterEach(async () => {
    await shop.close();
  });

  test('paid twice, the payment that paid the order refunded in full: the other pays it now, it stays paid, its flag handled; refunding that one too refunds the order', async () => {
    const knex = shop.db.knex;
    const { qr, h5, orderId, totalFee } = await paidTwice(shop, clock);
    expect(await knex('orders').where({ id: orderId }).first('status', 'out_trade_no')).toEqual({ status: 'paid', out_trade_no: qr });
    expect(await stateOf(shop, h5)).toMatchObject({ flag: 'double_payment', flag_resolved_at: null });
    await expectCleanLedger(shop, clock());

    // the admin refunds the wrong one: the payment the order points at
    const admin = await loggedIn(shop);
    clock.advance(MINUTE);
    const first = await admin.refund(qr, (totalFee / 100).toFixed(2), 'paid twice', orderId);
    expect(first.res.status).toBe(303);
    await waitFor('the refund', async () => {
      await shop.simulator?.runDueWork();
      return (await knex('refunds').where({ out_refund_no: first.outRefundNo }).first('status')).status === 'SUCCESS';
    });
    // the shopper still paid once for the goods: the order stays paid, by the other payment
    expect(await knex('orders').where({ id: orderId }).first('status', 'out_trade_no', 'delivery_status', 'refunded_fen')).toEqual({ status: 'paid', out_trade_no: h5, delivery_status: 'pending', refunded_fen: 0 });
    expect(await knex('order_log').where({ order_id: orderId, event: 'paid_by_other_payment' }).pluck('params')).toEqual([{ from: qr, to: h5 }]);
    expect(await stateOf(shop, h5)).toMatchObject({ flag: 'double_payment', flag_resolved_at: expect.any(Date) });
    expect(await stateOf(shop, qr)).toMatchObject({ trade_state: 'REFUND', refunded_fee: totalFee });
    await expectCleanLedger(shop, clock());

    // now the other payment comes back too: nothing pays the order any more
    clock.advance(MINUTE);
    const second = await admin.refund(h5, (totalFee / 100).toFixed(2), 'cancelled', orderId);
    expect(second.res.status).toBe(303);
    await waitFor('the second refund', async () => {
      await shop.simulator?.runDueWork();
      return (await knex('refunds').where({ out_refund_no: second.outRefundNo }).first('status')).status === 'SUCCESS';
    });
    expect(await knex('orders').where({ id: orderId }).first('status', 'out_trade_no', 'delivery_status', 'refunded_fen')).toEqual({ status: 'refunded', out_trade_no: h5, delivery_status: 'cancelled', refunded_fen: totalFee });
    await expectCleanLedger(shop, clock());
  });

  test('paid twice, the kept payment refunded as its flag asks: the order stays paid by the first, untouched', async () => {
    const knex = shop.db.knex;
    const { qr, h5, orderId, totalFee } = await paidTwice(shop, clock);
    const admin = await loggedIn(shop);
    clock.advance(MINUTE);
    const { res, outRefundNo } = await admin.refund(h5, (totalFee / 100).toFixed(2), 'paid twice', orderId);
    expect(res.status).toBe(303);
    await waitFor('the refund', async () => {
      await shop.simulator?.runDueWork();
      return (await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).status === 'SUCCESS';
    });
    expect(await knex('orders').where({ id: orderId }).first('status', 'out_trade_no', 'delivery_status', 'refunded_fen')).toEqual({ status: 'paid', out_trade_no: qr, delivery_status: 'pending', refunded_fen: 0 });
    await expectCleanLedger(shop, clock());
  });

  test('a refund WeChat never took (its every answer an error) is abandoned only after 10 minutes and only when WeChat has no such refund; its amount may be refunded anew', async () => {
    const knex = shop.db.knex;
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    await waitFor('paid', async () => (await stateOf(shop, outTradeNo)).trade_state === 'SUCCESS');
    const amount = (paylog.total_fee / 100).toFixed(2);
    await addFault(shop, { kind: 'systemerror', api: 'refund', out_trade_no: outTradeNo, count: 1 });
    const admin = await loggedIn(shop);
    clock.advance(MINUTE);
    const { outRefundNo } = await admin.refund(outTradeNo, amount, 'test');
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).toEqual({ status: 'PENDING' });
    const abandon = `/admin/paylog/${outTradeNo}/refunds/${outRefundNo}/abandon`;
    expect((await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200)).text).toContain(abandon);

    // just sent: WeChat may not show it yet
    const early = await admin.confirm(abandon);
    expect(await noticeOf(admin, early.headers.location)).toBe(t('refund.notice.abandonTooEarly', { minutes: 10 }));
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).toEqual({ status: 'PENDING' });
    // the amount is held meanwhile
    await expect(
      requestRefund(knex, { outTradeNo, orderId: await onlyOrderOf(knex, outTradeNo), outRefundNo: newOutRefundNo(clock()), refundFee: paylog.total_fee, reason: 'again', operator: 'admin:test', now: clock() }),
    ).rejects.toMatchObject({ messageKey: 'refund.error.exceeds' });

    clock.advance(ABANDON_AFTER_MS);
    const done = await admin.confirm(abandon);
    expect(await noticeOf(admin, done.headers.location)).toBe(t('refund.notice.abandoned'));
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).toEqual({ status: 'REFUNDCLOSE' });
    // the audit log has the abandon with the refund before and after (written once the answer is sent)
    const audited = await waitFor('the audit rows', async () => {
      const rows = await knex('admin_audit').where({ action: 'POST /paylog/:outTradeNo/refunds/:outRefundNo/abandon' }).orderBy('id').select('before', 'after');
      return rows.length === 2 && rows;
    });
    expect(audited.map((r) => [r.before.refund.status, r.after.refund.status])).toEqual([
      ['PENDING', 'PENDING'],
      ['PENDING', 'REFUNDCLOSE'],
    ]);

    // its amount is free: refunded anew, and this time WeChat takes it
    clock.advance(MINUTE);
    const anew = await admin.refund(outTradeNo, amount, 'anew');
    await waitFor('the new refund', async () => {
      await shop.simulator?.runDueWork();
      return (await knex('refunds').where({ out_refund_no: anew.outRefundNo }).first('status')).status === 'SUCCESS';
    });
    expect(await stateOf(shop, outTradeNo)).toMatchObject({ trade_state: 'REFUND', refunded_fee: paylog.total_fee });
    await expectCleanLedger(shop, clock());
  });

  test('a refund WeChat did take, though our record says never sent, is not abandoned: it is stored as WeChat has it', async () => {
    const knex = shop.db.knex;
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    await waitFor('paid', async () => (await stateOf(shop, outTradeNo)).trade_state === 'SUCCESS');
    const outRefundNo = newOutRefundNo(clock());
    await requestRefund(knex, { outTradeNo, orderId: await onlyOrderOf(knex, outTradeNo), outRefundNo, refundFee: paylog.total_fee, reason: 'test', operator: 'admin:test', now: clock() });
    // WeChat took it (its answer lost on the way back), and its notify is not in yet
    await addFault(shop, { kind: 'refund_slow', out_trade_no: outTradeNo, delay_seconds: 3600 });
    await v2ClientOf(shop).refund({ outTradeNo, outRefundNo, totalFee: paylog.total_fee, refundFee: paylog.total_fee, notifyUrl: `${shop.url}/wxpay/refund-notify` });
    clock.advance(ABANDON_AFTER_MS + MINUTE);
    const admin = await loggedIn(shop);
    const res = await admin.confirm(`/admin/paylog/${outTradeNo}/refunds/${outRefundNo}/abandon`);
    expect(await noticeOf(admin, res.headers.location)).toBe(t('refund.notice.abandonAtWechat'));
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).toEqual({ status: 'PROCESSING' });
    // and it cannot be sent again as a second refund of the same money
    expect((await sendRefund(knex, shop.app.locals.deps.payments, { outRefundNo, operator: 'admin:test', clock })).kind).toBe('not_pending');
    await expectCleanLedger(shop, clock());
  });

  test('a payment taken on a trade closed here, its notify lost, is found by the sweeper asking WeChat after the close', async () => {
    const knex = shop.db.knex;
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    await addFault(shop, { kind: 'pay_after_expire', out_trade_no: outTradeNo });
    await addFault(shop, { kind: 'notify_drop', out_trade_no: outTradeNo });
    clock.advance(Math.max(DEFAULT_QR_TTL_SECONDS * 1000, CLOSE_NOT_BEFORE_MS) + MINUTE);
    await shop.sweeper.sweepOnce();
    expect(await stateOf(shop, outTradeNo)).toMatchObject({ trade_state: 'CLOSED' });
    expect((await ordersOfTrade(knex, outTradeNo).select('orders.status')).map((o) => o.status)).toEqual(['closed']);

    // WeChat takes the payment all the same; its notify never comes
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    const actions = async () => (await shop.app.locals.deps.metrics.registry.getSingleMetricAsString('pay_sweeper_actions_total')).split('\n').filter((l) => l.includes('closed_query'));
    // not asked again at once ...
    await shop.sweeper.sweepOnce();
    expect(await actions()).toEqual([]);
    expect(await stateOf(shop, outTradeNo)).toMatchObject({ trade_state: 'CLOSED' });
    // ... but a few minutes after the close: the money is found, the order revived, the admin told
    clock.advance(CLOSED_ASK_AFTER_MS);
    await shop.sweeper.sweepOnce();
    expect(await stateOf(shop, outTradeNo)).toMatchObject({ trade_state: 'SUCCESS', flag: 'late_payment' });
    expect((await ordersOfTrade(knex, outTradeNo).select('orders.status')).map((o) => o.status)).toEqual(['paid']);
    expect((await actions()).join('\n')).toContain('action="closed_query_late_payment"');
    // asked once in this window: the next round leaves it be
    await shop.sweeper.sweepOnce();
    expect((await actions()).filter((l) => / 1$/.test(l))).toHaveLength(1);
    await expectCleanLedger(shop, clock());
  });

  test('a closed trade WeChat never took money for is asked twice in WeChat\'s day of notify retries, then left alone', async () => {
    const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    clock.advance(Math.max(DEFAULT_QR_TTL_SECONDS * 1000, CLOSE_NOT_BEFORE_MS) + MINUTE);
    await shop.sweeper.sweepOnce();
    expect(await stateOf(shop, outTradeNo)).toMatchObject({ trade_state: 'CLOSED' });
    const asked = async () => Number(/action="closed_query_unpaid"\} (\d+)/.exec(await shop.app.locals.deps.metrics.registry.getSingleMetricAsString('pay_sweeper_actions_total'))?.[1] ?? 0);
    for (const step of [CLOSED_ASK_AFTER_MS, 60 * MINUTE, 6 * 60 * MINUTE, 60 * MINUTE, 24 * 60 * MINUTE]) {
      clock.advance(step);
      await shop.sweeper.sweepOnce();
    }
    expect(await asked()).toBe(2);
    expect(await stateOf(shop, outTradeNo)).toMatchObject({ trade_state: 'CLOSED' });
  });
});
