import crypto from 'node:crypto';
import { parseFen } from './amount';
import {
  WxBusinessError,
  WxDecryptError,
  WxNotifyRejected,
  WxReturnError,
  WxSignatureError,
  WxXmlError,
} from './errors';
import type { Fields, SignType } from './sign';
import { nonceStr, verifySignature } from './sign';
import { buildSignedResponse } from './server';
import { parseBeijingTime } from './time';
import { buildXml, NOTIFY_XML_OPTIONS, parseXml } from './xml';

/** Who we are to WeChat Pay. */
export interface WxMerchant {
  appId: string;
  mchId: string;
  apiKey: string;
  /**
   * The algorithm of what we sign (answers, test notifies). Never used to verify a payment notify:
   * WeChat signs a notify the way its order was made, so a shop that changed WXPAY_SIGN_TYPE still
   * gets yesterday's orders' retries in the old algorithm (see verifyNotifySignature).
   */
  signType?: SignType;
}

export interface PaymentNotice {
  outTradeNo: string;
  transactionId: string;
  /** Integer fen. Compare it with OUR record before marking anything paid. */
  totalFee: number;
  /** Always 'CNY': any other currency is refused. */
  feeType: 'CNY';
  cashFee?: number;
  /** Beijing time, yyyyMMddHHmmss (parseBeijingTime turns it into a Date). */
  timeEnd: string;
  openid?: string;
  bankType?: string;
  tradeType?: string;
  attach?: string;
  appId: string;
  mchId: string;
  /** Every field received, unknown ones included. */
  fields: Readonly<Record<string, string>>;
}

export type RefundStatus = 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';

export interface RefundNotice {
  outTradeNo: string;
  transactionId: string;
  refundId: string;
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
  settlementRefundFee?: number;
  refundStatus: RefundStatus;
  /** 'yyyy-MM-dd HH:mm:ss' Beijing time, as WeChat writes it here. */
  successTime?: string;
  /** WeChat's own spelling of the field: refund_recv_accout. */
  refundRecvAccout?: string;
  refundAccount?: string;
  refundRequestSource?: string;
  appId: string;
  mchId: string;
  /** The decrypted req_info fields. */
  fields: Readonly<Record<string, string>>;
  /** The outer (unsigned) fields. */
  outerFields: Readonly<Record<string, string>>;
}

const SUCCESS_REPLY = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

/** The one body that tells WeChat a notify was received. Send it with HTTP 200 and text/xml, nothing else. */
export function successReply(): string {
  return SUCCESS_REPLY;
}

/** The reply that asks WeChat to deliver the notify again later. */
export function failReply(message: string): string {
  return buildXml({ return_code: 'FAIL', return_msg: message });
}

/** For the simulator: does this reply body acknowledge the notify, as WeChat would judge it? */
export async function isSuccessReply(body: string | Buffer): Promise<boolean> {
  try {
    const fields = await parseXml(body);
    return fields.return_code === 'SUCCESS';
  } catch (err) {
    if (err instanceof WxXmlError) return false;
    throw err;
  }
}

function optional(fields: Record<string, string>, name: string): string | undefined {
  const value = fields[name];
  return value === undefined || value === '' ? undefined : value;
}

function requireFields(fields: Record<string, string>, names: readonly string[], where: string): void {
  const missing = names.filter((name) => optional(fields, name) === undefined);
  if (missing.length > 0) {
    throw new WxNotifyRejected('missing_field', `${where} lacks ${missing.join(', ')}`, fields);
  }
}

function checkMerchant(fields: Record<string, string>, merchant: WxMerchant, where: string): void {
  if (fields.appid !== merchant.appId || fields.mch_id !== merchant.mchId) {
    throw new WxNotifyRejected(
      'wrong_merchant',
      `${where} is for appid=${fields.appid ?? '(none)'} mch_id=${fields.mch_id ?? '(none)'}, not ours ` +
        '(check WXPAY_APPID and WXPAY_MCH_ID, or the notify is forged)',
      fields,
    );
  }
}

function fen(fields: Record<string, string>, name: string, where: string): number {
  const value = parseFen(fields[name]);
  if (value === undefined) {
    throw new WxNotifyRejected('bad_amount', `${where} has ${name}=${JSON.stringify(fields[name])}, not integer fen`, fields);
  }
  return value;
}

function optionalFen(fields: Record<string, string>, name: string, where: string): number | undefined {
  return optional(fields, name) === undefined ? undefined : fen(fields, name, where);
}

