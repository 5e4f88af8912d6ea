import type { Knex } from 'knex';

/**
 * The ledger check's part for the shopper's side after checkout (issue 24; check.ts runs it in its
 * read-only snapshot): a cancelled checkout leaves nothing open. A payment attempt its shopper
 * asked to cancel that is CLOSED has no order still waiting (unpaid) for it: the close took every
 * order whose current attempt it is, and gave their stock back.
 */

export type AftersaleDiscrepancyKind = 'cancelled_but_open';

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
