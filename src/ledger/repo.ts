import type { Knex } from 'knex';
import { prepared } from '../db';
import {
  ORDER_COLUMNS,
  PAYLOG_COLUMNS,
  isPaid,
  orderItemOf,
  orderOf,
  orderStatusOf,
  paylogOf,
  refundOf,
  type Order,
  type OrderItem,
  type OrderStatus,
  type OrderWithItems,
  type PayType,
  type Paylog,
  type Refund,
  type RefundStatus,
  type TradeState,
  type TradeType,
} from './model';
import type { AttemptOrder, OpenHoldings } from './rules';

/**
 * Every statement on the ledger's tables: paylog, orders, order_items, order_log, paylog_orders,
 * refunds (and the stock those orders hold, and the pg_notify that wakes the pay pages). Nothing
 * else in the app writes them. Each function is one statement or a small fixed set of them, run
 * on whatever it is given: the app's knex, or the transaction of the state change that calls it
 * (src/ledger/index.ts, refunds.ts). Rows come back typed through the mappers of model.ts.
 *
 * The admin's read-only reports (src/admin/paylog.ts, orders.ts, chart.ts, reconcile.ts) and the
 * ledger check (check.ts, deliberately independent of this code) read these tables themselves.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

/** The channel on which every instance hears that a paylog changed state (payload: out_trade_no). */
export const PAYLOG_CHANNEL = 'paylog_settled';

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

