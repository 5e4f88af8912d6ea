import type { Knex } from 'knex';
import { NotFound } from '../errors';
import { ORDER_COLUMNS, orderOf, readShipments, refundsOfOrders, withItems, type OrderWithItems, type Refund, type Shipment } from '../ledger';
import { groupOrderLog, type OrderLogEntry, type OrderLogRow } from './detail';

/**
 * The admin's read models of the goods: the "awaiting shipment" queue (oldest first), the packing
 * list of the same orders, and one order's page (receiver, items, payments, refunds, parcel,
 * timeline), for every order whatever its pay type. Read-only; the changes are the ledger's.
 */

type Row = Record<string, unknown>;

export const QUEUE_PAGE_SIZE = 100;
/** the packing list's longest export (the queue is worked through in days, not months) */
export const PACKING_LIST_MAX = 5000;

export interface QueueOrder extends OrderWithItems {
  /** refunds naming it still undecided: it cannot be shipped until they are */
  refunds_in_progress: number;
}

/** Orders whose goods wait to leave: WeChat Pay paid, cash on delivery open (taken on or not yet). */
function awaitingShipment(knex: Knex) {
  return knex('orders')
    .where((q) =>
      q
        .where((c) => c.where({ pay_type: 'wxpay', status: 'paid', delivery_status: 'pending' }))
        .orWhere((c) => c.where({ pay_type: 'cod', status: 'unpaid' }).whereIn('delivery_status', ['pending', 'accepted'])),
    )
    .select(
      ORDER_COLUMNS.map((c) => `orders.${c}`),
      knex.raw(
        `(SELECT count(*) FROM refunds r WHERE r.status IN ('PENDING', 'PROCESSING') AND (r.order_id = orders.id OR (r.order_id IS NULL AND r.out_trade_no = orders.out_trade_no)))::int AS refunds_in_progress`,
      ),
    )
    .orderBy('orders.id');
}

async function queueRows(knex: Knex, query: Knex.QueryBuilder): Promise<QueueOrder[]> {
  const rows = (await query) as Row[];
  return withItems(
    knex,
    rows.map((r) => ({ ...orderOf(r), refunds_in_progress: Number(r.refunds_in_progress ?? 0) })),
  );
}

/** One page of the queue, oldest first; `next` is the keyset of the next page. */
export async function shippingQueue(knex: Knex, after: number | undefined): Promise<{ rows: QueueOrder[]; next: number | undefined; total: number }> {
  const query = awaitingShipment(knex).limit(QUEUE_PAGE_SIZE + 1);
  if (after !== undefined) query.where('orders.id', '>', after);
  const rows = await queueRows(knex, query);
  const more = rows.length > QUEUE_PAGE_SIZE;
  const page = more ? rows.slice(0, QUEUE_PAGE_SIZE) : rows;
  const [count] = (await knex.from(awaitingShipment(knex).clearSelect().clearOrder().select(knex.raw('1')).as('q')).count({ n: '*' })) as Row[];
  return { rows: page, next: more ? page[page.length - 1]?.id : undefined, total: Number(count?.n ?? 0) };
}

/** Every order awaiting shipment, oldest first, for the packing list (cash on delivery included). */
export async function packingList(knex: Knex): Promise<QueueOrder[]> {
  return queueRows(knex, awaitingShipment(knex).limit(PACKING_LIST_MAX));
}

export interface OrderPage {
  order: OrderWithItems;
  shipment: Shipment | undefined;
  /** its payment attempts, newest first (WeChat Pay) */
  payments: { out_trade_no: string; trade_state: string; trade_type: string; total_fee: number; transaction_id: string | null; pay_time: Date | null; create_time: Date; flag: string | null }[];
  refunds: Refund[];
  refundsInProgress: number;
  log: OrderLogEntry[];
}

export async function orderPage(knex: Knex, orderId: number): Promise<OrderPage> {
  const row = (await knex('orders').where({ id: orderId }).first(ORDER_COLUMNS)) as Row | undefined;
  if (!row) throw new NotFound(`no order ${orderId}`, 'admin.orders.notFound');
  const [order] = await withItems(knex, [orderOf(row)]);
  if (!order) throw new NotFound(`no order ${orderId}`, 'admin.orders.notFound');
  const [shipment] = await readShipments(knex, [orderId]);
  const payments = (await knex('paylog')
    .join('paylog_orders', 'paylog_orders.out_trade_no', 'paylog.out_trade_no')
    .where('paylog_orders.order_id', orderId)
    .orderBy('paylog.create_time', 'desc')
    .select('paylog.out_trade_no', 'paylog.trade_state', 'paylog.trade_type', 'paylog.total_fee', 'paylog.transaction_id', 'paylog.pay_time', 'paylog.create_time', 'paylog.flag')) as OrderPage['payments'];
  const refunds = await refundsOfOrders(knex, [orderId]);
  const refundsInProgress = refunds.filter((r) => r.status === 'PENDING' || r.status === 'PROCESSING').length;
  const logRows = (await knex('order_log').where({ order_id: orderId }).orderBy('at').orderBy('id').select('id', 'order_id', 'from_status', 'to_status', 'operator', 'event', 'params', 'remark', 'at')) as OrderLogRow[];
  return { order, shipment, payments: payments.map((p) => ({ ...p, total_fee: Number(p.total_fee) })), refunds, refundsInProgress, log: groupOrderLog(logRows) };
}