/**
 * A payment notify's signature, checked in the algorithm the notify itself uses: its declared
 * `sign_type` when present (either algorithm is keyed with our API key, so a declaration cannot
 * forge anything), else the signature's length (32 hex: MD5, 64: HMAC-SHA256), as WxJava does.
 * Never the configured WXPAY_SIGN_TYPE: WeChat signs a notify the way its order was made.
 */
export function verifyNotifySignature(fields: Record<string, string>, apiKey: string): boolean {
  return verifySignature(fields, apiKey);
}

/**
 * Parses and checks a payment notify (the body as received, before anything else touches it).
 * Order: XML (WxXmlError), a signature over ALL fields in the notify's own algorithm (WxSignatureError), return_code
 * (WxReturnError), appid/mch_id (WxNotifyRejected 'wrong_merchant'), result_code (WxBusinessError),
 * required fields ('missing_field'), integer total_fee/cash_fee ('bad_amount'), fee_type CNY
 * ('bad_fee_type'), time_end ('bad_field'). Every refusal is a WxPayError with a `code`.
 * It does NOT compare total_fee with our record: the caller must, inside its transaction.
 */
export async function parsePaymentNotify(body: string | Buffer | Readonly<Record<string, string>>, merchant: WxMerchant): Promise<PaymentNotice> {
  const where = 'payment notify';
  // the body, or its fields when the caller parsed it already (a webhook parses once)
  const fields = typeof body === 'string' || Buffer.isBuffer(body) ? await parseXml(body, NOTIFY_XML_OPTIONS) : body;
  if (optional(fields, 'sign') === undefined) throw new WxSignatureError('missing', where);
  if (!verifyNotifySignature(fields, merchant.apiKey)) throw new WxSignatureError('mismatch', where);
  if (fields.return_code !== 'SUCCESS') throw new WxReturnError(fields.return_msg ?? '', fields, where);
  checkMerchant(fields, merchant, where);
  if (fields.result_code !== 'SUCCESS') {
    throw new WxBusinessError(fields.err_code ?? '', fields.err_code_des ?? '', fields, where);
  }
  requireFields(fields, ['out_trade_no', 'transaction_id', 'total_fee', 'time_end'], where);
  const totalFee = fen(fields, 'total_fee', where);
  const cashFee = optionalFen(fields, 'cash_fee', where);
  const feeType = optional(fields, 'fee_type') ?? 'CNY';
  if (feeType !== 'CNY') {
    throw new WxNotifyRejected('bad_fee_type', `${where} is in ${feeType}; only CNY is accepted`, fields);
  }
  const timeEnd = fields.time_end as string;
  try {
    parseBeijingTime(timeEnd);
  } catch {
    throw new WxNotifyRejected('bad_field', `${where} has time_end=${JSON.stringify(timeEnd)}, not yyyyMMddHHmmss`, fields);
  }
  return {
    outTradeNo: fields.out_trade_no as string,
    transactionId: fields.transaction_id as string,
    totalFee,
    feeType,
    cashFee,
    timeEnd,
    openid: optional(fields, 'openid'),
    bankType: optional(fields, 'bank_type'),
    tradeType: optional(fields, 'trade_type'),
    attach: optional(fields, 'attach'),
    appId: fields.appid as string,
    mchId: fields.mch_id as string,
    fields,
  };
}

/**
 * A signed payment notify as WeChat would send it, for the simulator and tests. `fields` are laid
 * over defaults (return_code/result_code SUCCESS, our appid/mch_id, a fresh nonce_str, NATIVE, CNY,
 * cash_fee = total_fee); pass `undefined` to drop a default. Like WeChat, no sign_type is added: an
 * HMAC-SHA256 merchant gets a 64-char signature without one.
 */
export function buildPaymentNotify(fields: Fields, merchant: WxMerchant): string {
  // a notify is WeChat's signed SUCCESS envelope with the payment's fields
  return buildSignedResponse(
    {
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      is_subscribe: 'N',
      trade_type: 'NATIVE',
      bank_type: 'OTHERS',
      fee_type: 'CNY',
      cash_fee: fields.total_fee,
      ...fields,
    },
    merchant,
  );
}

/** The AES-256 key of req_info: the 32 ASCII characters of the lower-case hex MD5 of the API key. */
function reqInfoKey(apiKey: string): Buffer {
  if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('apiKey must be a non-empty string');
  return Buffer.from(crypto.createHash('md5').update(apiKey, 'utf8').digest('hex').toLowerCase(), 'ascii');
}

