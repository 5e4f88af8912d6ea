import type { Knex } from 'knex';

/**
 * The ledger check's part for the shopper's side after checkout (issue 24; check.ts runs it in its
 * read-only snapshot): a cancelled checkout leaves nothing open. A payment attempt its shopper
 * asked to cancel that is CLOSED has no order still waiting (unpaid) for it: the close took every
 * order whose current attempt it is, and gave their stock back. Every approved after-sales request
 * has its refund, of its own order, of no more than was approved; no refund names a request that
 * was not approved; no request asks for more than its order cost; and what an order's approved
 * requests refund never exceeds what it cost.
 */

export type AftersaleDiscrepancyKind = 'cancelled_but_open' | 'aftersale_refund_mismatch' | 'aftersale_over_paid';

type Add = (kind: AftersaleDiscrepancyKind, subject: string, message: string) => void;

export async function checkAftersale(trx: Knex.Transaction, add: Add): Promise<void> {
  const open = (await trx('paylog')
    .join('orders', 'orders.out_trade_no', 'paylog.out_trade_no')
    .whereNotNull('paylog.cancel_requested_at')
    .where('paylog.trade_state', 'CLOSED')
    .where('orders.status', 'unpaid')
    .orderBy('orders.id')
    .select('paylog.out_trade_no', 'orders.id')) as { out_trade_no: string; id: number }[];
  for (const o of open) add('cancelled_but_open', `order ${o.id}`, `is still unpaid, but ${o.out_trade_no}, the payment its shopper cancelled, is closed`);
}

export async function checkAftersaleRequests(trx: Knex.Transaction, add: Add): Promise<void> {
  const mismatched = (await trx('aftersales as a')
    .leftJoin('refunds as r', 'r.out_refund_no', 'a.out_refund_no')
    .where((q) =>
      q
        .where((c) => c.where('a.status', 'approved').andWhere((d) => d.whereNull('r.out_refund_no').orWhereRaw('r.order_id IS DISTINCT FROM a.order_id').orWhereRaw('r.refund_fee > a.amount_fen')))
        .orWhere((c) => c.whereNot('a.status', 'approved').whereNotNull('a.out_refund_no')),
    )
    .orderBy('a.id')
    .select('a.id', 'a.status', 'a.order_id', 'a.amount_fen', 'r.out_refund_no', 'r.order_id as refund_order_id', 'r.refund_fee')) as { id: number; status: string; order_id: number; amount_fen: string; out_refund_no: string | null; refund_order_id: number | null; refund_fee: string | null }[];
  for (const m of mismatched) {
    const refund = m.out_refund_no ? `refund ${m.out_refund_no} of ${String(m.refund_fee)} fen for order ${String(m.refund_order_id)}` : 'no refund';
    add('aftersale_refund_mismatch', `after-sales ${m.id}`, `is ${m.status} for ${m.amount_fen} fen of order ${m.order_id}, with ${refund}`);
  }

  const over = (await trx('aftersales as a')
    .join('orders as o', 'o.id', 'a.order_id')
    .where('a.status', 'approved')
    .groupBy('a.order_id', 'o.total_fen')
    .havingRaw('sum(a.amount_fen) > o.total_fen')
    .select('a.order_id', 'o.total_fen', trx.raw('sum(a.amount_fen)::bigint AS approved_fen'))) as { order_id: number; total_fen: string; approved_fen: string }[];
  for (const o of over) add('aftersale_over_paid', `order ${o.order_id}`, `has ${o.approved_fen} fen of approved after-sales refunds, more than its ${o.total_fen} fen`);
}

/** No request, whatever its state, asks for more than its order cost (the rule allows at most what remains). */
export async function checkAftersaleAmounts(trx: Knex.Transaction, add: Add): Promise<void> {
  const over = (await trx('aftersales as a').join('orders as o', 'o.id', 'a.order_id').whereRaw('a.amount_fen > o.total_fen').orderBy('a.id').select('a.id', 'a.status', 'a.amount_fen', 'o.id as order_id', 'o.total_fen')) as { id: number; status: string; amount_fen: string; order_id: number; total_fen: string }[];
  for (const r of over) add('aftersale_over_paid', `after-sales ${r.id}`, `(${r.status}) asks for ${r.amount_fen} fen of order ${r.order_id}, which cost ${r.total_fen} fen`);
}
