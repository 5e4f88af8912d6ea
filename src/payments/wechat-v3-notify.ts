import type { PaidNews } from '../ledger';
import type { WechatKeyring} from '../wechatpay/v3';
import { WxV3DecryptError, WxV3SignatureError, decryptResource, verifyWechatSignature, type EncryptedResource } from '../wechatpay/v3';
import type { NotifyReading, NotifyReply, RefundNotice, ProviderRefundStatus } from './port';

/**
 * WeChat Pay APIv3's notifies read for the port: the signature over the raw body verified first
 * (one serial->key lookup, 300 s, SIGNTEST probes refused), then the JSON read and its resource
 * decrypted with the APIv3 key, then the plaintext checked against our merchant; the reply WeChat
 * wants is 204 taken, or 4xx/5xx with {"code":"FAIL","message"}.
 */

export interface V3NotifyMerchant {
  appId: string;
  mchId: string;
  apiV3Key: string;
  keyring: WechatKeyring;
  clock: () => Date;
}

interface Envelope {
  id?: unknown;
  event_type?: unknown;
  resource?: EncryptedResource;
}

type Refused = Extract<NotifyReading<never>, { kind: 'refused' }>;
const refused = (verdict: Refused['verdict'], message: string, verified: boolean, claimed: Refused['claimed'] = {}): Refused => ({ kind: 'refused', verdict, message, verified, claimed });

/** Verified, parsed and decrypted: the plaintext object, or the refusal. */
function open(headers: Readonly<Record<string, string | string[] | undefined>>, raw: Buffer, m: V3NotifyMerchant, originalType: string): { eventType: string; plain: Record<string, unknown> } | Refused {
  try {
    verifyWechatSignature(headers, raw, m.keyring, m.clock());
  } catch (err) {
    if (!(err instanceof WxV3SignatureError)) throw err;
    return refused(err.reason === 'missing_header' ? 'missing_signature' : 'bad_signature', err.message, false);
  }
  let envelope: Envelope;
  try {
    envelope = JSON.parse(raw.toString('utf8')) as Envelope;
  } catch {
    return refused('bad_body', 'the notify body is not JSON', true);
  }
  const resource = envelope.resource;
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.event_type !== 'string' || typeof resource !== 'object' || resource === null) {
    return refused('bad_body', 'the notify has no event_type or resource', true);
  }
  if (resource.original_type !== undefined && resource.original_type !== originalType) return refused('bad_body', `a ${String(resource.original_type)} notify at the ${originalType} notify URL`, true);
  let text: string;
  try {
    text = decryptResource(resource, m.apiV3Key);
  } catch (err) {
    if (!(err instanceof WxV3DecryptError)) throw err;
    return refused('bad_resource', err.message, true);
  }
  try {
    const plain = JSON.parse(text) as unknown;
    if (typeof plain !== 'object' || plain === null) throw new Error('not an object');
    return { eventType: envelope.event_type, plain: plain as Record<string, unknown> };
  } catch {
    return refused('bad_resource', 'the decrypted resource is not a JSON object', true);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const fen = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});

