import type { Knex } from 'knex';
import type { OrderEvent } from './events';
import {
  ORDER_COLUMNS,
  PAYLOG_COLUMNS,
  orderOf,
  deliveryStatusOf,
  orderStatusOf,
  paylogOf,
  type DeliveryStatus,
  type Order,
  type OrderStatus,
  type PayType,
  type Paylog,
  type PaylogFlag,
  type TradeState,
  type TradeType,
} from './model';
import type { AttemptOrder, OpenHoldings } from './rules';

/**
 * Every statement that writes the ledger's tables or reads them under a lock: paylog, orders,
 * order_items, order_log, paylog_orders, refunds (and the stock those orders hold, and the
 * pg_notify that wakes the pay pages). Nothing else in the app writes them. Each function is one
 * statement or a small fixed set of them, run on whatever it is given: the app's knex, or the
 * transaction of the state change that calls it (index.ts, refunds.ts, delivery.ts, flags.ts).
 * Rows come back typed through the mappers of model.ts. Pages read through reads.ts; markPaid's
 * one statement is fast-path.ts.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

/** The channel on which every instance hears that a paylog changed state (payload: out_trade_no). */
export const PAYLOG_CHANNEL = 'paylog_settled';

// ---- payment attempts ----------------------------------------------------------------------

/** The attempt, row-locked for the rest of the transaction (paid_by is not read under lock). */
export async function lockAttempt(trx: Knex.Transaction, outTradeNo: string): Promise<Paylog | undefined> {
  const row = (await trx('paylog').where({ out_trade_no: outTradeNo }).forUpdate().first(PAYLOG_COLUMNS)) as Row | undefined;
  return row ? paylogOf(row) : undefined;
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
  /** the shopper asked to cancel it (issue 24) */
  cancel_requested_at?: Date;
  transaction_id?: string;
  pay_time?: Date;
  closed_at?: Date;
  refunded_fee?: number;
  flag?: PaylogFlag;
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
export async function storeOrdered(
  db: Db,
  outTradeNo: string,
  order: { prepayId: string; codeUrl: string | null; expiresAt: Date; body: string; openid: string | null; now: Date; /** the API version WeChat took it on */ apiVersion: string },
): Promise<void> {
  await db('paylog')
    .where({ out_trade_no: outTradeNo, trade_state: 'NOTPAY' })
    .whereNull('prepay_id')
    .whereNull('code_url')
    .update({ prepay_id: order.prepayId, code_url: order.codeUrl, code_url_expires_at: order.expiresAt, body: order.body, openid: order.openid, api_version: order.apiVersion, updated_at: order.now });
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
    .select('orders.id', 'orders.status', 'orders.delivery_status', 'orders.out_trade_no', 'orders.total_fen')) as Row[];
  return rows.map((r) => ({
    id: Number(r.id),
    status: orderStatusOf(r.status),
    delivery_status: deliveryStatusOf(r.delivery_status),
    out_trade_no: r.out_trade_no === null ? null : String(r.out_trade_no),
    total_fen: Number(r.total_fen),
  }));
}

/** The orders whose CURRENT attempt this is and that are in `status`, locked (a newer attempt keeps its own), with their delivery. */
export async function lockCurrentOrders(trx: Knex.Transaction, outTradeNo: string, status: OrderStatus): Promise<{ id: number; delivery_status: DeliveryStatus }[]> {
  const rows = (await trx('orders').where({ out_trade_no: outTradeNo, status }).forUpdate().orderBy('id').select(ORDER_COLUMNS)) as Row[];
  return rows.map(orderOf).map((o) => ({ id: o.id, delivery_status: o.delivery_status }));
}

export async function lockOrder(trx: Knex.Transaction, orderId: number): Promise<Order | undefined> {
  const row = (await trx('orders').where({ id: orderId }).forUpdate().first(ORDER_COLUMNS)) as Row | undefined;
  return row ? orderOf(row) : undefined;
}

/** A line of order_log: who, when, and the event with its parameters (events.ts); `remark` is a person's own words, when there are any. */
export interface LogLine {
  operator: string;
  at: Date;
  event: OrderEvent;
}

async function writeOrderLog(db: Db, entries: readonly { orderId: number; from: OrderStatus | null; to: OrderStatus }[], line: LogLine): Promise<void> {
  if (entries.length === 0) return;
  const params = JSON.stringify(line.event.params);
  await db('order_log').insert(
    entries.map((e) => ({ order_id: e.orderId, from_status: e.from, to_status: e.to, operator: line.operator.slice(0, 64), event: line.event.event, params, remark: null, at: line.at })),
  );
}

export interface OrderMove {
  to: OrderStatus;
  /** paid: when (WeChat's time_end, or the delivery) */
  paidAt?: Date;
  /** the attempt the orders now point at (paid through it, or renewed to it) */
  outTradeNo?: string;
}

