import net from 'node:net';
import { ATTACH_MAX_BYTES, BODY_MAX_BYTES, OUT_REFUND_NO, OUT_TRADE_NO, WECHAT_ID, isBeijingDate, parseBeijingTime } from '../wechatpay';

/**
 * Reads the fields of each call as WeChat checks them: a missing field is LACK_PARAMS
 * (return_code=FAIL, return_msg "缺少参数: <name>"), a malformed one return_code=FAIL with
 * "invalid <name>" (WeChat's own wording for e.g. total_fee and spbill_create_ip). No database here.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; returnMsg: string };

class FieldProblem extends Error {}

export const lackParams = (name: string): string => `缺少参数: ${name}`;
export const invalidParam = (name: string): string => `invalid ${name}`;

const TRANSACTION_ID = WECHAT_ID;
const REFUND_ID = WECHAT_ID;
const POSITIVE_INT = /^[1-9]\d{0,14}$/;

function present(fields: Record<string, string>, name: string): string | undefined {
  const value = fields[name];
  return value === undefined || value === '' ? undefined : value;
}

function need(fields: Record<string, string>, name: string): string {
  const value = present(fields, name);
  if (value === undefined) throw new FieldProblem(lackParams(name));
  return value;
}

function check(ok: boolean, name: string): void {
  if (!ok) throw new FieldProblem(invalidParam(name));
}

function maxChars(value: string | undefined, name: string, max: number): void {
  if (value !== undefined) check([...value].length <= max, name);
}

/** WeChat measures body and attach in UTF-8 bytes and answers "<name>参数长度有误" beyond them. */
function maxBytes(value: string | undefined, name: string, max: number): void {
  if (value !== undefined && Buffer.byteLength(value, 'utf8') > max) throw new FieldProblem(`${name}参数长度有误`);
}

function fen(value: string, name: string): number {
  check(POSITIVE_INT.test(value), name);
  return Number(value);
}

function notifyUrl(value: string, name: string): string {
  check(value.length <= 256 && !value.includes('?') && !value.includes('#'), name);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FieldProblem(invalidParam(name));
  }
  check(url.protocol === 'http:' || url.protocol === 'https:', name);
  return value;
}

function beijingTime(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  try {
    return parseBeijingTime(value);
  } catch {
    throw new FieldProblem(invalidParam(name));
  }
}

function run<T>(read: () => T): Parsed<T> {
  try {
    return { ok: true, value: read() };
  } catch (err) {
    if (err instanceof FieldProblem) return { ok: false, returnMsg: err.message };
    throw err;
  }
}

/** The unifiedorder fields a re-send must repeat exactly (anything else is "201 商户订单号重复"). */
export const ORDER_PARAM_NAMES = [
  'body',
  'detail',
  'attach',
  'total_fee',
  'fee_type',
  'trade_type',
  'product_id',
  'openid',
  'time_start',
  'time_expire',
  'goods_tag',
  'limit_pay',
  'receipt',
  'scene_info',
] as const;

export interface UnifiedOrderParams {
  body: string;
  outTradeNo: string;
  totalFee: number;
  spbillCreateIp: string;
  notifyUrl: string;
  tradeType: string;
  productId: string | undefined;
  /** JSAPI: the payer */
  openid: string | undefined;
  /** MWEB: the site from scene_info's h5_info (its host is the H5 domain the cashier checks) */
  wapUrl: string | undefined;
  attach: string | undefined;
  deviceInfo: string | undefined;
  timeStart: Date | undefined;
  timeExpire: Date | undefined;
  /** the ORDER_PARAM_NAMES fields that were sent (fee_type defaulted to CNY) */
  orderParams: Record<string, string>;
  /** the API the order came on (its notifies follow it); v2 unless said */
  apiVersion?: 'v2' | 'v3' | undefined;
}