/** The attempt, row-locked for the rest of the transaction (paid_by is not read under lock). */
export async function lockAttempt(trx: Knex.Transaction, outTradeNo: string): Promise<Paylog | undefined> {
  const row = (await trx('paylog').where({ out_trade_no: outTradeNo }).forUpdate().first(PAYLOG_COLUMNS)) as Row | undefined;
  return row ? paylogOf(row) : undefined;
}

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
                      'items', (SELECT coalesce(json_agg(json_build_object('product_id', i.product_id, 'title', i.title, 'unit_price_fen', i.unit_price_fen, 'quantity', i.quantity) ORDER BY i.id), '[]'::json)
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

export async function insertAttempt(
  trx: Knex.Transaction,
  attempt: { outTradeNo: string; shopperId: string; totalFee: number; tradeType: TradeType; now: Date; /** a switch keeps the old attempt's time */ offeredUntil?: Date | undefined },
): Promise<void> {
  await trx('paylog').insert({
    out_trade_no: attempt.outTradeNo,
    shopper_id: attempt.shopperId,
    total_fee: attempt.totalFee,
    trade_state: 'NOTPAY',
    trade_type: attempt.tradeType,
    code_url_expires_at: attempt.offeredUntil ?? null,
    create_time: attempt.now,
    updated_at: attempt.now,
  });
}

/** How many payment attempts these orders have had ("pay again", switches), the first included. */
export async function attemptsOfOrders(trx: Knex.Transaction, orderIds: readonly number[]): Promise<number> {
  if (orderIds.length === 0) return 0;
  const [row] = (await trx('paylog_orders').whereIn('order_id', [...orderIds]).countDistinct({ n: 'out_trade_no' })) as Row[];
  return Number(row?.n ?? 0);
}

export interface AttemptChange {
  trade_state?: TradeState;
  transaction_id?: string;
  pay_time?: Date;
  closed_at?: Date;
  refunded_fee?: number;
  flag?: string;
}

export async function changeAttempt(trx: Knex.Transaction, outTradeNo: string, change: AttemptChange, now: Date): Promise<void> {
  await trx('paylog')
    .where({ out_trade_no: outTradeNo })
    .update({ ...change, updated_at: now });
}

/** A second transaction id for a paid attempt: kept beside the first, flagged (an earlier flag stays). */
export async function recordConflict(trx: Knex.Transaction, outTradeNo: string, transactionId: string, now: Date): Promise<void> {
  await trx('paylog')
    .where({ out_trade_no: outTradeNo })
    .update({ flag: trx.raw('coalesce(flag, ?)', ['conflict']), conflict_transaction_id: transactionId, updated_at: now });
}

/**
 * What WeChat's first unifiedorder answered, stored once (a concurrent page load may have stored
 * the same already): its prepay_id, NATIVE's code_url, until when it is offered, the body it was
 * made with, and a JSAPI attempt's payer. Later answers for the same trade change nothing.
 */
export async function storeOrdered(db: Db, outTradeNo: string, order: { prepayId: string; codeUrl: string | null; expiresAt: Date; body: string; openid: string | null; now: Date }): Promise<void> {
  await db('paylog')
    .where({ out_trade_no: outTradeNo, trade_state: 'NOTPAY' })
    .whereNull('prepay_id')
    .whereNull('code_url')
    .update({ prepay_id: order.prepayId, code_url: order.codeUrl, code_url_expires_at: order.expiresAt, body: order.body, openid: order.openid, updated_at: order.now });
}

/**
 * Claims the right to ask WeChat about a NOTPAY attempt now, at most once per `intervalSeconds`
 * across every poller, sweeper and instance (one conditional UPDATE). True when this caller got it.
 */
export async function claimQuery(db: Db, outTradeNo: string, now: Date, intervalSeconds: number): Promise<boolean> {
  const claimed = await db('paylog')
    .where({ out_trade_no: outTradeNo, trade_state: 'NOTPAY' })
    .andWhere((q) => q.whereNull('last_queried_at').orWhere('last_queried_at', '<=', new Date(now.getTime() - intervalSeconds * 1000)))
    .update({ last_queried_at: now });
  return claimed > 0;
}

export type SweepKind =
  /** its time is up (or it never went to WeChat and would be over by now); or its orders were paid through another attempt, or moved on to a newer one */
  | 'expired'
  /** a live QR code with no news for a while */
  | 'forgotten';

/**
 * Claims up to `limit` NOTPAY attempts for one sweeper, least recently asked first: one UPDATE
 * over rows picked with FOR UPDATE SKIP LOCKED, stamping last_queried_at, so sweepers in several
 * instances (and the status polls) never work on the same attempt in the same interval.
 */
export async function claimForSweep(db: Db, kind: SweepKind, now: Date, options: { qrTtlSeconds: number; queryAfterSeconds: number; intervalSeconds: number; limit: number }): Promise<string[]> {
  const staleBefore = new Date(now.getTime() - options.intervalSeconds * 1000);
  const which = (q: Knex.QueryBuilder) => {
    if (kind === 'expired') {
      q.where('code_url_expires_at', '<=', now)
        .orWhere((q2) => q2.whereNull('code_url').whereNull('prepay_id').andWhere('create_time', '<=', new Date(now.getTime() - options.qrTtlSeconds * 1000)))
        // superseded: its orders were paid through another attempt, or moved on to a newer one
        .orWhereExists((q3) =>
          q3
            .select(db.raw('1'))
            .from('paylog_orders as po')
            .join('orders as o', 'o.id', 'po.order_id')
            .whereRaw('po.out_trade_no = paylog.out_trade_no')
            .whereRaw('o.out_trade_no <> paylog.out_trade_no'),
        );
    } else {
      q.where((q2) => q2.whereNotNull('code_url').orWhereNotNull('prepay_id'))
        .andWhere('code_url_expires_at', '>', now)
        .andWhere('code_url_expires_at', '<=', new Date(now.getTime() + (options.qrTtlSeconds - options.queryAfterSeconds) * 1000));
    }
  };
  const candidates = db('paylog')
    .select('out_trade_no')
    .where('trade_state', 'NOTPAY')
    .andWhere((q) => q.whereNull('last_queried_at').orWhere('last_queried_at', '<=', staleBefore))
    .andWhere(which)
    // fair: least recently asked first (never asked before anything), so however many old trades
    // there are, each one is asked in its turn instead of the oldest batch every time
    .orderByRaw('last_queried_at ASC NULLS FIRST, create_time ASC')
    .limit(options.limit)
    .forUpdate()
    .skipLocked();
  const rows = (await db('paylog').whereIn('out_trade_no', candidates).update({ last_queried_at: now }).returning('out_trade_no')) as Row[];
  return rows.map((r) => String(r.out_trade_no));
}

/** Wakes the pollers of these attempts on every instance (delivered after commit). */
export async function wake(trx: Knex.Transaction, outTradeNos: readonly string[]): Promise<void> {
  for (const outTradeNo of outTradeNos) await trx.raw('select pg_notify(?, ?)', [PAYLOG_CHANNEL, outTradeNo]);
}

// ---- orders --------------------------------------------------------------------------------

/** The orders an attempt was made for (a later attempt may have replaced it as their current one), locked. */
export async function lockOrdersOfAttempt(trx: Knex.Transaction, outTradeNo: string): Promise<(AttemptOrder & { total_fen: number })[]> {
  const rows = (await trx('orders')
    .join('paylog_orders', 'paylog_orders.order_id', 'orders.id')
    .where('paylog_orders.out_trade_no', outTradeNo)
    .orderBy('orders.id')
    .forUpdate()
    .select('orders.id', 'orders.status', 'orders.out_trade_no', 'orders.total_fen')) as Row[];
  return rows.map((r) => ({ id: Number(r.id), status: orderStatusOf(r.status), out_trade_no: r.out_trade_no === null ? null : String(r.out_trade_no), total_fen: Number(r.total_fen) }));
}

/** The orders whose CURRENT attempt this is and that are in `status`, locked (a newer attempt keeps its own). */
export async function lockCurrentOrders(trx: Knex.Transaction, outTradeNo: string, status: OrderStatus): Promise<number[]> {
  const rows = (await trx('orders').where({ out_trade_no: outTradeNo, status }).forUpdate().orderBy('id').select('id')) as Row[];
  return rows.map((r) => Number(r.id));
}

export async function lockOrder(trx: Knex.Transaction, orderId: number): Promise<Order | undefined> {
  const row = (await trx('orders').where({ id: orderId }).forUpdate().first(ORDER_COLUMNS)) as Row | undefined;
  return row ? orderOf(row) : undefined;
}

interface LogLine {
  operator: string;
  remark: string;
  at: Date;
}

async function writeOrderLog(db: Db, entries: readonly { orderId: number; from: OrderStatus | null; to: OrderStatus }[], line: LogLine): Promise<void> {
  if (entries.length === 0) return;
  await db('order_log').insert(entries.map((e) => ({ order_id: e.orderId, from_status: e.from, to_status: e.to, operator: line.operator.slice(0, 64), remark: line.remark, at: line.at })));
}

export interface OrderMove {
  to: OrderStatus;
  /** paid: when (WeChat's time_end, or the delivery) */
  paidAt?: Date;
  /** the attempt the orders now point at (paid through it, or renewed to it) */
  outTradeNo?: string;
  /** cash on delivery: the merchant accepted it */
  accepted?: boolean;
}

/**
 * Orders from their states to `move.to`, and their order_log lines, in one call: a status never
 * changes without its line. `orders` carries each one's state before (a late payment pays unpaid
 * and closed orders alike). A move to the same state is an audit line with what changed.
 */
export async function moveOrders(trx: Knex.Transaction, orders: readonly { id: number; from: OrderStatus }[], move: OrderMove, line: LogLine): Promise<void> {
  if (orders.length === 0) return;
  await trx('orders')
    .whereIn(
      'id',
      orders.map((o) => o.id),
    )
    .update({
      status: move.to,
      ...(move.to === 'paid' ? { paid_at: move.paidAt ?? line.at } : {}),
      ...(move.to === 'closed' ? { closed_at: line.at } : {}),
      ...(move.outTradeNo ? { out_trade_no: move.outTradeNo } : {}),
      ...(move.accepted ? { accepted_at: line.at } : {}),
      updated_at: line.at,
    });
  await writeOrderLog(
    trx,
    orders.map((o) => ({ orderId: o.id, from: o.from, to: move.to })),
    line,
  );
}

/** An audit line on every order of an attempt, each keeping its status (a refund, a query, an admin's action). */
export async function noteOnOrdersOf(db: Db, outTradeNo: string, line: LogLine): Promise<void> {
  const rows = (await db('orders').join('paylog_orders', 'paylog_orders.order_id', 'orders.id').where('paylog_orders.out_trade_no', outTradeNo).orderBy('orders.id').select('orders.id', 'orders.status')) as Row[];
  await writeOrderLog(
    db,
    rows.map((r) => ({ orderId: Number(r.id), from: orderStatusOf(r.status), to: orderStatusOf(r.status) })),
    line,
  );
}

export interface NewOrder {
  shopperId: string;
  seller: string;
  payType: PayType;
  totalFen: number;
  receiver: { name: string; mobile: string; address: string };
  outTradeNo: string | undefined;
  checkoutToken: string;
  clientIp: string;
  items: { productId: number; title: string; unitPriceFen: number; quantity: number }[];
}

/** A new unpaid order with its items and its first order_log line. Returns its id. */
export async function insertOrder(trx: Knex.Transaction, order: NewOrder, line: LogLine): Promise<number> {
  const [row] = (await trx('orders')
    .insert({
      shopper_id: order.shopperId,
      seller: order.seller,
      status: 'unpaid',
      pay_type: order.payType,
      total_fen: order.totalFen,
      receiver_name: order.receiver.name,
      receiver_mobile: order.receiver.mobile,
      receiver_address: order.receiver.address,
      out_trade_no: order.outTradeNo ?? null,
      checkout_token: order.checkoutToken,
      client_ip: order.clientIp.slice(0, 64),
      created_at: line.at,
      updated_at: line.at,
    })
    .returning('id')) as Row[];
  if (!row) throw new Error('insert into orders returned no id');
  const id = Number(row.id);
  await trx('order_items').insert(order.items.map((i) => ({ order_id: id, product_id: i.productId, title: i.title, unit_price_fen: i.unitPriceFen, quantity: i.quantity })));
  await writeOrderLog(trx, [{ orderId: id, from: null, to: 'unpaid' }], line);
  return id;
}

/** Which orders an attempt is for (kept when a newer attempt replaces it: a late payment still finds them). */
export async function linkOrders(trx: Knex.Transaction, outTradeNo: string, orderIds: readonly number[]): Promise<void> {
  if (orderIds.length === 0) return;
  await trx('paylog_orders').insert(orderIds.map((id) => ({ out_trade_no: outTradeNo, order_id: id })));
}

/** The orders one checkout token made (every shopper's: the caller checks whose). */
export async function ordersOfCheckoutToken(db: Db, checkoutToken: string): Promise<Order[]> {
  const rows = (await db('orders').where({ checkout_token: checkoutToken }).orderBy('id').select(ORDER_COLUMNS)) as Row[];
  return rows.map(orderOf);
}

/** A transaction-scoped lock on a name (a shopper, an address), so two checkouts of one holder go one at a time. */
export async function lockName(trx: Knex.Transaction, name: string): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [name]);
}