/** base64 -> AES-256-ECB (PKCS#7) with md5hex(apiKey) -> UTF-8 text. Throws WxDecryptError on any failure. */
export function decryptReqInfo(reqInfo: string, apiKey: string): string {
  const key = reqInfoKey(apiKey);
  if (typeof reqInfo !== 'string' || reqInfo.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(reqInfo)) {
    throw new WxDecryptError('req_info is not base64');
  }
  const encrypted = Buffer.from(reqInfo, 'base64');
  if (encrypted.length === 0 || encrypted.length % 16 !== 0) {
    throw new WxDecryptError('req_info is not a whole number of AES blocks');
  }
  let plain: Buffer;
  try {
    const decipher = crypto.createDecipheriv('aes-256-ecb', key, null);
    plain = Buffer.concat([decipher.update(encrypted), decipher.final()]);
  } catch (cause) {
    throw new WxDecryptError('bad padding after decryption', { cause });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch (cause) {
    throw new WxDecryptError('the decrypted bytes are not UTF-8', { cause });
  }
}

/** The inverse of decryptReqInfo, for the simulator and tests. */
export function encryptReqInfo(xml: string, apiKey: string): string {
  const cipher = crypto.createCipheriv('aes-256-ecb', reqInfoKey(apiKey), null);
  return Buffer.concat([cipher.update(xml, 'utf8'), cipher.final()]).toString('base64');
}

const REFUND_STATUSES: readonly string[] = ['SUCCESS', 'CHANGE', 'REFUNDCLOSE'];

/**
 * Parses a refund notify. It has NO signature: authenticity rests on req_info decrypting with our
 * key, and ECB has no MAC, so the caller must also check that the refund is one we asked for.
 * Refusals: WxXmlError, WxReturnError (return_code), WxNotifyRejected ('wrong_merchant',
 * 'missing_field', 'bad_amount', 'bad_field'), WxDecryptError ('bad_req_info').
 */
export async function parseRefundNotify(body: string | Buffer, merchant: WxMerchant): Promise<RefundNotice> {
  const where = 'refund notify';
  const outer = await parseXml(body, NOTIFY_XML_OPTIONS);
  if (outer.return_code !== 'SUCCESS') throw new WxReturnError(outer.return_msg ?? '', outer, where);
  checkMerchant(outer, merchant, where);
  requireFields(outer, ['req_info'], where);
  const text = decryptReqInfo(outer.req_info as string, merchant.apiKey);
  let fields: Record<string, string>;
  try {
    fields = await parseXml(text, { root: 'root' });
  } catch (cause) {
    if (!(cause instanceof WxXmlError)) throw cause;
    throw new WxDecryptError(`the decrypted req_info is not <root> XML: ${cause.message}`, { cause });
  }
  requireFields(
    fields,
    ['out_trade_no', 'transaction_id', 'refund_id', 'out_refund_no', 'total_fee', 'refund_fee', 'refund_status'],
    `${where} req_info`,
  );
  const status = fields.refund_status as string;
  if (!REFUND_STATUSES.includes(status)) {
    throw new WxNotifyRejected('bad_field', `${where} has refund_status=${JSON.stringify(status)}`, fields);
  }
  return {
    outTradeNo: fields.out_trade_no as string,
    transactionId: fields.transaction_id as string,
    refundId: fields.refund_id as string,
    outRefundNo: fields.out_refund_no as string,
    totalFee: fen(fields, 'total_fee', where),
    refundFee: fen(fields, 'refund_fee', where),
    settlementRefundFee: optionalFen(fields, 'settlement_refund_fee', where),
    refundStatus: status as RefundStatus,
    successTime: optional(fields, 'success_time'),
    refundRecvAccout: optional(fields, 'refund_recv_accout'),
    refundAccount: optional(fields, 'refund_account'),
    refundRequestSource: optional(fields, 'refund_request_source'),
    appId: outer.appid as string,
    mchId: outer.mch_id as string,
    fields,
    outerFields: outer,
  };
}

/**
 * A refund notify as WeChat would send it, for the simulator and tests: `inner` becomes the
 * encrypted `<root>` of req_info; `outer` is laid over the outer defaults (pass `undefined` to drop one).
 */
export function buildRefundNotify(inner: Fields, merchant: WxMerchant, outer: Fields = {}): string {
  return buildXml({
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: merchant.appId,
    mch_id: merchant.mchId,
    nonce_str: nonceStr(),
    req_info: encryptReqInfo(buildXml(inner, { root: 'root' }), merchant.apiKey),
    ...outer,
  });
}
