import { markPaid, paymentNeedsAdmin, type MarkPaidOutcome } from '../ledger';
import { failReply, NOTIFY_XML_OPTIONS, parsePaymentNotify, parseXmlSync, successReply, WxPayError, WxSignatureError, WxXmlError } from '../wechatpay';
import { parseBeijingTime } from '../wechatpay/time';
import { recordNotify, refusalStatus, type NotifyAnswer, type WebhookDeps } from './notify-log';

const ANSWER_BY_OUTCOME: Record<MarkPaidOutcome, { status: number; reply: string | undefined }> = {
  paid: { status: 200, reply: undefined },
  late_payment: { status: 200, reply: undefined },
  double_payment: { status: 200, reply: undefined },
  duplicate: { status: 200, reply: undefined },
  // kept for the admin; WeChat retrying for a day would change nothing
  conflict: { status: 200, reply: undefined },
  amount_mismatch: { status: 409, reply: 'amount does not match the order' },
  unknown_trade: { status: 404, reply: 'unknown out_trade_no' },
};

/**
 * WeChat's payment notify, end to end: verify (signature over all fields, return/result codes,
 * our merchant, integer CNY amount), settle through markPaid (which compares the amount with our
 * record under a row lock), record the call in notify_log, and answer SUCCESS only once the state
 * is durably stored or already was. The common cases (paid, duplicate) store their notify_log row
 * in markPaid's own statement; the rest in a write of their own. A database failure answers 500
 * with FAIL so WeChat retries.
 */
export async function handlePaymentNotify(deps: WebhookDeps, raw: Buffer, source?: string): Promise<NotifyAnswer> {
  const receivedAt = deps.clock();
  const text = raw.toString('utf8');
  // parsed ONCE, by the flat bounded parser; the fields of a refused body are named in the record
  // but never trusted (the record of an unverified one is counted, not repeated: notify-log.ts)
  let fields: Record<string, string> | undefined;
  let notice;
  try {
    fields = parseXmlSync(raw, NOTIFY_XML_OPTIONS);
    notice = await parsePaymentNotify(fields, deps.merchant);
  } catch (err) {
    if (!(err instanceof WxPayError)) throw err;
    const answer = { status: refusalStatus(err.code), body: failReply(err.message.slice(0, 120)), verdict: err.code };
    const verified = !(err instanceof WxXmlError || err instanceof WxSignatureError);
    await recordNotify(deps.knex, {
      kind: 'pay',
      refused: true,
      verified,
      source,
      outTradeNo: fields?.out_trade_no,
      transactionId: fields?.transaction_id,
      verdict: err.code,
      detail: err.message,
      rawBody: text,
      receivedAt,
    }).catch((logErr: unknown) => deps.logger.error({ err: logErr }, 'could not record a refused notify'));
    return answer;
  }

  let outcome: MarkPaidOutcome;
  let recorded: boolean;
  try {
    const result = await markPaid(
      deps.knex,
      { outTradeNo: notice.outTradeNo, transactionId: notice.transactionId, totalFee: notice.totalFee, paidAt: parseBeijingTime(notice.timeEnd), source: 'notify', now: receivedAt },
      { rawBody: text, source, receivedAt },
    );
    outcome = result.outcome;
    recorded = result.recorded;
  } catch (err) {
    deps.logger.error({ err, outTradeNo: notice.outTradeNo }, 'notify could not be settled; WeChat will retry');
    await recordNotify(deps.knex, { kind: 'pay', source, outTradeNo: notice.outTradeNo, transactionId: notice.transactionId, verdict: 'error', detail: String(err), rawBody: text, receivedAt }).catch(
      () => undefined,
    );
    return { status: 500, body: failReply('temporarily unable to store the payment'), verdict: 'error' };
  }

  const { status, reply } = ANSWER_BY_OUTCOME[outcome];
  if (!recorded) {
    await recordNotify(deps.knex, { kind: 'pay', source, outTradeNo: notice.outTradeNo, transactionId: notice.transactionId, verdict: outcome, detail: reply, rawBody: text, receivedAt }).catch(
      (err: unknown) => deps.logger.error({ err, outTradeNo: notice.outTradeNo }, 'could not record a notify'),
    );
  }
  if (paymentNeedsAdmin(outcome)) deps.logger.warn({ outTradeNo: notice.outTradeNo, outcome }, 'payment needs an admin');
  return { status, body: reply === undefined ? successReply() : failReply(reply), verdict: outcome };
}
