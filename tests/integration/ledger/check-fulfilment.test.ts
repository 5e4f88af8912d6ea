import type { Knex } from 'knex';
import { formatLedgerReport, type DiscrepancyKind } from '../../../src/ledger/check';
import { shipOrder } from '../../../src/ledger';
import type { ManualClock, TestShop } from '../../helpers/app';
import { expectCleanLedger, ledgerOf, ordersOfTrade, payAtWechat } from '../../helpers/ledger';
import { shopOnClock, tradeWithQr } from '../../helpers/settlement';

/**
 * The ledger check's part for the goods and the alerts (src/ledger/check-fulfilment.ts): a shipped
 * order is clean; goods shipped unpaid, an order completed once refunded in full, a shipped order
 * without its parcel, and an alert naming a change the ledger does not show are each found.
 */
describe('the ledger check: goods and alerts', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let knex: Knex;
  let orderId: number;

  beforeAll(async () => {
    ({ shop, clock } = await shopOnClock());
    knex = shop.db.knex;
    const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    await payAtWechat(shop, outTradeNo);
    for (let i = 0; i < 20 && ((await shop.simulator?.runDueWork()) ?? 0) > 0; i += 1);
    orderId = Number((await ordersOfTrade(knex, outTradeNo).first('orders.id')).id);
    expect(await shipOrder(knex, { orderId, parcel: { courier: 'sf', courierName: null, trackingNo: 'SF1234567890123' }, operator: 'admin:test', now: clock() })).toBe('shipped');
  });
  afterAll(async () => {
    await shop?.close();
  });

  async function expectFound(kinds: DiscrepancyKind[], apply: () => Promise<unknown>, revert: () => Promise<unknown>) {
    await apply();
    try {
      const report = await ledgerOf(shop, clock());
      expect([...new Set(report.discrepancies.map((d) => d.kind))].sort()).toEqual([...kinds].sort());
      const lines = formatLedgerReport(report);
      for (const d of report.discrepancies) expect(lines).toContain(`discrepancy ${d.kind}: ${d.subject} ${d.message}`);
    } finally {
      await revert();
    }
    await expectCleanLedger(shop, clock());
  }

  test('a paid, shipped order (and its two alerts) is clean', async () => {
    expect(await knex('outbox').whereRaw('? = ANY(order_ids)', [orderId]).orderBy('id').pluck('type')).toEqual(['order.paid', 'order.shipped']);
    await expectCleanLedger(shop, clock());
  });

  test('goods shipped while the money is not in', async () => {
    await expectFound(
      // (the payment and its alert say paid: those are found too)
      ['shipped_but_unpaid', 'paid_paylog_unpaid_order', 'delivery_inconsistent', 'event_without_change'],
      () => knex('orders').where({ id: orderId }).update({ status: 'unpaid' }),
      () => knex('orders').where({ id: orderId }).update({ status: 'paid' }),
    );
  });

  test('an order completed after its money had all gone back', async () => {
    const before = (await knex('orders').where({ id: orderId }).first('refunded_fen', 'total_fen')) as { refunded_fen: number; total_fen: number };
    await expectFound(
      // (no refund row adds up to the payment's refunded_fee: found as well)
      ['completed_but_refunded', 'refunds_not_summed'],
      async () => {
        await knex('orders').where({ id: orderId }).update({ status: 'refunded', refunded_fen: before.total_fen, refunded_at: new Date(clock().getTime() - 3600_000), delivery_status: 'completed' });
        await knex('shipments').where({ order_id: orderId }).update({ completed_at: clock(), completed_by: 'system' });
        await knex('paylog').where({ out_trade_no: knex('orders').select('out_trade_no').where({ id: orderId }) }).update({ trade_state: 'REFUND', refunded_fee: before.total_fen });
      },
      async () => {
        await knex('orders').where({ id: orderId }).update({ status: 'paid', refunded_fen: before.refunded_fen, refunded_at: null, delivery_status: 'shipped' });
        await knex('shipments').where({ order_id: orderId }).update({ completed_at: null, completed_by: null });
        await knex('paylog').where({ out_trade_no: knex('orders').select('out_trade_no').where({ id: orderId }) }).update({ trade_state: 'SUCCESS', refunded_fee: 0 });
      },
    );
  });

  test('a shipped order without its parcel', async () => {
    const parcel = await knex('shipments').where({ order_id: orderId }).first();
    await expectFound(
      // (its order.shipped alert names a parcel the ledger does not have)
      ['shipment_missing', 'event_without_change'],
      () => knex('shipments').where({ order_id: orderId }).delete(),
      () => knex('shipments').insert(parcel),
    );
  });

  test('an alert naming a change the ledger does not show', async () => {
    await expectFound(
      ['event_without_change'],
      () => knex('outbox').insert({ type: 'order.completed', order_ids: [orderId], data: JSON.stringify({ orders: [{ id: orderId, amount_fen: 1 }], amount_fen: 1, pay_type: 'wxpay', by: 'shopper' }), dedupe_key: 'check-test', created_at: clock() }),
      () => knex('outbox').where({ dedupe_key: 'check-test' }).delete(),
    );
  });
});
