import type { PaidNews } from '../ledger';
import {
  NOTIFY_XML_OPTIONS,
  WxNotifyRejected,
  WxPayError,
  WxSignatureError,
  WxXmlError,
  failReply,
  parseBeijingForPeople,
  parseBeijingTime,
  parsePaymentNotify,
  parseRefundNotify,
  parseXmlSync,
  successReply,
  type RefundNotice as V2RefundNotice,
  type WxMerchant,
} from '../wechatpay';
import type { NotifyRefusal, NotifyReading, NotifyReply, RefundNotice } from './port';

/**
 * WeChat Pay v2's notifies read for the port: the payment notify (signed XML) and the refund notify
 * (req_info encrypted with md5 of the API key), each into the ledger's news or a refusal; and the
 * reply WeChat wants (its SUCCESS or FAIL XML).
 */

/** The port's refusal for a v2 refusal code (the same words: they are the recorded verdicts). */
function refusalOf(err: WxPayError): NotifyRefusal {
  return err.code as NotifyRefusal;
}

export async function readV2PaymentNotify(raw: Buffer, merchant: WxMerchant): Promise<NotifyReading<PaidNews>> {
  // parsed ONCE, by the flat bounded parser; the fields of a refused body are named in the record
  // but never trusted
  let fields: Record<string, string> | undefined;
  try {
    fields = parseXmlSync(raw, NOTIFY_XML_OPTIONS);
    const notice = await parsePaymentNotify(fields, merchant);
    return {
      kind: 'news',
      news: { outTradeNo: notice.outTradeNo, transactionId: notice.transactionId, totalFee: notice.totalFee, paidAt: parseBeijingTime(notice.timeEnd) },
      outTradeNo: notice.outTradeNo,
      transactionId: notice.transactionId,
      summary: undefined,
    };
  } catch (err) {
    if (!(err instanceof WxPayError)) throw err;
    return {
      kind: 'refused',
      verdict: refusalOf(err),
      message: err.message,
      verified: !(err instanceof WxXmlError || err instanceof WxSignatureError),
      claimed: { outTradeNo: fields?.out_trade_no, transactionId: fields?.transaction_id },
    };
  }
}

function summary(notice: V2RefundNotice): string {
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

export async function readV2RefundNotify(raw: Buffer, merchant: WxMerchant): Promise<NotifyReading<RefundNotice>> {
  try {
    const notice = await parseRefundNotify(raw, merchant);
    return {
      kind: 'news',
      news: {
        outRefundNo: notice.outRefundNo,
        outTradeNo: notice.outTradeNo,
        transactionId: notice.transactionId,
        refundId: notice.refundId,
        refundFee: notice.refundFee,
        totalFee: notice.totalFee,
        status: notice.refundStatus,
        successTime: parseBeijingForPeople(notice.successTime),
      },
      outTradeNo: notice.outTradeNo,
      transactionId: notice.transactionId,
      summary: summary(notice),
    };
  } catch (err) {
    if (!(err instanceof WxPayError)) throw err;
    // the outer fields carry no trade number; req_info did not open, so nothing inside is trusted,
    // unless req_info opened with our key (only what parseRefundNotify checks after decrypting)
    const verified = err instanceof WxNotifyRejected && err.fields.req_info === undefined && err.fields.out_refund_no !== undefined;
    return { kind: 'refused', verdict: refusalOf(err), message: err.message, verified, claimed: {} };
  }
}

/** WeChat's reply: exactly its SUCCESS XML with 200, or its FAIL XML with the status given. */
export function v2NotifyReply(answer: { ok: true } | { ok: false; status: number; message: string }): NotifyReply {
  if (answer.ok) return { status: 200, contentType: 'text/xml', body: successReply() };
  return { status: answer.status, contentType: 'text/xml', body: failReply(answer.message.slice(0, 120)) };
}
