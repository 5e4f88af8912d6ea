import { isIPv6 } from 'node:net';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { PaymentProvider } from '../payments';

/** What a webhook handler gets: the database, the payment provider (which reads the notify), the clock and the log. */
export interface WebhookDeps {
  knex: Knex;
  provider: PaymentProvider;
  clock: () => Date;
  logger: Logger;
}

/** What a webhook answers WeChat. */
export interface NotifyAnswer {
  /** 200 for what WeChat may stop sending, 4xx for what we refuse, 500 when we failed to store it */
  status: number;
  contentType: string;
  /** exactly the provider's reply (v2: WeChat's SUCCESS or FAIL XML) */
  body: string;
  verdict: string;
}

/**
 * The HTTP status of a refused webhook call, by why the provider refused it (the body is the
 * provider's refusal): 400 without a signature, 401 with a wrong one or a body that does not
 * decrypt with our key (forged, or the key is wrong), 403 for another merchant.
 */
const STATUS_BY_REFUSAL: Readonly<Record<string, number>> = {
  bad_xml: 400,
  missing_signature: 400,
  bad_signature: 401,
  bad_req_info: 401,
  wrong_merchant: 403,
  not_success: 400,
  missing_field: 400,
  bad_amount: 400,
  bad_fee_type: 400,
  bad_field: 400,
  bad_body: 400,
  bad_resource: 401,
};

export function refusalStatus(code: string): number {
  return STATUS_BY_REFUSAL[code] ?? 400;
}

/** How much of a body that failed its checks is kept: anyone can post to a webhook. */
export const REFUSED_BODY_KEPT_CHARS = 4096;

/**
 * Rows naming a trade that one source may leave with unverified calls. Beyond it, its further
 * unverified calls are counted on rows that name no trade, so nobody can bury a trade's history.
 */
export const UNVERIFIED_ROWS_PER_SOURCE = 50;

export interface NotifyLogEntry {
  kind: 'pay' | 'refund';
  /**
   * the body failed its checks (XML, signature, merchant, decryption): kept only in part and, when
   * unverified, counted on one row per (source, verdict, claimed trade)
   */
  refused?: boolean;
  /** it proved itself (a valid signature, or a body that decrypts with our key); default true unless refused */
  verified?: boolean;
  /** who sent it: the client address (an IPv6 address counts by its /64) */
  source?: string | undefined;
  outTradeNo?: string | undefined;
  transactionId?: string | undefined;
  verdict: string;
  detail?: string | undefined;
  rawBody: string;
  receivedAt: Date;
}

/** The source a webhook call is counted under: the IPv4 address, or the /64 of an IPv6 one. */
export function notifySource(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (!isIPv6(plain)) return plain.slice(0, 64);
  // expand "::" to find the first four groups
  const [head = '', tail = ''] = plain.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function keptBody(entry: NotifyLogEntry): string {
  const raw = entry.rawBody;
  return entry.refused && raw.length > REFUSED_BODY_KEPT_CHARS ? `${raw.slice(0, REFUSED_BODY_KEPT_CHARS)}… (${raw.length} characters, truncated)` : raw;
}

/**
 * Every webhook call goes on record, accepted or refused, in a write of its own (never inside the
 * settling transaction, so a refused or failed call is kept too). A refused body is kept in its
 * first 4 KiB only. An unverified call (anyone can make one) adds to the count of the first row
 * of its (kind, source, verdict, claimed out_trade_no) instead of a row of its own, and a source
 * names at most UNVERIFIED_ROWS_PER_SOURCE trades: the table grows by sources, not by calls.
 */
export async function recordNotify(knex: Knex, entry: NotifyLogEntry): Promise<void> {
  const verified = entry.verified ?? !entry.refused;
  const row = {
    kind: entry.kind,
    out_trade_no: entry.outTradeNo?.slice(0, 64) ?? null,
    transaction_id: entry.transactionId?.slice(0, 64) ?? null,
    verdict: entry.verdict.slice(0, 32),
    detail: entry.detail ?? null,
    raw_body: keptBody(entry),
    received_at: entry.receivedAt,
    verified,
    source: entry.source?.slice(0, 64) ?? null,
  };
  if (verified) {
    await knex('notify_log').insert(row);
    return;
  }
  const source = row.source ?? 'unknown';
  await knex.raw(
    `WITH claimed AS (
       SELECT CASE WHEN CAST(:outTradeNo AS varchar) IS NOT NULL
                    AND (EXISTS (SELECT 1 FROM notify_log WHERE NOT verified AND source = :source AND kind = :kind AND verdict = :verdict AND out_trade_no = :outTradeNo)
                         OR (SELECT count(*) FROM notify_log WHERE NOT verified AND source = :source AND out_trade_no IS NOT NULL) < :perSource)
                   THEN CAST(:outTradeNo AS varchar) END AS out_trade_no
     ), hit AS (
       UPDATE notify_log SET repeats = repeats + 1, last_received_at = :receivedAt
        WHERE id = (SELECT id FROM notify_log, claimed
                     WHERE NOT verified AND source = :source AND kind = :kind AND verdict = :verdict
                       AND notify_log.out_trade_no IS NOT DISTINCT FROM claimed.out_trade_no
                     ORDER BY id LIMIT 1)
       RETURNING id
     )
     INSERT INTO notify_log (kind, out_trade_no, transaction_id, verdict, detail, raw_body, received_at, verified, source, repeats)
     SELECT :kind, claimed.out_trade_no, :transactionId, :verdict, :detail, :rawBody, :receivedAt, false, :source, 1
       FROM claimed WHERE NOT EXISTS (SELECT 1 FROM hit)`,
    {
      kind: row.kind,
      outTradeNo: row.out_trade_no,
      transactionId: row.transaction_id,
      verdict: row.verdict,
      detail: row.detail,
      rawBody: row.raw_body,
      receivedAt: row.received_at,
      source,
      perSource: UNVERIFIED_ROWS_PER_SOURCE,
    },
  );
}