/** An RFC 3339 time with its offset (2026-12-07T18:30:00+08:00); undefined when it is not one. */
export function parseRfc3339(v: unknown): Date | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v)) return undefined;
  const at = new Date(v);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export function readV3PaymentNotify(headers: Readonly<Record<string, string | string[] | undefined>>, raw: Buffer, m: V3NotifyMerchant): NotifyReading<PaidNews> {
  const opened = open(headers, raw, m, 'transaction');
  if ('kind' in opened) return opened;
  const p = opened.plain;
  const claimed = { outTradeNo: str(p.out_trade_no), transactionId: str(p.transaction_id) };
  if (p.mchid !== m.mchId || p.appid !== m.appId) return refused('wrong_merchant', `for merchant ${String(p.mchid)} / ${String(p.appid)}, not ours`, true, claimed);
  if (opened.eventType !== 'TRANSACTION.SUCCESS' || p.trade_state !== 'SUCCESS') return refused('not_success', `event ${opened.eventType}, trade_state ${String(p.trade_state)}`, true, claimed);
  const amount = obj(p.amount);
  const total = fen(amount.total);
  const paidAt = parseRfc3339(p.success_time);
  if (!claimed.outTradeNo || !claimed.transactionId || !paidAt) return refused('missing_field', 'out_trade_no, transaction_id or success_time is missing', true, claimed);
  if (total === undefined || total < 1) return refused('bad_amount', `amount.total ${JSON.stringify(amount.total)} is not a sum in fen`, true, claimed);
  if (amount.currency !== undefined && amount.currency !== 'CNY') return refused('bad_fee_type', `currency ${String(amount.currency)}`, true, claimed);
  return {
    kind: 'news',
    news: { outTradeNo: claimed.outTradeNo, transactionId: claimed.transactionId, totalFee: total, paidAt },
    outTradeNo: claimed.outTradeNo,
    transactionId: claimed.transactionId,
    summary: undefined,
  };
}

/** v3's refund states in the shop's vocabulary (refunds.status keeps v2's words). */
export const REFUND_STATUS_OF_V3: Readonly<Record<string, ProviderRefundStatus>> = { PROCESSING: 'PROCESSING', SUCCESS: 'SUCCESS', CLOSED: 'REFUNDCLOSE', ABNORMAL: 'CHANGE' };

export function readV3RefundNotify(headers: Readonly<Record<string, string | string[] | undefined>>, raw: Buffer, m: V3NotifyMerchant): NotifyReading<RefundNotice> {
  const opened = open(headers, raw, m, 'refund');
  if ('kind' in opened) return opened;
  const p = opened.plain;
  const claimed = { outTradeNo: str(p.out_trade_no), transactionId: str(p.transaction_id) };
  if (p.mchid !== m.mchId) return refused('wrong_merchant', `for merchant ${String(p.mchid)}, not ours`, true, claimed);
  const status = REFUND_STATUS_OF_V3[String(p.refund_status)];
  const amount = obj(p.amount);
  const outRefundNo = str(p.out_refund_no);
  const refundId = str(p.refund_id);
  const refundFee = fen(amount.refund);
  const totalFee = fen(amount.total);
  if (!status || status === 'PROCESSING') return refused('bad_field', `refund_status ${JSON.stringify(p.refund_status)} is not an outcome`, true, claimed);
  if (!outRefundNo || !refundId || !claimed.outTradeNo) return refused('missing_field', 'out_refund_no, refund_id or out_trade_no is missing', true, claimed);
  if (refundFee === undefined || totalFee === undefined) return refused('bad_amount', 'amount.refund or amount.total is not a sum in fen', true, claimed);
  const successTime = parseRfc3339(p.success_time);
  return {
    kind: 'news',
    news: { outRefundNo, outTradeNo: claimed.outTradeNo, transactionId: claimed.transactionId, refundId, refundFee, totalFee, status, successTime },
    outTradeNo: claimed.outTradeNo,
    transactionId: claimed.transactionId,
    summary: `out_refund_no=${outRefundNo} refund_id=${refundId} refund_status=${String(p.refund_status)} refund=${refundFee} total=${totalFee}${successTime ? ` success_time=${String(p.success_time)}` : ''}`,
  };
}

/** WeChat's v3 reply: 204 taken; refused or failed with the status and {"code":"FAIL","message"}. */
export function v3NotifyReply(answer: { ok: true } | { ok: false; status: number; message: string }): NotifyReply {
  if (answer.ok) return { status: 204, contentType: 'application/json', body: '' };
  return { status: answer.status, contentType: 'application/json', body: JSON.stringify({ code: 'FAIL', message: answer.message.slice(0, 120) }) };
}
