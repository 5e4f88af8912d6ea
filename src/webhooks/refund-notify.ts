import { refundNeedsAdmin, settleRefund, type SettleRefundOutcome } from '../ledger';
import { failReply, parseBeijingForPeople, parseRefundNotify, successReply, WxNotifyRejected, WxPayError, type RefundNotice } from '../wechatpay';
import { recordNotify, refusalStatus, type NotifyAnswer, type WebhookDeps } from './notify-log';

const ANSWER_BY_OUTCOME: Record<SettleRefundOutcome, { status: number; reply: string | undefined }> = {
  refunded: { status: 200, reply: undefined },
  fully_refunded: { status: 200, reply: undefined },
  closed: { status: 200, reply: undefined },
  changed: { status: 200, reply: undefined },
  duplicate: { status: 200, reply: undefined },
  // kept as it was for an admin; a day of retries would change nothing
  conflict: { status: 200, reply: undefined },
  unknown_refund: { status: 404, reply: 'unknown out_refund_no' },
  mismatch: { status: 409, reply: 'refund does not match our records' },
};

function summary(notice: RefundNotice): string {
  return [
    `out_refund_no=${notice.outRefundNo}`,
    `refund_id=${notice.refundId}`,
    `refund_status=${notice.refundStatus}`,
    `refund_fee=${notice.refundFee}`,
    `total_fee=${notice.totalFee}`,
    notice.successTime ? `success_time=${notice.successTime}` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * WeChat's refund notify, end to end: decrypt req_info with md5(API key) and check the merchant
 * (parseRefundNotify); check the refund against OUR refunds row and settle it in one transaction
 * (settleRefund: refunded_fee added once, orders refunded when all is back); record every call in
 * notify_log (kind 'refund'), accepted or refused; answer SUCCESS only once the outcome is stored
 * or already was, FAIL with a 4xx for anything refused, FAIL with 500 when storing failed.
 */
export async function handleRefundNotify(deps: WebhookDeps, raw: Buffer, source?: string): Promise<NotifyAnswer> {
  const receivedAt = deps.clock();
  const text = raw.toString('utf8');
  let notice: RefundNotice;
  try {
    notice = await parseRefundNotify(raw, deps.merchant);
  } catch (err) {
    if (!(err instanceof WxPayError)) throw err;
    // the outer fields carry no trade number; req_info did not open, so nothing inside is trusted
    // unverified unless req_info opened with our key (only what parseRefundNotify checks after decrypting)
    const verified = err instanceof WxNotifyRejected && err.fields.req_info === undefined && err.fields.out_refund_no !== undefined;
    await recordNotify(deps.knex, { kind: 'refund', refused: true, verified, source, verdict: err.code, detail: err.message, rawBody: text, receivedAt }).catch((logErr: unknown) =>
      deps.logger.error({ err: logErr }, 'could not record a refused refund notify'),
    );
    return { status: refusalStatus(err.code), body: failReply(err.message.slice(0, 120)), verdict: err.code };
  }

  let outcome: SettleRefundOutcome;
  try {
    outcome = await settleRefund(deps.knex, {
      outRefundNo: notice.outRefundNo,
      outTradeNo: notice.outTradeNo,
      transactionId: notice.transactionId,
      refundId: notice.refundId,
      refundFee: notice.refundFee,
      totalFee: notice.totalFee,
      status: notice.refundStatus,
      successTime: parseBeijingForPeople(notice.successTime),
      operator: 'system',
      now: receivedAt,
    });
  } catch (err) {
    deps.logger.error({ err, outRefundNo: notice.outRefundNo }, 'refund notify could not be settled; WeChat will retry');
    await recordNotify(deps.knex, {
      kind: 'refund',
      source,
      outTradeNo: notice.outTradeNo,
      transactionId: notice.transactionId,
      verdict: 'error',
      detail: `${summary(notice)}: ${String(err)}`,
      rawBody: text,
      receivedAt,
    }).catch(() => undefined);
    return { status: 500, body: failReply('temporarily unable to store the refund'), verdict: 'error' };
  }

  const { status, reply } = ANSWER_BY_OUTCOME[outcome];
  await recordNotify(deps.knex, {
    kind: 'refund',
    source,
    outTradeNo: notice.outTradeNo,
    transactionId: notice.transactionId,
    verdict: outcome,
    detail: reply === undefined ? summary(notice) : `${reply}: ${summary(notice)}`,
    rawBody: text,
    receivedAt,
  }).catch((err: unknown) => deps.logger.error({ err, outRefundNo: notice.outRefundNo }, 'could not record a refund notify'));
  if (refundNeedsAdmin(outcome)) deps.logger.warn({ outRefundNo: notice.outRefundNo, outcome }, 'refund needs an admin');
  return { status, body: reply === undefined ? successReply() : failReply(reply), verdict: outcome };
}

