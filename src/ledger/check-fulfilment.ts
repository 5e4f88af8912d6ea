import type { Knex } from 'knex';

/**
 * The ledger check's part for the goods and the outbox (check.ts runs it in its read-only
 * snapshot): goods never leave unpaid (but for cash on delivery, paid at the door), an order is
 * never completed once its money is all back, a shipped order has its shipment, and every outbox
 * event names a change the ledger shows (an order.paid for an order that is paid, ...).
 */

export type FulfilmentDiscrepancyKind = 'shipped_but_unpaid' | 'completed_but_refunded' | 'shipment_missing' | 'event_without_change';

type Add = (kind: FulfilmentDiscrepancyKind, subject: string, message: string) => void;

export async function checkFulfilment(trx: Knex.Transaction, add: Add): Promise<void> {
  // goods that left without their money: WeChat Pay unpaid or closed; anything completed unpaid
  const unpaid = (await trx('orders')
    .where((q) =>
      q
        .where((c) => c.where('pay_type', 'wxpay').whereIn('delivery_status', ['shipped', 'completed']).whereNotIn('status', ['paid', 'refunded']))
        .orWhere((c) => c.where('pay_type', 'cod').where('delivery_status', 'completed').whereNot('status', 'paid'))
        .orWhere((c) => c.where('pay_type', 'cod').where('delivery_status', 'shipped').whereNot('status', 'unpaid')),
    )
    .select('id', 'status', 'pay_type', 'delivery_status')) as { id: number; status: string; pay_type: string; delivery_status: string }[];
  for (const o of unpaid) add('shipped_but_unpaid', `order ${o.id}`, `is ${o.delivery_status} but its money is ${o.status} (${o.pay_type})`);

  // completed while (or after) its money was all back: completion comes after the full refund
  const completed = (await trx('orders')
    .join('shipments', 'shipments.order_id', 'orders.id')
    .where({ 'orders.status': 'refunded', 'orders.delivery_status': 'completed' })
    .whereNotNull('shipments.completed_at')
    .andWhere((q) => q.whereNull('orders.refunded_at').orWhereRaw('shipments.completed_at >= orders.refunded_at'))
    .select('orders.id', 'orders.refunded_at', 'shipments.completed_at')) as { id: number; refunded_at: Date | null; completed_at: Date }[];
  for (const o of completed) add('completed_but_refunded', `order ${o.id}`, 'was completed although its money had all gone back');

  // a WeChat Pay order's goods on their way (or delivered) have a parcel
  const missing = (await trx('orders')
    .leftJoin('shipments', 'shipments.order_id', 'orders.id')
    .where((q) => q.where('orders.delivery_status', 'shipped').orWhere((c) => c.where('orders.delivery_status', 'completed').where('orders.pay_type', 'wxpay')))
    .whereNull('shipments.order_id')
    .select('orders.id', 'orders.delivery_status')) as { id: number; delivery_status: string }[];
  for (const o of missing) add('shipment_missing', `order ${o.id}`, `is ${o.delivery_status} but has no shipment (courier, tracking number)`);

  // every event names a change the ledger shows
  const events = (await trx('outbox')
    .crossJoin(trx.raw('unnest(outbox.order_ids) AS named(order_id)'))
    .leftJoin('orders', 'orders.id', 'named.order_id')
    .leftJoin('shipments', 'shipments.order_id', 'orders.id')
    .whereIn('outbox.type', ['order.paid', 'order.shipped', 'order.completed'])
    .andWhere((q) =>
      q
        .whereNull('orders.id')
        .orWhere((c) => c.where('outbox.type', 'order.paid').whereNotIn('orders.status', ['paid', 'refunded']))
        .orWhere((c) => c.where('outbox.type', 'order.shipped').andWhere((d) => d.whereNotIn('orders.delivery_status', ['shipped', 'completed']).orWhereNull('shipments.order_id')))
        .orWhere((c) => c.where('outbox.type', 'order.completed').whereNot('orders.delivery_status', 'completed')),
    )
    .select('outbox.event_id', 'outbox.type', 'named.order_id', 'orders.status', 'orders.delivery_status')) as { event_id: string; type: string; order_id: number; status: string | null; delivery_status: string | null }[];
  for (const e of events) {
    add('event_without_change', `event ${e.event_id}`, `${e.type} for order ${e.order_id}, which is ${e.status ?? 'missing'} with goods ${e.delivery_status ?? 'missing'}`);
  }
}