/**
 * Orders from their states to `move.to` (each, where given, to its own delivery status), and their
 * order_log lines, in one call: a status never changes without its line. `orders` carries each
 * one's state before (a late payment pays unpaid and closed orders alike). A move to the same
 * state is an audit line with what changed.
 */
export async function moveOrders(trx: Knex.Transaction, orders: readonly { id: number; from: OrderStatus; delivery?: DeliveryStatus }[], move: OrderMove, line: LogLine): Promise<void> {
  if (orders.length === 0) return;
  const byDelivery = new Map<DeliveryStatus | undefined, number[]>();
  for (const o of orders) byDelivery.set(o.delivery, [...(byDelivery.get(o.delivery) ?? []), o.id]);
  for (const [delivery, ids] of byDelivery) {
    await trx('orders')
      .whereIn('id', ids)
      .update({
        status: move.to,
        ...(move.to === 'paid' ? { paid_at: move.paidAt ?? line.at } : {}),
        ...(move.to === 'closed' ? { closed_at: line.at } : {}),
        ...(move.to === 'refunded' ? { refunded_at: line.at } : {}),
        ...(move.outTradeNo ? { out_trade_no: move.outTradeNo } : {}),
        ...(delivery ? { delivery_status: delivery, delivery_at: trx.raw('CASE WHEN delivery_status = ? THEN delivery_at ELSE ? END', [delivery, line.at]) } : {}),
        updated_at: line.at,
      });
  }
  await writeOrderLog(
    trx,
    orders.map((o) => ({ orderId: o.id, from: o.from, to: move.to })),
    line,
  );
}

/** The goods of an order to `delivery` (its money as it is), with its order_log line: shipped, completed. */
export async function moveGoods(trx: Knex.Transaction, order: { id: number; status: OrderStatus }, delivery: DeliveryStatus, line: LogLine): Promise<void> {
  await trx('orders').where({ id: order.id }).update({ delivery_status: delivery, delivery_at: line.at, updated_at: line.at });
  await writeOrderLog(trx, [{ orderId: order.id, from: order.status, to: order.status }], line);
}

/** Orders whose whole amount came back through a refund that named no order (one from before refunds named orders). */
export async function refundOrdersInFull(trx: Knex.Transaction, orderIds: readonly number[], now: Date): Promise<void> {
  if (orderIds.length === 0) return;
  await trx('orders')
    .whereIn('id', [...orderIds])
    .update({ refunded_fen: trx.ref('total_fen'), updated_at: now });
}

/** An order's money back: what its own payment's refunds returned (and refunded, when all of it). */
export async function changeOrderRefunded(trx: Knex.Transaction, orderId: number, refundedFen: number, now: Date): Promise<void> {
  await trx('orders').where({ id: orderId }).update({ refunded_fen: refundedFen, updated_at: now });
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

/** An audit line on these orders, each keeping its status. */
export async function noteOnOrders(db: Db, orderIds: readonly number[], line: LogLine): Promise<void> {
  if (orderIds.length === 0) return;
  const rows = (await db('orders').whereIn('id', [...orderIds]).orderBy('id').select('id', 'status')) as Row[];
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
  items: { productId: number; variantId: number; sku: string; variantLabel: string; title: string; unitPriceFen: number; quantity: number }[];
}

/** A new unpaid order (its goods pending) with its items and its first order_log line. Returns its id. */
export async function insertOrder(trx: Knex.Transaction, order: NewOrder, line: LogLine): Promise<number> {
  const [row] = (await trx('orders')
    .insert({
      shopper_id: order.shopperId,
      seller: order.seller,
      status: 'unpaid',
      delivery_status: 'pending',
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
  await trx('order_items').insert(order.items.map((i) => ({ order_id: id, product_id: i.productId, variant_id: i.variantId, sku: i.sku, variant_label: i.variantLabel.slice(0, 100), title: i.title, unit_price_fen: i.unitPriceFen, quantity: i.quantity })));
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
     WHERE o.status = 'unpaid' AND o.delivery_status = 'pending' AND (o.shopper_id = :shopper OR o.client_ip = :ip)`,
    { shopper: shopperId, ip: clientIp.slice(0, 64) },
  );
  const held = rows[0] ?? {};
  return { openByShopper: Number(held.open_by_shopper ?? 0), unitsByShopper: Number(held.units_by_shopper ?? 0), openByAddress: Number(held.open_by_ip ?? 0), unitsByAddress: Number(held.units_by_ip ?? 0) };
}

/** An admin marked a flag handled: who, when, their note (the flag itself stays, for the record). */
export interface FlagResolution {
  by: string;
  note: string;
  at: Date;
}

export async function resolvePaylogFlag(trx: Knex.Transaction, outTradeNo: string, resolution: FlagResolution): Promise<void> {
  await trx('paylog').where({ out_trade_no: outTradeNo }).update({ flag_resolved_at: resolution.at, flag_resolved_by: resolution.by.slice(0, 64), flag_note: resolution.note, updated_at: resolution.at });
}