export function readUnifiedOrder(fields: Record<string, string>): Parsed<UnifiedOrderParams> {
  return run(() => {
    const body = need(fields, 'body');
    const outTradeNo = need(fields, 'out_trade_no');
    const totalFeeText = need(fields, 'total_fee');
    const spbillCreateIp = need(fields, 'spbill_create_ip');
    const notifyUrlText = need(fields, 'notify_url');
    const tradeType = need(fields, 'trade_type');
    const productId = present(fields, 'product_id');
    if (tradeType === 'NATIVE' && productId === undefined) throw new FieldProblem(lackParams('product_id'));
    if (tradeType === 'JSAPI' && present(fields, 'openid') === undefined) throw new FieldProblem(lackParams('openid'));
    // H5 payment names the site it is paid from; WeChat refuses it without scene_info
    const sceneInfo = present(fields, 'scene_info');
    if (tradeType === 'MWEB' && sceneInfo === undefined) throw new FieldProblem(lackParams('scene_info'));
    const wapUrl = sceneInfo === undefined ? undefined : h5WapUrl(sceneInfo);

    maxBytes(body, 'body', BODY_MAX_BYTES);
    check(OUT_TRADE_NO.test(outTradeNo), 'out_trade_no');
    const totalFee = fen(totalFeeText, 'total_fee');
    check(net.isIP(spbillCreateIp) !== 0, 'spbill_create_ip');
    const url = notifyUrl(notifyUrlText, 'notify_url');
    check(['NATIVE', 'JSAPI', 'APP', 'MWEB'].includes(tradeType), 'trade_type');
    maxChars(productId, 'product_id', 32);
    const attach = present(fields, 'attach');
    maxBytes(attach, 'attach', ATTACH_MAX_BYTES);
    const deviceInfo = present(fields, 'device_info');
    maxChars(deviceInfo, 'device_info', 32);
    const feeType = present(fields, 'fee_type');
    check(feeType === undefined || feeType === 'CNY', 'fee_type');
    const timeStart = beijingTime(present(fields, 'time_start'), 'time_start');
    const timeExpire = beijingTime(present(fields, 'time_expire'), 'time_expire');
    if (timeStart !== undefined && timeExpire !== undefined) check(timeExpire.getTime() > timeStart.getTime(), 'time_expire');

    const orderParams: Record<string, string> = {};
    for (const name of ORDER_PARAM_NAMES) {
      const value = present(fields, name);
      if (value !== undefined) orderParams[name] = value;
    }
    orderParams.fee_type ??= 'CNY';
    return {
      body,
      outTradeNo,
      totalFee,
      spbillCreateIp,
      notifyUrl: url,
      tradeType,
      productId,
      openid: present(fields, 'openid'),
      wapUrl,
      attach,
      deviceInfo,
      timeStart,
      timeExpire,
      orderParams,
    };
  });
}

/**
 * scene_info of an H5 payment: `{"h5_info":{"type":"Wap","wap_url":"https://...","wap_name":"..."}}`
 * (or type IOS / Android with app fields). A Wap scene's wap_url must be an http(s) URL: its host
 * is the domain WeChat's cashier accepts the payer from. Anything else is "invalid scene_info".
 */
function h5WapUrl(sceneInfo: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(sceneInfo);
  } catch {
    throw new FieldProblem(invalidParam('scene_info'));
  }
  const h5 = typeof parsed === 'object' && parsed !== null ? (parsed as { h5_info?: unknown }).h5_info : undefined;
  if (typeof h5 !== 'object' || h5 === null) throw new FieldProblem(invalidParam('scene_info'));
  const info = h5 as Record<string, unknown>;
  if (info.type === 'IOS' || info.type === 'Android') return undefined;
  if (info.type !== 'Wap' || typeof info.wap_url !== 'string' || typeof info.wap_name !== 'string') throw new FieldProblem(invalidParam('scene_info'));
  try {
    const url = new URL(info.wap_url);
    check(url.protocol === 'http:' || url.protocol === 'https:', 'scene_info');
  } catch (err) {
    if (err instanceof FieldProblem) throw err;
    throw new FieldProblem(invalidParam('scene_info'));
  }
  return info.wap_url;
}

/** True when two requests' order parameters are the same set with the same values. */
export function sameOrderParams(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keysA = Object.keys(a).sort();
  const keysB = Object.keys(b).sort();
  return keysA.length === keysB.length && keysA.every((key, i) => key === keysB[i] && a[key] === b[key]);
}

/** orderquery and closeorder: transaction_id wins over out_trade_no when both come (WeChat's rule). */
export interface TradeRef {
  transactionId?: string;
  outTradeNo?: string;
}

export function readOrderQuery(fields: Record<string, string>): Parsed<TradeRef> {
  return run(() => {
    const transactionId = present(fields, 'transaction_id');
    const outTradeNo = present(fields, 'out_trade_no');
    if (transactionId === undefined && outTradeNo === undefined) throw new FieldProblem(lackParams('out_trade_no'));
    if (transactionId !== undefined) {
      check(TRANSACTION_ID.test(transactionId), 'transaction_id');
      return { transactionId };
    }
    check(OUT_TRADE_NO.test(outTradeNo as string), 'out_trade_no');
    return { outTradeNo };
  });
}