/** Open checkouts (unpaid orders not accepted for delivery) and their units, of a shopper and of an address. */
export async function openHoldings(trx: Knex.Transaction, shopperId: string, clientIp: string): Promise<OpenHoldings> {
  const { rows } = await trx.raw<{ rows: Row[] }>(
    `SELECT
       count(DISTINCT o.checkout_token) FILTER (WHERE o.shopper_id = :shopper) AS open_by_shopper,
       coalesce(sum(i.quantity) FILTER (WHERE o.shopper_id = :shopper), 0) AS units_by_shopper,
       count(DISTINCT o.checkout_token) FILTER (WHERE o.client_ip = :ip) AS open_by_ip,
       coalesce(sum(i.quantity) FILTER (WHERE o.client_ip = :ip), 0) AS units_by_ip
     FROM orders o JOIN order_items i ON i.order_id = o.id
     WHERE o.status = 'unpaid' AND o.accepted_at IS NULL AND (o.shopper_id = :shopper OR o.client_ip = :ip)`,
    { shopper: shopperId, ip: clientIp.slice(0, 64) },
  );
  const held = rows[0] ?? {};
  return { openByShopper: Number(held.open_by_shopper ?? 0), unitsByShopper: Number(held.units_by_shopper ?? 0), openByAddress: Number(held.open_by_ip ?? 0), unitsByAddress: Number(held.units_by_ip ?? 0) };
}

