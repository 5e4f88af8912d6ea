import { refundNeedsAdmin, settleRefund, type SettleRefundOutcome } from '../ledger';
import { recordNotify, refusalStatus, type NotifyAnswer, type WebhookDeps } from './notify-log';
import type { WebhookHeaders } from './payment-notify';

const ANSWER_BY_OUTCOME: Record<SettleRefundOutcome, { status: number; reply: string | undefined }> = {
  refunded: { status: 200, reply: undefined },
  fully_refunded: { status: 200, reply: undefined },
  // recorded and flagged for the admin: the money did come back
  succeeded_after_close: { status: 200, reply: undefined },
  closed: { status: 200, reply: undefined },
  changed: { status: 200, reply: undefined },
  duplicate: { status: 200, reply: undefined },
  // kept as it was for an admin; a day of retries would change nothing
  conflict: { status: 200, reply: undefined },
  unknown_refund: { status: 404, reply: 'unknown out_refund_no' },
  mismatch: { status: 409, reply: 'refund does not match our records' },
};

/**
 * WeChat's refund notify, end to end: read by the provider (for v2, its encrypted part decrypted with our
 * key and the merchant checked) into the ledger's refund news; checked against OUR refunds row and
 * settled in one transaction (settleRefund: refunded_fee added once, the order refunded when its
 * own amount is all back, a success for a refund we had closed recorded and flagged); every call
 * recorded in notify_log (kind 'refund'), taken or refused; answered "taken" only once the outcome
 * is stored or already was, refused with a 4xx, failed with 500 when storing failed.
 */
export async function handleRefundNotify(deps: WebhookDeps, headers: WebhookHeaders, raw: Buffer, source?: string): Promise<NotifyAnswer> {
  const receivedAt = deps.clock();
  const text = raw.toString('utf8');
  const { provider } = deps;
  const reading = await provider.readRefundNotify(headers, raw);
  if (reading.kind === 'refused') {
    await recordNotify(deps.knex, { kind: 'refund', refused: true, verified: reading.verified, source, verdict: reading.verdict, detail: reading.message, rawBody: text, receivedAt }).catch((logErr: unknown) =>
      deps.logger.error({ err: logErr }, 'could not record a refused refund notify'),
    );
    return { ...provider.notifyReply({ ok: false, status: refusalStatus(reading.verdict), message: reading.message }, headers), verdict: reading.verdict };
  }

  const { news, summary } = reading;
  let outcome: SettleRefundOutcome;
  try {
    outcome = await settleRefund(deps.knex, { ...news, operator: 'system', now: receivedAt });
  } catch (err) {
    deps.logger.error({ err, outRefundNo: news.outRefundNo }, 'refund notify could not be settled; WeChat will retry');
    await recordNotify(deps.knex, {
      kind: 'refund',
      source,
      outTradeNo: news.outTradeNo,
      transactionId: news.transactionId,
      verdict: 'error',
      detail: `${summary ?? news.outRefundNo}: ${String(err)}`,
      rawBody: text,
      receivedAt,
    }).catch(() => undefined);
    return { ...provider.notifyReply({ ok: false, status: 500, message: 'temporarily unable to store the refund' }, headers), verdict: 'error' };
  }

  const { status, reply } = ANSWER_BY_OUTCOME[outcome];
  await recordNotify(deps.knex, {
    kind: 'refund',
    source,
    outTradeNo: news.outTradeNo,
    transactionId: news.transactionId,
    verdict: outcome,
    detail: reply === undefined ? summary : `${reply}: ${summary ?? news.outRefundNo}`,
    rawBody: text,
    receivedAt,
  }).catch((err: unknown) => deps.logger.error({ err, outRefundNo: news.outRefundNo }, 'could not record a refund notify'));
  if (refundNeedsAdmin(outcome)) deps.logger.warn({ outRefundNo: news.outRefundNo, outcome }, 'refund needs an admin');
  return { ...provider.notifyReply(reply === undefined ? { ok: true } : { ok: false, status, message: reply }, headers), verdict: outcome };
}
