import type { Knex } from 'knex';
import { ORDER_COLUMNS, orderOf, refundOf, type DeliveryStatus, type Refund, type RefundFlag, type RefundStatus } from './model';
import type { RefundOrder, RefundableOrder, StandingPayment } from './refund-rules';
import type * as repo from './repo';

/**
 * The statements of refunds (and of the flags an admin resolves, on paylog and refunds): locks,
 * inserts and changes, run inside the transactions of refunds.ts and flags.ts.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

export async function lockRefund(trx: Knex.Transaction, outRefundNo: string): Promise<Refund | undefined> {
  const row = (await trx('refunds').where({ out_refund_no: outRefundNo }).forUpdate().first('*')) as Row | undefined;
  return row ? refundOf(row) : undefined;
}

/** The refund, read without a lock (to find which attempt and order to lock first). */
export async function findRefund(db: Db, outRefundNo: string): Promise<Refund | undefined> {
  const row = (await db('refunds').where({ out_refund_no: outRefundNo }).first('*')) as Row | undefined;
  return row ? refundOf(row) : undefined;
}

/** The sum of an attempt's refunds that may still take money (all but REFUNDCLOSE), fen. */
export async function liveRefundFen(db: Db, outTradeNo: string): Promise<number> {
  const [row] = (await db('refunds').where({ out_trade_no: outTradeNo }).whereNot('status', 'REFUNDCLOSE').select(db.raw('coalesce(sum(refund_fee), 0)::bigint AS fen'))) as Row[];
  return Number(row?.fen ?? 0);
}

/** The attempt's orders with what its live refunds (all but REFUNDCLOSE) hold of each. */
export async function refundableOrders(db: Db, outTradeNo: string): Promise<RefundableOrder[]> {
  const rows = (await db('orders')
    .join('paylog_orders', 'paylog_orders.order_id', 'orders.id')
    .where('paylog_orders.out_trade_no', outTradeNo)
    .orderBy('orders.id')
    .select(
      'orders.id',
      'orders.total_fen',
      db.raw(`(SELECT coalesce(sum(r.refund_fee), 0) FROM refunds r WHERE r.order_id = orders.id AND r.out_trade_no = ? AND r.status <> 'REFUNDCLOSE')::bigint AS live_fen`, [outTradeNo]),
    )) as Row[];
  return rows.map((r) => ({ id: Number(r.id), total_fen: Number(r.total_fen), liveFen: Number(r.live_fen) }));
}

/**
 * The orders a refund's outcome may move, locked in id order (the order every transaction locks
 * orders in, after the paylog row and before a refund): every order this attempt pays now, and the
 * refund's own order.
 */
export async function lockRefundOrders(trx: Knex.Transaction, outTradeNo: string, orderId: number | null): Promise<(RefundOrder & { delivery_status: DeliveryStatus })[]> {
  const rows = (await trx('orders')
    .where((q) => {
      q.where({ out_trade_no: outTradeNo, status: 'paid' });
      if (orderId !== null) q.orWhere({ id: orderId });
    })
    .orderBy('id')
    .forUpdate()
    .select(ORDER_COLUMNS)) as Row[];
  return rows.map(orderOf).map((o) => ({ id: o.id, status: o.status, total_fen: o.total_fen, refunded_fen: o.refunded_fen, out_trade_no: o.out_trade_no, delivery_status: o.delivery_status }));
}

/**
 * Another payment that still stands for an order: paid (SUCCESS or REFUND), not `outTradeNo`, and
 * with less of the order's share refunded from it (its SUCCESS refunds naming the order) than the
 * order cost. Read without a lock: a refund of it settling meanwhile moves the order after this
 * transaction, from the state this one leaves.
 */
export async function standingPaymentOf(db: Db, order: { id: number; total_fen: number }, outTradeNo: string): Promise<StandingPayment | undefined> {
  const rows = (await db('paylog_orders')
    .join('paylog', 'paylog.out_trade_no', 'paylog_orders.out_trade_no')
    .where('paylog_orders.order_id', order.id)
    .whereNot('paylog.out_trade_no', outTradeNo)
    .whereIn('paylog.trade_state', ['SUCCESS', 'REFUND'])
    .orderBy('paylog.pay_time')
    .orderBy('paylog.out_trade_no')
    .select(
      'paylog.out_trade_no',
      db.raw(`(SELECT coalesce(sum(r.refund_fee), 0) FROM refunds r WHERE r.out_trade_no = paylog.out_trade_no AND r.order_id = ? AND r.status = 'SUCCESS')::bigint AS refunded_fen`, [order.id]),
    )) as Row[];
  const standing = rows.map((r) => ({ out_trade_no: String(r.out_trade_no), refundedFen: Number(r.refunded_fen) })).find((p) => p.refundedFen < order.total_fen);
  return standing;
}

export async function insertRefund(
  trx: Knex.Transaction,
  refund: { outRefundNo: string; outTradeNo: string; orderId?: number | undefined; refundFee: number; reason: string | null; operator: string; now: Date },
): Promise<Refund> {
  const [row] = (await trx('refunds')
    .insert({
      out_refund_no: refund.outRefundNo,
      out_trade_no: refund.outTradeNo,
      order_id: refund.orderId ?? null,
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
  flag?: RefundFlag;
}

export async function changeRefund(trx: Knex.Transaction, outRefundNo: string, change: RefundChange, now: Date): Promise<void> {
  await trx('refunds')
    .where({ out_refund_no: outRefundNo })
    .update({ ...change, updated_at: now });
}

/** An admin marked the refund's flag handled. */
export async function resolveRefundFlag(trx: Knex.Transaction, outRefundNo: string, resolution: repo.FlagResolution): Promise<void> {
  await trx('refunds').where({ out_refund_no: outRefundNo }).update({ flag_resolved_at: resolution.at, flag_resolved_by: resolution.by.slice(0, 64), flag_note: resolution.note, updated_at: resolution.at });
}