// ---- stock held by orders ------------------------------------------------------------------

/** Takes `quantity` of a product if there is that much (never below zero); undefined when not. */
export async function reserveStock(trx: Knex.Transaction, productId: number, quantity: number): Promise<{ id: number; title: string; seller: string; priceFen: number } | undefined> {
  const [row] = (await trx('products').where({ id: productId }).andWhere('stock', '>=', quantity).decrement('stock', quantity).returning(['id', 'title', 'seller', 'price_fen'])) as Row[];
  return row ? { id: Number(row.id), title: String(row.title), seller: String(row.seller), priceFen: Number(row.price_fen) } : undefined;
}

export async function stockOf(trx: Knex.Transaction, productId: number): Promise<{ title: string; stock: number } | undefined> {
  const row = (await trx('products').where({ id: productId }).first('title', 'stock')) as Row | undefined;
  return row ? { title: String(row.title), stock: Number(row.stock) } : undefined;
}

async function itemsOfOrders(db: Db, orderIds: readonly number[]): Promise<{ product_id: number; quantity: number }[]> {
  if (orderIds.length === 0) return [];
  const rows = (await db('order_items').whereIn('order_id', [...orderIds]).orderBy('product_id').select('product_id', 'quantity')) as Row[];
  return rows.map((r) => ({ product_id: Number(r.product_id), quantity: Number(r.quantity) }));
}

