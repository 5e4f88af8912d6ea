import type { Knex } from 'knex';
import type { FulfilmentOrder, Parcel, ShipmentState } from './fulfilment-rules';
import type { Order } from './model';

/**
 * The statements of shipments (one parcel per order), run inside the transactions of
 * fulfilment.ts and delivery.ts, and the read the rules need under the same locks: the refunds
 * still undecided for an order.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

export interface Shipment extends ShipmentState {
  order_id: number;
  shipped_by: string;
  corrected_at: Date | null;
  completed_by: string | null;
}

const instant = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const instantOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : instant(v));

export function shipmentOf(row: Row): Shipment {
  return {
    order_id: Number(row.order_id),
    courier: String(row.courier),
    courier_name: row.courier_name === null || row.courier_name === undefined ? null : String(row.courier_name),
    tracking_no: String(row.tracking_no),
    shipped_at: instant(row.shipped_at),
    shipped_by: String(row.shipped_by),
    corrected_at: instantOrNull(row.corrected_at),
    completed_at: instantOrNull(row.completed_at),
    completed_by: row.completed_by === null || row.completed_by === undefined ? null : String(row.completed_by),
  };
}

export async function lockShipment(trx: Knex.Transaction, orderId: number): Promise<Shipment | undefined> {
  const row = (await trx('shipments').where({ order_id: orderId }).forUpdate().first('*')) as Row | undefined;
  return row ? shipmentOf(row) : undefined;
}

/** Refunds naming the order (or, from before refunds named orders, its payment) that may still move money. */
export async function refundsInProgress(db: Db, order: Pick<Order, 'id' | 'out_trade_no'>): Promise<number> {
  const row = (await db('refunds')
    .whereIn('status', ['PENDING', 'PROCESSING'])
    .andWhere((q) => {
      q.where('order_id', order.id);
      if (order.out_trade_no) q.orWhere((q2) => q2.whereNull('order_id').andWhere('out_trade_no', order.out_trade_no));
    })
    .count({ n: '*' })
    .first()) as Row | undefined;
  return Number(row?.n ?? 0);
}

export async function insertShipment(trx: Knex.Transaction, orderId: number, parcel: Parcel, by: string, at: Date): Promise<void> {
  await trx('shipments').insert({ order_id: orderId, courier: parcel.courier, courier_name: parcel.courierName, tracking_no: parcel.trackingNo, shipped_at: at, shipped_by: by.slice(0, 64) });
}

export async function correctShipment(trx: Knex.Transaction, orderId: number, parcel: Parcel, at: Date): Promise<void> {
  await trx('shipments').where({ order_id: orderId }).update({ courier: parcel.courier, courier_name: parcel.courierName, tracking_no: parcel.trackingNo, corrected_at: at });
}

export async function completeShipment(trx: Knex.Transaction, orderId: number, by: string, at: Date): Promise<void> {
  await trx('shipments').where({ order_id: orderId }).whereNull('completed_at').update({ completed_at: at, completed_by: by.slice(0, 64) });
}

/** Shipped WeChat Pay orders the clock may complete (shipped `days` ago or more), oldest first. */
export async function shippedBefore(db: Db, before: Date, limit: number): Promise<number[]> {
  const ids = (await db('shipments')
    .join('orders', 'orders.id', 'shipments.order_id')
    .whereNull('shipments.completed_at')
    .andWhere('shipments.shipped_at', '<=', before)
    .andWhere({ 'orders.delivery_status': 'shipped', 'orders.pay_type': 'wxpay', 'orders.status': 'paid' })
    .whereNotExists((q) => q.select(db.raw('1')).from('refunds').whereRaw('refunds.order_id = orders.id').whereIn('refunds.status', ['PENDING', 'PROCESSING']))
    .orderBy('shipments.shipped_at')
    .limit(limit)
    .pluck('shipments.order_id')) as unknown[];
  return ids.map(Number);
}

export async function readShipments(db: Db, orderIds: readonly number[]): Promise<Shipment[]> {
  if (orderIds.length === 0) return [];
  const rows = (await db('shipments').whereIn('order_id', [...orderIds]).select('*')) as Row[];
  return rows.map(shipmentOf);
}

/** The orders as the fulfilment rules read them, without locks (a batch's preview; the change decides again under lock). */
export async function readFulfilmentStates(db: Db, orderIds: readonly number[]): Promise<Map<number, { state: FulfilmentOrder; shipment: Shipment | undefined }>> {
  const found = new Map<number, { state: FulfilmentOrder; shipment: Shipment | undefined }>();
  if (orderIds.length === 0) return found;
  const rows = (await db('orders')
    .whereIn('id', [...orderIds])
    .select(
      'id',
      'pay_type',
      'status',
      'delivery_status',
      db.raw(
        `(SELECT count(*) FROM refunds r WHERE r.status IN ('PENDING', 'PROCESSING') AND (r.order_id = orders.id OR (r.order_id IS NULL AND r.out_trade_no = orders.out_trade_no)))::int AS refunds_in_progress`,
      ),
    )) as Row[];
  const parcels = new Map((await readShipments(db, orderIds)).map((s) => [s.order_id, s]));
  for (const r of rows) {
    const id = Number(r.id);
    found.set(id, {
      state: { pay_type: r.pay_type as 'wxpay' | 'cod', status: r.status as 'paid', delivery_status: r.delivery_status as 'pending', refunds_in_progress: Number(r.refunds_in_progress) },
      shipment: parcels.get(id),
    });
  }
  return found;
}
