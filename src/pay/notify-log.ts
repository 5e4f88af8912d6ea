import type { Knex } from 'knex';

/** What a webhook answers WeChat. */
export interface NotifyAnswer {
  /** 200 for what WeChat may stop sending, 4xx for what we refuse, 500 when we failed to store it */
  status: number;
  /** exactly WeChat's SUCCESS or FAIL XML */
  body: string;
  verdict: string;
}

/** How much of a body that failed its checks is kept: anyone can post to a webhook. */
export const REFUSED_BODY_KEPT_CHARS = 4096;

export interface NotifyLogEntry {
  kind: 'pay' | 'refund';
  /** the body failed its checks (XML, signature, merchant, decryption): kept only in part */
  refused?: boolean;
  outTradeNo?: string | undefined;
  transactionId?: string | undefined;
  verdict: string;
  detail?: string | undefined;
  rawBody: string;
  receivedAt: Date;
}

/**
 * Every webhook call goes on record, accepted or refused, in a write of its own (never inside the
 * settling transaction, so a refused or failed call is kept too). A refused body is kept in its
 * first 4 KiB only, so junk posted to a webhook cannot fill the table.
 */
export async function recordNotify(knex: Knex, entry: NotifyLogEntry): Promise<void> {
  const raw = entry.rawBody;
  const rawBody = entry.refused && raw.length > REFUSED_BODY_KEPT_CHARS ? `${raw.slice(0, REFUSED_BODY_KEPT_CHARS)}… (${raw.length} characters, truncated)` : raw;
  await knex('notify_log').insert({
    kind: entry.kind,
    out_trade_no: entry.outTradeNo?.slice(0, 64) ?? null,
    transaction_id: entry.transactionId?.slice(0, 64) ?? null,
    verdict: entry.verdict.slice(0, 32),
    detail: entry.detail ?? null,
    raw_body: rawBody,
    received_at: entry.receivedAt,
  });
}