/** The units of closed orders back on the shelf (products in id order: one lock order). */
export async function returnStock(trx: Knex.Transaction, orderIds: readonly number[]): Promise<void> {
  for (const item of await itemsOfOrders(trx, orderIds)) await trx('products').where({ id: item.product_id }).increment('stock', item.quantity);
}

/**
 * The units of closed orders taken again (a late payment) where there is some; where there is
 * not, the attempt's flag tells the admin to refund or restock (the payment itself is never lost).
 */
export async function retakeStock(trx: Knex.Transaction, orderIds: readonly number[]): Promise<void> {
  for (const item of await itemsOfOrders(trx, orderIds)) {
    await trx('products').where({ id: item.product_id }).andWhere('stock', '>=', item.quantity).decrement('stock', item.quantity);
  }
}

// ---- reading orders ------------------------------------------------------------------------

/** The orders with their items, in one query for all of them. */
export async function withItems<T extends { id: number }>(db: Db, orders: T[]): Promise<(T & { items: OrderItem[] })[]> {
  if (orders.length === 0) return [];
  const rows = (await db('order_items')
    .whereIn(
      'order_id',
      orders.map((o) => o.id),
    )
    .orderBy('id')
    .select('order_id', 'product_id', 'title', 'unit_price_fen', 'quantity')) as Row[];
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

/** Cash-on-delivery orders still unpaid and not accepted, placed before `before`, oldest first. */
export async function unacceptedCodOrders(db: Db, before: Date, limit: number): Promise<number[]> {
  const ids = (await db('orders').where({ pay_type: 'cod', status: 'unpaid' }).whereNull('accepted_at').andWhere('created_at', '<=', before).orderBy('id').limit(limit).pluck('id')) as unknown[];
  return ids.map(Number);
}

/** The id of the order with this number and receiver's mobile, or undefined. */
export async function orderIdByMobile(db: Db, orderId: number, mobile: string): Promise<number | undefined> {
  const row = (await db('orders').where({ id: orderId, receiver_mobile: mobile }).first('id')) as Row | undefined;
  return row ? Number(row.id) : undefined;
}

// ---- refunds -------------------------------------------------------------------------------

export async function lockRefund(trx: Knex.Transaction, outRefundNo: string): Promise<Refund | undefined> {
  const row = (await trx('refunds').where({ out_refund_no: outRefundNo }).forUpdate().first('*')) as Row | undefined;
  return row ? refundOf(row) : undefined;
}

export async function readRefund(db: Db, outRefundNo: string): Promise<Refund | undefined> {
  const row = (await db('refunds').where({ out_refund_no: outRefundNo }).first('*')) as Row | undefined;
  return row ? refundOf(row) : undefined;
}

export async function refundsOfAttempt(db: Db, outTradeNo: string): Promise<Refund[]> {
  const rows = (await db('refunds').where({ out_trade_no: outTradeNo }).orderBy('created_at').orderBy('out_refund_no').select('*')) as Row[];
  return rows.map(refundOf);
}

/** The sum of an attempt's refunds that may still take money (all but REFUNDCLOSE), fen. */
export async function liveRefundFen(db: Db, outTradeNo: string): Promise<number> {
  const [row] = (await db('refunds').where({ out_trade_no: outTradeNo }).whereNot('status', 'REFUNDCLOSE').select(db.raw('coalesce(sum(refund_fee), 0)::bigint AS fen'))) as Row[];
  return Number(row?.fen ?? 0);
}

export async function insertRefund(trx: Knex.Transaction, refund: { outRefundNo: string; outTradeNo: string; refundFee: number; reason: string | null; operator: string; now: Date }): Promise<Refund> {
  const [row] = (await trx('refunds')
    .insert({
      out_refund_no: refund.outRefundNo,
      out_trade_no: refund.outTradeNo,
      refund_fee: refund.refundFee,
      reason: refund.reason,
      status: 'PENDING',
      operator: refund.operator.slice(0, 64),
      created_at: refund.now,
      updated_at: refund.now,
    })
    .returning('*')) as Row[];
  if (!row) throw new Error('insert into refunds returned no row');
  return refundOf(row);
}

export interface RefundChange {
  status?: RefundStatus;
  refund_id?: string;
  last_error?: string | null;
  success_time?: Date;
}

export async function changeRefund(trx: Knex.Transaction, outRefundNo: string, change: RefundChange, now: Date): Promise<void> {
  await trx('refunds')
    .where({ out_refund_no: outRefundNo })
    .update({ ...change, updated_at: now });
}

// ---- markPaid's one statement --------------------------------------------------------------

/** The webhook's record of its call, stored by the fast path in the same statement (notify_log). */
export interface NotifyRecord {
  rawBody: string;
  source: string | undefined;
  receivedAt: Date;
}

export interface FastPathInput {
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
  paidAt: Date;
  now: Date;
  operator: string;
  remark: string;
}

/**
 * The two common cases of markPaid in ONE statement (one round trip, its own transaction): a
 * NOTPAY attempt with the right amount whose orders all wait for it becomes SUCCESS with its
 * orders paid, order_log written and the waiters notified; or the attempt is paid with this very
 * transaction id already (WeChat's retries): a duplicate. With `record`, the webhook's
 * notify_log row is inserted by the same statement in either case (so a duplicate notify is one
 * round trip and one commit, nothing traded away). Locks are taken in markPaid's order (paylog
 * row, then its orders). Anything else (unknown trade, wrong amount, closed, conflict, orders
 * paid or closed meanwhile, a row changed under our snapshot) answers undefined and writes
 * nothing: the locked transaction decides. rules.fastPathOutcome is the same rule in TypeScript.
 */
export async function markPaidInOneStatement(db: Db, input: FastPathInput, record?: NotifyRecord): Promise<{ outcome: 'paid'; orderIds: number[]; recorded: boolean } | { outcome: 'duplicate'; state: TradeState; recorded: boolean } | undefined> {
  const recording = record
    ? `, recorded AS (
         INSERT INTO notify_log (kind, out_trade_no, transaction_id, verdict, detail, raw_body, received_at, verified, source)
         SELECT 'pay', :outTradeNo, :transactionId, CASE WHEN EXISTS (SELECT 1 FROM logged) THEN 'paid' ELSE 'duplicate' END, NULL, :rawBody, :receivedAt, true, :source
          WHERE EXISTS (SELECT 1 FROM logged)
             OR EXISTS (SELECT 1 FROM paylog d WHERE d.out_trade_no = :outTradeNo AND d.trade_state IN ('SUCCESS', 'REFUND') AND d.transaction_id = :transactionId AND d.total_fee = :totalFee)
         RETURNING id
       )`
    : '';
  const query = db.raw<{ rows: Row[] }>(
    `WITH target AS (
       SELECT out_trade_no FROM paylog
        WHERE out_trade_no = :outTradeNo AND trade_state = 'NOTPAY' AND total_fee = :totalFee
        FOR UPDATE
     ), its_orders AS (
       SELECT orders.id, orders.status, orders.out_trade_no FROM orders
         JOIN paylog_orders ON paylog_orders.order_id = orders.id
         JOIN target ON target.out_trade_no = paylog_orders.out_trade_no
        ORDER BY orders.id
        FOR UPDATE OF orders
     ), ready AS (
       SELECT 1 FROM target
        WHERE EXISTS (SELECT 1 FROM its_orders)
          AND NOT EXISTS (SELECT 1 FROM its_orders WHERE status <> 'unpaid' OR out_trade_no IS DISTINCT FROM :outTradeNo)
     ), paid_paylog AS (
       UPDATE paylog SET trade_state = 'SUCCESS', transaction_id = :transactionId, pay_time = :paidAt, updated_at = :now
        WHERE out_trade_no = :outTradeNo AND EXISTS (SELECT 1 FROM ready)
       RETURNING out_trade_no
     ), paid_orders AS (
       UPDATE orders SET status = 'paid', paid_at = :paidAt, updated_at = :now
        WHERE id IN (SELECT id FROM its_orders) AND EXISTS (SELECT 1 FROM paid_paylog)
       RETURNING id
     ), logged AS (
       INSERT INTO order_log (order_id, from_status, to_status, operator, remark, at)
       SELECT id, 'unpaid', 'paid', :operator, :remark, :now FROM paid_orders
       RETURNING order_id
     )${recording}
     SELECT (SELECT array_agg(order_id ORDER BY order_id) FROM logged) AS paid_ids,
            (SELECT pg_notify(:channel, out_trade_no) FROM paid_paylog) AS notified,
            ${record ? '(SELECT count(*) FROM recorded)' : '0'} AS recorded,
            before.trade_state AS state, before.transaction_id, before.total_fee
       FROM (SELECT 1) AS one
       LEFT JOIN paylog AS before ON before.out_trade_no = :outTradeNo`,
    {
      outTradeNo: input.outTradeNo,
      totalFee: input.totalFee,
      transactionId: input.transactionId,
      paidAt: input.paidAt,
      now: input.now,
      operator: input.operator.slice(0, 64),
      remark: input.remark,
      channel: PAYLOG_CHANNEL,
      ...(record ? { rawBody: record.rawBody, receivedAt: record.receivedAt, source: record.source?.slice(0, 64) ?? null } : {}),
    },
  );
  const { rows } = await prepared(db, record ? 'mark_paid_recorded' : 'mark_paid', query);
  const row = rows[0];
  const recorded = Number(row?.recorded ?? 0) > 0;
  const paidIds = row?.paid_ids as (number | string)[] | null | undefined;
  if (paidIds && paidIds.length > 0) return { outcome: 'paid', orderIds: paidIds.map(Number), recorded };
  // (`before` is the statement's snapshot: a duplicate seen there is one for sure; anything else is decided under lock)
  const state = row?.state as TradeState | null | undefined;
  if (row && state && isPaid(state) && row.transaction_id === input.transactionId && Number(row.total_fee) === input.totalFee) {
    return { outcome: 'duplicate', state, recorded };
  }
  return undefined;
}