export function readCloseOrder(fields: Record<string, string>): Parsed<{ outTradeNo: string }> {
  return run(() => {
    const outTradeNo = need(fields, 'out_trade_no');
    check(OUT_TRADE_NO.test(outTradeNo), 'out_trade_no');
    return { outTradeNo };
  });
}

export interface RefundParams extends TradeRef {
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
  refundDesc: string | undefined;
  notifyUrl: string | undefined;
}

export function readRefund(fields: Record<string, string>): Parsed<RefundParams> {
  return run(() => {
    const trade = readOrderQuery(fields);
    if (!trade.ok) throw new FieldProblem(trade.returnMsg);
    const outRefundNo = need(fields, 'out_refund_no');
    const totalFeeText = need(fields, 'total_fee');
    const refundFeeText = need(fields, 'refund_fee');
    check(OUT_REFUND_NO.test(outRefundNo), 'out_refund_no');
    const totalFee = fen(totalFeeText, 'total_fee');
    const refundFee = fen(refundFeeText, 'refund_fee');
    const refundFeeType = present(fields, 'refund_fee_type');
    check(refundFeeType === undefined || refundFeeType === 'CNY', 'refund_fee_type');
    const refundDesc = present(fields, 'refund_desc');
    maxChars(refundDesc, 'refund_desc', 80);
    const url = present(fields, 'notify_url');
    return {
      ...trade.value,
      outRefundNo,
      totalFee,
      refundFee,
      refundDesc,
      notifyUrl: url === undefined ? undefined : notifyUrl(url, 'notify_url'),
    };
  });
}

/** refundquery: one of four references, in WeChat's priority refund_id > out_refund_no > transaction_id > out_trade_no. */
export type RefundQueryParams =
  | { by: 'refund_id'; value: string }
  | { by: 'out_refund_no'; value: string }
  | { by: 'transaction_id' | 'out_trade_no'; value: string; offset: number | undefined };

export function readRefundQuery(fields: Record<string, string>): Parsed<RefundQueryParams> {
  return run((): RefundQueryParams => {
    const refundId = present(fields, 'refund_id');
    const outRefundNo = present(fields, 'out_refund_no');
    const transactionId = present(fields, 'transaction_id');
    const outTradeNo = present(fields, 'out_trade_no');
    const offsetText = present(fields, 'offset');
    let offset: number | undefined;
    if (offsetText !== undefined) {
      check(/^\d{1,6}$/.test(offsetText), 'offset');
      offset = Number(offsetText);
    }
    if (refundId !== undefined) {
      check(REFUND_ID.test(refundId), 'refund_id');
      return { by: 'refund_id', value: refundId };
    }
    if (outRefundNo !== undefined) {
      check(OUT_REFUND_NO.test(outRefundNo), 'out_refund_no');
      return { by: 'out_refund_no', value: outRefundNo };
    }
    if (transactionId !== undefined) {
      check(TRANSACTION_ID.test(transactionId), 'transaction_id');
      return { by: 'transaction_id', value: transactionId, offset };
    }
    if (outTradeNo !== undefined) {
      check(OUT_TRADE_NO.test(outTradeNo), 'out_trade_no');
      return { by: 'out_trade_no', value: outTradeNo, offset };
    }
    throw new FieldProblem(lackParams('out_trade_no'));
  });
}

export type BillType = 'ALL' | 'SUCCESS' | 'REFUND';

export interface BillParams {
  billDate: string;
  billType: BillType;
  gzip: boolean;
}

/** downloadbill speaks its own English return_msg texts ("invalid bill_type", "invalid bill_date"). */
export function readDownloadBill(fields: Record<string, string>): Parsed<BillParams> {
  return run(() => {
    const billDate = need(fields, 'bill_date');
    check(isBeijingDate(billDate), 'bill_date');
    const billType = present(fields, 'bill_type') ?? 'ALL';
    check(billType === 'ALL' || billType === 'SUCCESS' || billType === 'REFUND', 'bill_type');
    const tarType = present(fields, 'tar_type');
    check(tarType === undefined || tarType === 'GZIP', 'tar_type');
    return { billDate, billType: billType as BillType, gzip: tarType === 'GZIP' };
  });
}
