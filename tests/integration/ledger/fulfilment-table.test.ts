import type { Knex } from 'knex';
import { completeOrder, correctShipment, shipOrder, DAY_MS } from '../../../src/ledger';
import { checkLedger } from '../../../src/ledger/check';
import { AUTO_COMPLETE_DAYS, FULFILMENT_CASES, OTHER_PARCEL, PARCEL, type FulfilmentCase } from '../../helpers/fulfilment-cases';
import { createTestDatabase, type TestDatabase } from '../../helpers/testdb';

/**
 * The fulfilment table (tests/helpers/fulfilment-cases.ts) on a real database: each case built as
 * rows (order, its payment, its parcel, an undecided refund), then run through the ledger's one
 * transaction (shipOrder, correctShipment, completeOrder): the outcome the rules give, and the rows
 * to match: the goods' state, the parcel, the order_log event and the merchant's alert, or nothing
 * at all changed when the rules say no.
 */

const NOW = new Date('2026-12-08T08:00:00Z');
let serial = 0;

async function build(knex: Knex, c: FulfilmentCase): Promise<number> {
  if (!c.order) return 999_999_999;
  serial += 1;
  const tag = String(serial).padStart(4, '0');
  const o = c.order;
  const outTradeNo = o.pay_type === 'wxpay' ? `FUL${tag}${Date.now() % 1e10}` : null;
  const paid = o.status === 'paid' || o.status === 'refunded';
  if (outTradeNo) {
    await knex('paylog').insert({
      out_trade_no: outTradeNo,
      shopper_id: 's_table',
      total_fee: 600,
      refunded_fee: o.status === 'refunded' ? 600 : o.partly_refunded ? 100 : 0,
      trade_state: paid ? (o.status === 'refunded' || o.partly_refunded ? 'REFUND' : 'SUCCESS') : o.status === 'closed' ? 'CLOSED' : 'NOTPAY',
      transaction_id: paid ? `4200${tag}${Date.now() % 1e10}` : null,
      pay_time: paid ? NOW : null,
      create_time: NOW,
      updated_at: NOW,
    });
  }
  const [row] = (await knex('orders')
    .insert({
      shopper_id: 's_table',
      seller: 'seller',
      status: o.status,
      delivery_status: o.delivery_status,
      pay_type: o.pay_type,
      total_fen: 600,
      refunded_fen: o.status === 'refunded' ? 600 : o.partly_refunded ? 100 : 0,
      refunded_at: o.status === 'refunded' ? NOW : null,
      receiver_name: '张三',
      receiver_mobile: '13800138000',
      receiver_address: '北京市朝阳区某路 1 号',
      out_trade_no: outTradeNo,
      checkout_token: `ful-${tag}-token-xxxxxxxxxxxx`,
      created_at: NOW,
      updated_at: NOW,
      paid_at: paid || (o.pay_type === 'cod' && o.status === 'paid') ? NOW : null,
    })
    .returning('id')) as { id: number }[];
  const id = Number(row?.id);
  if (outTradeNo) await knex('paylog_orders').insert({ out_trade_no: outTradeNo, order_id: id });
  if (c.shipment) {
    const parcel = c.shipment === 'same' ? PARCEL : OTHER_PARCEL;
    await knex('shipments').insert({
      order_id: id,
      courier: parcel.courier,
      courier_name: parcel.courierName,
      tracking_no: parcel.trackingNo,
      shipped_at: new Date(NOW.getTime() - (c.daysSinceShipment ?? 1) * DAY_MS),
      shipped_by: 'admin:table',
      completed_at: o.delivery_status === 'completed' ? NOW : null,
    });
  }
  if (o.refunds_in_progress && outTradeNo) {
    await knex('refunds').insert({ out_refund_no: `RFUL${tag}${Date.now() % 1e10}`, out_trade_no: outTradeNo, order_id: id, refund_fee: 100, status: 'PENDING', operator: 'admin:table', created_at: NOW, updated_at: NOW });
  }
  return id;
}

async function snapshot(knex: Knex, id: number) {
  return {
    order: await knex('orders').where({ id }).first('status', 'delivery_status', 'paid_at'),
    shipment: await knex('shipments').where({ order_id: id }).first('courier', 'courier_name', 'tracking_no', 'completed_at', 'completed_by'),
    log: ((await knex('order_log').where({ order_id: id }).orderBy('id').pluck('event')) as string[]) ?? [],
    outbox: (await knex('outbox').whereRaw('? = ANY(order_ids)', [id]).orderBy('id').pluck('type')) as string[],
  };
}

const EVENT_OF: Record<string, { log: string; alert?: string }> = {
  'ship:shipped': { log: 'shipped', alert: 'order.shipped' },
  'correct:corrected': { log: 'tracking_corrected' },
  'confirm:completed': { log: 'completed', alert: 'order.completed' },
  'clock:completed': { log: 'completed_auto', alert: 'order.completed' },
};

describe('fulfilment on a real database follows the rules table', () => {
  let testDb: TestDatabase;
  const knex = () => testDb.db.knex;

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });

  test.each(FULFILMENT_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const id = await build(knex(), c);
    const before = await snapshot(knex(), id);
    const input = { orderId: id, parcel: PARCEL, operator: 'admin:table', now: NOW };
    const outcome =
      c.action === 'ship'
        ? await shipOrder(knex(), input)
        : c.action === 'correct'
          ? await correctShipment(knex(), input)
          : await completeOrder(knex(), { orderId: id, actor: c.action === 'clock' ? 'clock' : 'shopper', operator: c.action === 'clock' ? 'system' : 'shopper:s_table', now: NOW, autoCompleteDays: AUTO_COMPLETE_DAYS });
    expect(outcome).toBe(c.expect);
    const after = await snapshot(knex(), id);
    const change = EVENT_OF[`${c.action}:${outcome}`];
    if (!change) {
      // the rules said no (or already done): not a row changed
      expect(after).toEqual(before);
      return;
    }
    expect(after.log).toEqual([...before.log, change.log]);
    expect(after.outbox).toEqual([...before.outbox, ...(change.alert ? [change.alert] : [])]);
    // the money never moves with the goods
    expect({ status: after.order?.status, paid_at: after.order?.paid_at }).toEqual({ status: before.order?.status, paid_at: before.order?.paid_at });
    expect(after.order?.delivery_status).toBe(c.delivery ?? before.order?.delivery_status);
    expect({ courier: after.shipment?.courier, tracking_no: after.shipment?.tracking_no }).toEqual({ courier: PARCEL.courier, tracking_no: PARCEL.trackingNo });
    if (c.delivery === 'completed') expect(after.shipment?.completed_at).toEqual(NOW);
  });

  test('and the ledger check finds nothing wrong in what the table left', async () => {
    const report = await checkLedger(knex(), { mchId: 'none' });
    expect(report.discrepancies.filter((d) => ['shipped_but_unpaid', 'completed_but_refunded', 'shipment_missing', 'event_without_change'].includes(d.kind))).toEqual([]);
  });
});
