import type { Knex } from 'knex';
import { prepared } from '../db';
import { ORDER_COLUMNS, PAYLOG_COLUMNS, orderItemOf, orderOf, paylogOf, refundOf, type OrderItem, type OrderWithItems, type Paylog, type Refund } from './model';

/**
 * The ledger's read models for pages: an attempt as its shopper's pay page and status poll read
 * it, an order list, a refund. Plain reads, never under a lock (the locked reads of a state change
 * are repo.ts's). The admin's reports (src/admin) and the ledger check (check.ts) read the tables
 * themselves.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

/**
 * The attempt that paid this paylog's orders, when it is another one; and the newer attempt its
 * unpaid orders moved on to (subqueries on `paylog`).
 */
const PAID_BY_SQL = `(SELECT o.out_trade_no FROM paylog_orders po JOIN orders o ON o.id = po.order_id
   WHERE po.out_trade_no = paylog.out_trade_no AND o.status IN ('paid', 'refunded') AND o.out_trade_no <> paylog.out_trade_no
   LIMIT 1) AS paid_by,
  (SELECT o.out_trade_no FROM paylog_orders po JOIN orders o ON o.id = po.order_id
   WHERE po.out_trade_no = paylog.out_trade_no AND o.status = 'unpaid' AND o.out_trade_no <> paylog.out_trade_no
   LIMIT 1) AS superseded_by`;

const QUALIFIED_PAYLOG_COLUMNS = PAYLOG_COLUMNS.map((c) => `paylog.${c}`);
const QUALIFIED_ORDER_COLUMNS = ORDER_COLUMNS.map((c) => `orders.${c}`);

// ---- payment attempts ----------------------------------------------------------------------

export async function readAttempt(db: Db, outTradeNo: string): Promise<Paylog | undefined> {
  const row = (await db('paylog').where({ out_trade_no: outTradeNo }).first([...QUALIFIED_PAYLOG_COLUMNS, db.raw(PAID_BY_SQL)])) as Row | undefined;
  return row ? paylogOf(row) : undefined;
}

/** The attempt, only for its shopper or a session that found one of its orders by number and mobile. */
export async function attemptOfShopper(db: Db, outTradeNo: string, shopperId: string | undefined, foundOrderIds: readonly number[]): Promise<Paylog | undefined> {
  if (!shopperId && foundOrderIds.length === 0) return undefined;
  const row = (await db('paylog')
    .where({ out_trade_no: outTradeNo })
    .andWhere((q) => {
      if (shopperId) q.where({ shopper_id: shopperId });
      if (foundOrderIds.length > 0) q.orWhereExists((e) => e.select(db.raw('1')).from('paylog_orders').whereRaw('paylog_orders.out_trade_no = paylog.out_trade_no').whereIn('paylog_orders.order_id', [...foundOrderIds]));
    })
    .first([...QUALIFIED_PAYLOG_COLUMNS, db.raw(PAID_BY_SQL)])) as Row | undefined;
  return row ? paylogOf(row) : undefined;
}

/**
 * The attempt for the shopper of a session, by session id (the status poll reads it without
 * express-session): one statement for session and attempt.
 */
export async function attemptOfSession(db: Db, outTradeNo: string, sessionId: string, now: Date): Promise<Paylog | undefined> {
  // the session's own payments, and those of orders it found by number and mobile (src/orders)
  const query = db('paylog')
    .where({ out_trade_no: outTradeNo })
    .whereRaw(
      `EXISTS (SELECT 1 FROM sessions s WHERE s.sid = ? AND s.expires_at > ? AND (
         paylog.shopper_id = s.sess->>'shopperId'
         OR EXISTS (SELECT 1 FROM paylog_orders po WHERE po.out_trade_no = paylog.out_trade_no
                    AND po.order_id::text IN (SELECT jsonb_array_elements_text(COALESCE(s.sess->'foundOrders', '[]'::jsonb))))))`,
      [sessionId, now],
    )
    .first([...QUALIFIED_PAYLOG_COLUMNS, db.raw(PAID_BY_SQL)]);
  const row = (await prepared(db, 'attempt_of_session', query)) as Row | undefined;
  return row ? paylogOf(row) : undefined;
}

/**
 * The pay page's one statement: the attempt (for its shopper, or a session that found one of its
 * orders) with its orders and their items, built as JSON by the database, and the session's
 * unpaid WeChat Pay orders for the header's badge (unpaidCountOf's count).
 */
