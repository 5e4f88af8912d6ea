import request from 'supertest';
import { CLOSE_NOT_BEFORE_MS, orderEvent, replaceAttempt, requestRefund, newOutRefundNo, type OrderEvent } from '../../../src/ledger';
import { closeTrade } from '../../../src/pay/attempts';
import { sendRefund } from '../../../src/refunds/service';
import { waitFor } from '../admin/helpers';
import { expectCleanLedger, ledgerOf, onlyOrderOf, ordersOfTrade, v2ClientOf } from '../../helpers/ledger';
import { DeviceShopper, USER_AGENTS } from '../../helpers/mobile';
import { addFault, shopOnClock, tradeWithQr } from '../../helpers/settlement';
import { Shopper, payOnPhone } from '../../helpers/shopper';
import type { ManualClock, TestShop } from '../../helpers/app';

/**
 * The five money defects a line-by-line review of the money core found (issue 21), each on a real
 * database with the simulator over HTTP, in the order the review listed them. Each test ends with
 * the ledger check, which sees WeChat's side too.
 */

const MINUTE = 60 * 1000;

async function stockOf(shop: TestShop, sku: string): Promise<number> {
  return Number((await shop.db.knex('product_variants').where({ sku }).first('stock')).stock);
}

/** The payer pays in WeChat's H5 cashier (the simulator's), opened from the shop's page. */
async function payInCashier(shop: TestShop, cashier: URL): Promise<void> {
  const opened = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`).expect(200);
  const token = /name="token" value="([^"]+)"/.exec(opened.text)?.[1] as string;
  await request(shop.url).post('/wxsim/h5pay/pay').set('Origin', shop.url).type('form').send({ prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package'), token }).expect(200);
}

/**
 * A phone shopper presses Pay (WeChat has the H5 attempt), then switches to the QR code inside
 * WeChat's 5 minutes: the old attempt stays open, superseded; the new one's QR code is drawn.
 */
async function switchedInsideFiveMinutes(shop: TestShop, clock: ManualClock, sku: string) {
  const knex = shop.db.knex;
  const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
  const old = await shopper.buy([[sku, 1]]);
  const cashier = new URL(String((await shopper.postFrom(`/pay/${old}`, `/pay/${old}/h5`)).headers.location));
  clock.advance(MINUTE);
  const switched = await shopper.postFrom(`/pay/${old}`, `/pay/${old}/switch`, { trade_type: 'NATIVE' });
  const fresh = /^\/pay\/(\w+)$/.exec(String(switched.headers.location))?.[1] as string;
  await shopper.agent.get(`/pay/${fresh}`).expect(200);
  expect(await knex('paylog').where({ out_trade_no: old }).first('trade_state')).toEqual({ trade_state: 'NOTPAY' });
  return { shopper, old, fresh, cashier };
}

/** A shopper pays a one-order trade on the simulator's phone; resolves once the shop has it. */
async function paidOnPhone(shop: TestShop): Promise<{ outTradeNo: string; totalFee: number }> {
  const knex = shop.db.knex;
  const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
  expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
  await waitFor('paid', async () => (await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state === 'SUCCESS');
  return { outTradeNo, totalFee: paylog.total_fee };
}

describe('the review\'s five defects', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeEach(async () => {
    ({ shop, clock } = await shopOnClock());
  });
  afterEach(async () => {
    await shop.close();
  });

  test('1. a closed order paid through a still-open older attempt is a late payment: its stock taken back, flagged for the admin', async () => {
    const knex = shop.db.knex;
    const before = await stockOf(shop, 'TEA-MLH-100');
    const { old, fresh, cashier } = await switchedInsideFiveMinutes(shop, clock, 'TEA-MLH-100');
    // the new attempt is closed by an admin (its close at WeChat allowed after 5 minutes); the old one is still open at WeChat
    clock.advance(CLOSE_NOT_BEFORE_MS);
    expect(await closeTrade(knex, shop.app.locals.deps.payments, { outTradeNo: fresh, now: clock(), operator: 'admin:test', event: orderEvent('closed_by_admin', {}) })).toBe('closed');
    expect((await ordersOfTrade(knex, old).select('orders.status', 'orders.delivery_status')).map((o) => [o.status, o.delivery_status])).toEqual([['closed', 'cancelled']]);
    expect(await stockOf(shop, 'TEA-MLH-100')).toBe(before);

    // the payer still had the old cashier open, and pays there
    await payInCashier(shop, cashier);
    await waitFor('the old attempt paid', async () => (await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state === 'SUCCESS');
    expect(await knex('paylog').where({ out_trade_no: old }).first('flag')).toEqual({ flag: 'late_payment' });
    // paid, its goods to be sent after all, and its unit taken from the shelf again
    expect((await ordersOfTrade(knex, old).select('orders.status', 'orders.delivery_status', 'orders.out_trade_no')).map((o) => [o.status, o.delivery_status, o.out_trade_no])).toEqual([['paid', 'pending', old]]);
    expect(await stockOf(shop, 'TEA-MLH-100')).toBe(before - 1);
    const events = (await ordersOfTrade(knex, old).join('order_log', 'order_log.order_id', 'orders.id').orderBy('order_log.id').pluck('order_log.event')) as string[];
    expect(events.at(-1)).toBe('paid_late');
    await expectCleanLedger(shop, clock());
  });

  test('2. "not asked" is not "closed at WeChat": an attempt ordered there between the switch\'s read and its lock stays open for the sweeper, which closes it there', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const old = await shopper.buy([['GEEK-CBL-01', 1]]);
    const { shopper_id: shopperId } = (await knex('paylog').where({ out_trade_no: old }).first('shopper_id')) as { shopper_id: string };
    // the switch read the old attempt before any Pay (so it asked WeChat nothing) ... and a Pay
    // pressed meanwhile ordered it at WeChat before the switch's transaction took its lock
    expect((await shopper.postFrom(`/pay/${old}`, `/pay/${old}/h5`)).status).toBe(303);
    expect((await knex('sim_trades').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('NOTPAY');
    clock.advance(MINUTE);
    const renewed = await replaceAttempt(knex, { outTradeNo: old, shopperId, now: clock(), qrTtlSeconds: 900, tradeType: 'NATIVE', wechat: 'not_asked' });
    expect(renewed.kind).toBe('renewed');
    // not closed here while WeChat can still take the money ...
    expect(await knex('paylog').where({ out_trade_no: old }).first('trade_state')).toEqual({ trade_state: 'NOTPAY' });
    await expectCleanLedger(shop, clock());
    // ... and swept: once WeChat allows, closed there and here
    clock.advance(CLOSE_NOT_BEFORE_MS);
    await shop.sweeper.sweepOnce();
    expect((await knex('sim_trades').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('CLOSED');
    expect((await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('CLOSED');
    // its orders stayed with the new attempt, unpaid
    expect((await ordersOfTrade(knex, old).select('orders.status', 'orders.out_trade_no')).map((o) => [o.status, o.out_trade_no])).toEqual([['unpaid', renewed.outTradeNo]]);
    await expectCleanLedger(shop, clock());
  });

  test('3. a late payment for goods sold meanwhile says which items could not be taken back, to the admin and to the ledger check', async () => {
    const knex = shop.db.knex;
    // a product of which there are 3
    const { old, fresh, cashier } = await switchedInsideFiveMinutes(shop, clock, 'SILK-FAN-03');
    clock.advance(CLOSE_NOT_BEFORE_MS);
    expect(await closeTrade(knex, shop.app.locals.deps.payments, { outTradeNo: fresh, now: clock(), operator: 'admin:test', event: orderEvent('closed_by_admin', {}) })).toBe('closed');
    // the unit it gave back is sold to someone else, with the rest of the shelf
    expect(await stockOf(shop, 'SILK-FAN-03')).toBe(3);
    await new Shopper(shop.url, knex).buy([['SILK-FAN-03', 3]]);
    expect(await stockOf(shop, 'SILK-FAN-03')).toBe(0);

    await payInCashier(shop, cashier);
    await waitFor('the old attempt paid', async () => (await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state === 'SUCCESS');
    expect(await knex('paylog').where({ out_trade_no: old }).first('flag')).toEqual({ flag: 'late_payment' });
    // the shelf stays at 0, never below; the order line says what is short
    expect(await stockOf(shop, 'SILK-FAN-03')).toBe(0);
    const [order] = (await ordersOfTrade(knex, old).select('orders.id')) as { id: number }[];
    expect(await knex('order_items').where({ order_id: order?.id }).select('quantity', 'stock_short')).toEqual([{ quantity: 1, stock_short: 1 }]);
    const short = (await knex('order_log').where({ order_id: order?.id, event: 'stock_short' }).first('params')) as { params: unknown };
    const params = (typeof short.params === 'string' ? JSON.parse(short.params) : short.params) as { lines: { title: string; short: number }[] };
    expect(params.lines).toEqual([{ title: expect.any(String) as string, short: 1 }]);
    // the ledger check counts the short unit as never taken: stock is conserved
    const report = await ledgerOf(shop, clock());
    expect(report.discrepancies).toEqual([]);
  });

  test('4. an unknown refund refusal is not final: the refund waits and WeChat is asked; a success for a refund we had closed is recorded and flagged', async () => {
    const knex = shop.db.knex;
    const { outTradeNo, totalFee } = await paidOnPhone(shop);
    clock.advance(MINUTE);
    // WeChat answers the refund with a refusal nobody knows, but makes the refund all the same
    await addFault(shop, { kind: 'refund_unknown_error', out_trade_no: outTradeNo });
    const outRefundNo = newOutRefundNo(clock());
    await requestRefund(knex, { outTradeNo, orderId: await onlyOrderOf(knex, outTradeNo), outRefundNo, refundFee: totalFee, reason: 'test', operator: 'admin:test', now: clock() });
    const sent = await sendRefund(knex, shop.app.locals.deps.payments, { outRefundNo, operator: 'admin:test', clock });
    // not closed: WeChat was asked at once, and knows the refund
    expect(sent.kind).toBe('asked');
    expect((await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).status).not.toBe('REFUNDCLOSE');
    clock.advance(10 * MINUTE);
    await waitFor('the refund settled', async () => {
      await shop.simulator?.runDueWork();
      return (await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).status === 'SUCCESS';
    });
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee', 'trade_state')).toEqual({ refunded_fee: totalFee, trade_state: 'REFUND' });
    await expectCleanLedger(shop, clock());
  });

  test('4b. WeChat completes a refund we had closed: the success is recorded, counted once and flagged, never dropped', async () => {
    const knex = shop.db.knex;
    const { outTradeNo, totalFee } = await paidOnPhone(shop);
    clock.advance(MINUTE);
    // the refund is made at WeChat, while here it was closed (as the old mapping of an unknown refusal did)
    const outRefundNo = newOutRefundNo(clock());
    await requestRefund(knex, { outTradeNo, orderId: await onlyOrderOf(knex, outTradeNo), outRefundNo, refundFee: totalFee, reason: 'test', operator: 'admin:test', now: clock() });
    await v2ClientOf(shop).refund({ outTradeNo, outRefundNo, totalFee, refundFee: totalFee, notifyUrl: `${shop.url}/wxpay/refund-notify` });
    await knex('refunds').where({ out_refund_no: outRefundNo }).update({ status: 'REFUNDCLOSE', last_error: 'closed here' });
    // WeChat finishes it, and its refund notify says SUCCESS
    clock.advance(10 * MINUTE);
    await waitFor('the refund notify', async () => {
      await shop.simulator?.runDueWork();
      return (await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).status === 'SUCCESS';
    });
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('flag', 'flag_resolved_at')).toEqual({ flag: 'succeeded_after_close', flag_resolved_at: null });
    // our refunded total is WeChat's
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee')).toEqual({ refunded_fee: totalFee });
    expect((await ordersOfTrade(knex, outTradeNo).select('orders.status', 'orders.refunded_fen')).map((o) => [o.status, Number(o.refunded_fen)])).toEqual([['refunded', totalFee]]);
    await expectCleanLedger(shop, clock());
  });

  test('5. the sweeper reports what happened: WeChat says paid, markPaid refuses the news (another amount), the trade stays unpaid with its stock', async () => {
    const knex = shop.db.knex;
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    await addFault(shop, { kind: 'notify_drop', out_trade_no: outTradeNo });
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    const stock = await stockOf(shop, 'TEA-MLH-100');
    // our record says another amount than WeChat took (a corrupted row, say): the news cannot settle it
    await knex('paylog').where({ out_trade_no: outTradeNo }).update({ total_fee: paylog.total_fee + 1 });
    clock.advance(20 * MINUTE);
    const close = (event: OrderEvent) => closeTrade(knex, shop.app.locals.deps.payments, { outTradeNo, now: clock(), operator: 'system', event });
    expect(await close(orderEvent('closed_expired', {}))).toBe('amount_mismatch');
    await shop.sweeper.sweepOnce();
    const metrics = await shop.app.locals.deps.metrics.registry.getSingleMetricAsString('pay_sweeper_actions_total');
    expect(metrics).toContain('action="amount_mismatch"');
    expect(metrics).not.toContain('action="paid"');
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).toEqual({ trade_state: 'NOTPAY' });
    expect(await stockOf(shop, 'TEA-MLH-100')).toBe(stock);
    expect((await ordersOfTrade(knex, outTradeNo).select('orders.status')).map((o) => o.status)).toEqual(['unpaid']);
  });

  test('and a switched attempt is not asked about at WeChat before WeChat would close it', async () => {
    const knex = shop.db.knex;
    const { old } = await switchedInsideFiveMinutes(shop, clock, 'GEEK-CBL-01');
    const actions = async () => (await shop.app.locals.deps.metrics.registry.getSingleMetricAsString('pay_sweeper_actions_total')).split('\n').filter((l) => !l.startsWith('#'));
    await shop.sweeper.sweepOnce();
    clock.advance(MINUTE);
    await shop.sweeper.sweepOnce();
    // not taken up for closing (so not asked in vain, round after round) in WeChat's first 5 minutes ...
    expect((await actions()).filter((l) => l.includes('too_early'))).toEqual([]);
    expect(await knex('paylog').where({ out_trade_no: old }).first('trade_state')).toEqual({ trade_state: 'NOTPAY' });
    clock.advance(CLOSE_NOT_BEFORE_MS);
    await shop.sweeper.sweepOnce();
    // ... then asked and closed
    expect(await knex('paylog').where({ out_trade_no: old }).first('trade_state')).toEqual({ trade_state: 'CLOSED' });
    await expectCleanLedger(shop, clock());
  });
});
