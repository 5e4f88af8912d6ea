import type { Knex } from 'knex';

export interface NotifyLogEntry {
  kind: 'pay' | 'refund';
  outTradeNo?: string | undefined;
  transactionId?: string | undefined;
  verdict: string;
  detail?: string | undefined;
  rawBody: string;
  receivedAt: Date;
}

/**
 * Every webhook call goes on record, accepted or refused, in a write of its own (never inside the
 * settling transaction, so a refused or failed call is kept too).
 */
export async function recordNotify(knex: Knex, entry: NotifyLogEntry): Promise<void> {
  await knex('notify_log').insert({
    kind: entry.kind,
    out_trade_no: entry.outTradeNo?.slice(0, 64) ?? null,
    transaction_id: entry.transactionId?.slice(0, 64) ?? null,
    verdict: entry.verdict.slice(0, 32),
    detail: entry.detail ?? null,
    raw_body: entry.rawBody,
    received_at: entry.receivedAt,
  });
}