export async function payPageOf(
  db: Db,
  outTradeNo: string,
  shopperId: string | undefined,
  foundOrderIds: readonly number[],
): Promise<{ paylog: Paylog; orders: OrderWithItems[]; unpaidCount: number } | undefined> {
  if (!shopperId && foundOrderIds.length === 0) return undefined;
  const query = db.raw<{ rows: (Row & { orders: Row[] })[] }>(
    `SELECT ${QUALIFIED_PAYLOG_COLUMNS.join(', ')}, ${PAID_BY_SQL},
            (SELECT coalesce(json_agg(json_build_object(${ORDER_COLUMNS.map((c) => `'${c}', o.${c}`).join(', ')},
                      'items', (SELECT coalesce(json_agg(json_build_object('product_id', i.product_id, 'variant_id', i.variant_id, 'sku', i.sku, 'variant_label', i.variant_label, 'title', i.title, 'unit_price_fen', i.unit_price_fen, 'quantity', i.quantity, 'stock_short', i.stock_short) ORDER BY i.id), '[]'::json)
                                  FROM order_items i WHERE i.order_id = o.id)) ORDER BY o.id), '[]'::json)
               FROM paylog_orders po JOIN orders o ON o.id = po.order_id
              WHERE po.out_trade_no = paylog.out_trade_no) AS orders,
            (SELECT count(*) FROM orders u
              WHERE u.status = 'unpaid' AND u.pay_type = 'wxpay' AND (u.shopper_id = :shopperId OR u.id = ANY(CAST(:found AS bigint[])))) AS unpaid_count
       FROM paylog
      WHERE paylog.out_trade_no = :outTradeNo
        AND (paylog.shopper_id = :shopperId
             OR EXISTS (SELECT 1 FROM paylog_orders f WHERE f.out_trade_no = paylog.out_trade_no AND f.order_id = ANY(CAST(:found AS bigint[]))))`,
    { outTradeNo, shopperId: shopperId ?? null, found: `{${foundOrderIds.map((id) => Math.trunc(id)).join(',')}}` },
  );
  const { rows } = await prepared(db, 'pay_page', query);
  const row = rows[0];
  if (!row) return undefined;
  const orders = (typeof row.orders === 'string' ? (JSON.parse(row.orders) as Row[]) : row.orders).map((o) => ({
    ...orderOf(o),
    items: ((o.items ?? []) as Row[]).map(orderItemOf),
  }));
  return { paylog: paylogOf(row), orders, unpaidCount: Number(row.unpaid_count ?? 0) };
}

// ---- orders --------------------------------------------------------------------------------

/** The orders with their items, in one query for all of them. */
export async function withItems<T extends { id: number }>(db: Db, orders: T[]): Promise<(T & { items: OrderItem[] })[]> {
  if (orders.length === 0) return [];
  const rows = (await db('order_items')
    .whereIn(
      'order_id',
      orders.map((o) => o.id),
    )
    .orderBy('id')
    .select('order_id', 'product_id', 'variant_id', 'sku', 'variant_label', 'title', 'unit_price_fen', 'quantity', 'stock_short')) as Row[];
  return orders.map((o) => ({ ...o, items: rows.filter((r) => Number(r.order_id) === o.id).map(orderItemOf) }));
}

/** The orders a payment attempt is for, with their items. */
export async function ordersOfAttempt(db: Db, outTradeNo: string): Promise<OrderWithItems[]> {
  const rows = (await db('orders').join('paylog_orders', 'paylog_orders.order_id', 'orders.id').where('paylog_orders.out_trade_no', outTradeNo).orderBy('orders.id').select(QUALIFIED_ORDER_COLUMNS)) as Row[];
  return withItems(db, rows.map(orderOf));
}

export async function ordersOfCheckout(db: Db, shopperId: string, checkoutToken: string): Promise<OrderWithItems[]> {
  const rows = (await db('orders').where({ shopper_id: shopperId, checkout_token: checkoutToken }).orderBy('id').select(ORDER_COLUMNS)) as Row[];
  return withItems(db, rows.map(orderOf));
}

/**
 * The orders a session may see: its shopper's and those it found by number and mobile. Unpaid
 * WeChat Pay orders first (they wait for the shopper), then the newest.
 */
export async function ordersOfSession(db: Db, shopperId: string | undefined, foundOrderIds: readonly number[], limit: number): Promise<OrderWithItems[]> {
  if (!shopperId && foundOrderIds.length === 0) return [];
  const rows = (await db('orders')
    .where((q) => {
      if (shopperId) q.where({ shopper_id: shopperId });
      if (foundOrderIds.length > 0) q.orWhereIn('id', [...foundOrderIds]);
    })
    .orderByRaw("CASE WHEN status = 'unpaid' AND pay_type = 'wxpay' THEN 0 ELSE 1 END")
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .select(ORDER_COLUMNS)) as Row[];
  return withItems(db, rows.map(orderOf));
}

