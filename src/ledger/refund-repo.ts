import type { Knex } from 'knex';
import { refundOf, type Refund, type RefundFlag, type RefundStatus } from './model';
import type { RefundOrder, RefundableOrder } from './refund-rules';
import * as repo from './repo';

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

/** The refund's order, locked, as the refund's outcome needs it. */
export async function lockRefundOrder(trx: Knex.Transaction, orderId: number): Promise<RefundOrder | undefined> {
  const order = await repo.lockOrder(trx, orderId);
  return order && { id: order.id, status: order.status, total_fen: order.total_fen, refunded_fen: order.refunded_fen, out_trade_no: order.out_trade_no };
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