/** Unpaid WeChat Pay orders of a session (the header's badge). */
export async function unpaidCountOf(db: Db, shopperId: string | undefined, foundOrderIds: readonly number[]): Promise<number> {
  if (!shopperId && foundOrderIds.length === 0) return 0;
  const row = (await db('orders')
    .where({ status: 'unpaid', pay_type: 'wxpay' })
    .andWhere((q) => {
      if (shopperId) q.where({ shopper_id: shopperId });
      if (foundOrderIds.length > 0) q.orWhereIn('id', [...foundOrderIds]);
    })
    .count({ n: '*' })
    .first()) as Row | undefined;
  return Number(row?.n ?? 0);
}

/** Cash-on-delivery orders still unpaid and not accepted for delivery, placed before `before`, oldest first. */
export async function unacceptedCodOrders(db: Db, before: Date, limit: number): Promise<number[]> {
  const ids = (await db('orders').where({ pay_type: 'cod', status: 'unpaid', delivery_status: 'pending' }).andWhere('created_at', '<=', before).orderBy('id').limit(limit).pluck('id')) as unknown[];
  return ids.map(Number);
}

/** The id of the order with this number and receiver's mobile, or undefined. */
export async function orderIdByMobile(db: Db, orderId: number, mobile: string): Promise<number | undefined> {
  const row = (await db('orders').where({ id: orderId, receiver_mobile: mobile }).first('id')) as Row | undefined;
  return row ? Number(row.id) : undefined;
}

// ---- refunds -------------------------------------------------------------------------------

export async function readRefund(db: Db, outRefundNo: string): Promise<Refund | undefined> {
  const row = (await db('refunds').where({ out_refund_no: outRefundNo }).first('*')) as Row | undefined;
  return row ? refundOf(row) : undefined;
}

export async function refundsOfAttempt(db: Db, outTradeNo: string): Promise<Refund[]> {
  const rows = (await db('refunds').where({ out_trade_no: outTradeNo }).orderBy('created_at').orderBy('out_refund_no').select('*')) as Row[];
  return rows.map(refundOf);
}

/** The refunds that name these orders, oldest first (what the admin and the shopper see per order). */
export async function refundsOfOrders(db: Db, orderIds: readonly number[]): Promise<Refund[]> {
  if (orderIds.length === 0) return [];
  const rows = (await db('refunds').whereIn('order_id', [...orderIds]).orderBy('created_at').orderBy('out_refund_no').select('*')) as Row[];
  return rows.map(refundOf);
}

/** An order's money and goods as an audit record keeps them (undefined: no such order). */
export async function orderStateOf(db: Db, orderId: number): Promise<{ id: number; status: string; delivery_status: string; refunded_fen: number } | undefined> {
  const row = (await db('orders').where({ id: orderId }).first('id', 'status', 'delivery_status', 'refunded_fen')) as Row | undefined;
  return row ? { id: Number(row.id), status: String(row.status), delivery_status: String(row.delivery_status), refunded_fen: Number(row.refunded_fen) } : undefined;
}

/** One order with its items, only for its shopper or a session that found it by number and mobile. */
export async function orderOfSession(db: Db, orderId: number, shopperId: string | undefined, foundOrderIds: readonly number[]): Promise<OrderWithItems | undefined> {
  if (!shopperId && !foundOrderIds.includes(orderId)) return undefined;
  const row = (await db('orders')
    .where({ id: orderId })
    .andWhere((q) => {
      if (shopperId) q.where({ shopper_id: shopperId });
      if (foundOrderIds.includes(orderId)) q.orWhere({ id: orderId });
    })
    .first(ORDER_COLUMNS)) as Row | undefined;
  if (!row) return undefined;
  const [order] = await withItems(db, [orderOf(row)]);
  return order;
}

/** For "my orders": when each unpaid attempt stops being offered (its QR code's end), and whether its shopper asked to cancel it. */
export async function unpaidOffersOf(db: Db, outTradeNos: readonly string[], qrTtlSeconds: number): Promise<Map<string, { endsAt: Date; cancelRequestedAt: Date | null }>> {
  if (outTradeNos.length === 0) return new Map();
  const rows = (await db('paylog').whereIn('out_trade_no', [...new Set(outTradeNos)]).where('trade_state', 'NOTPAY').select('out_trade_no', 'code_url_expires_at', 'create_time', 'cancel_requested_at')) as Row[];
  return new Map(
    rows.map((r) => [
      String(r.out_trade_no),
      {
        endsAt: r.code_url_expires_at ? new Date(r.code_url_expires_at as Date) : new Date(new Date(r.create_time as Date).getTime() + qrTtlSeconds * 1000),
        cancelRequestedAt: r.cancel_requested_at ? new Date(r.cancel_requested_at as Date) : null,
      },
    ]),
  );
}
