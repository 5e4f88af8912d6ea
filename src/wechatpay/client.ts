import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { parseFen } from './amount';
import { parseBill } from './bill';
import { bytesText, dateOf, fenOf, notifyUrlOf, oneOf, outRefundNoOf, outTradeNoOf, text } from './client-args';
import {
  WX_PATHS,
  type RefundQueryItem,
  type RefundQueryResult,
  type RefundQueryStatus,
  type TradeState,
  type WxPayClient,
} from './client-types';
import {
  WxArgumentError,
  WxBusinessError,
  WxResponseError,
  WxReturnError,
  WxSignatureError,
  WxXmlError,
} from './errors';
import type { Fields, SignType } from './sign';
import { isSignType, nonceStr, signFields, verifySignature } from './sign';
import { ATTACH_MAX_BYTES, BODY_MAX_BYTES } from './text';
import { fetchBody } from './http';
import { formatBeijingTime, isBeijingDate } from './time';
import { MAX_XML_BYTES, buildXml, parseXml } from './xml';

/**
 * The v2 client over HTTP: createWxPayClient implements WxPayClient (client-types.ts), checking our
 * arguments (client-args.ts) before it sends and WeChat's answers before it believes them.
 */

export const WX_BASE_URL = 'https://api.mch.weixin.qq.com';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** A day's bill of a small shop is kilobytes; this only stops a runaway answer. */
export const DEFAULT_MAX_BILL_BYTES = 64 * 1024 * 1024;

// what WeChat may answer, and what we may ask for: the unions of client-types.ts as lists
const TRADE_STATES: readonly string[] = ['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR', 'ACCEPT'];
const REFUND_QUERY_STATUSES: readonly string[] = ['SUCCESS', 'REFUNDCLOSE', 'PROCESSING', 'CHANGE'];
const TRADE_TYPES: readonly string[] = ['NATIVE', 'JSAPI', 'APP', 'MWEB'];
const BILL_TYPES: readonly string[] = ['ALL', 'SUCCESS', 'REFUND'];

export interface WxPayClientOptions {
  appId: string;
  mchId: string;
  apiKey: string;
  signType: SignType;
  /** https://api.mch.weixin.qq.com in production, the simulator's http:// URL elsewhere. */
  baseUrl: string;
  timeoutMs?: number;
  /** The merchant certificate (p12) for /secapi/pay/refund over https; its passphrase is mch_id. */
  pfx?: Buffer;
  clock?: () => Date;
  maxBillBytes?: number;
}

// ---------------------------------------------------------------------------------------------
// Answers

function optional(fields: Record<string, string>, name: string): string | undefined {
  const value = fields[name];
  return value === undefined || value === '' ? undefined : value;
}

function required(fields: Record<string, string>, name: string, where: string): string {
  const value = optional(fields, name);
  if (value === undefined) throw new WxResponseError(`${where} answered SUCCESS without ${name}`, fields);
  return value;
}

function requiredFen(fields: Record<string, string>, name: string, where: string): number {
  const value = parseFen(required(fields, name, where));
  if (value === undefined) throw new WxResponseError(`${where} answered ${name}=${JSON.stringify(fields[name])}, not integer fen`, fields);
  return value;
}

function optionalFen(fields: Record<string, string>, name: string, where: string): number | undefined {
  return optional(fields, name) === undefined ? undefined : requiredFen(fields, name, where);
}

/**
 * A client for the v2 calls a checkout uses. Every call: a fresh nonce_str, signed with the
 * configured sign type, POSTed as text/xml with a timeout. It throws WxTransportError (no answer),
 * WxXmlError (unreadable answer), WxReturnError (return_code=FAIL), WxSignatureError (answer not
 * signed with our key; checked before result_code), WxBusinessError (result_code=FAIL),
 * WxResponseError (a signed SUCCESS missing what it promises), WxArgumentError (our own bug).
 */
export function createWxPayClient(options: WxPayClientOptions): WxPayClient {
  const { appId, mchId, apiKey, signType } = options;
  if (typeof appId !== 'string' || appId === '') throw new WxArgumentError('appId is required');
  if (typeof mchId !== 'string' || mchId === '') throw new WxArgumentError('mchId is required');
  if (typeof apiKey !== 'string' || apiKey === '') throw new WxArgumentError('apiKey is required');
  if (!isSignType(signType)) throw new WxArgumentError(`signType must be MD5 or HMAC-SHA256, got ${String(signType)}`);
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new WxArgumentError(`baseUrl is not a URL: ${String(options.baseUrl)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new WxArgumentError('baseUrl must be http(s)');
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new WxArgumentError('timeoutMs must be a positive integer');
  const maxBillBytes = options.maxBillBytes ?? DEFAULT_MAX_BILL_BYTES;
  const clock = options.clock ?? (() => new Date());
  // One agent for the certificate: the p12 is parsed once, and its connections are reused.
  const certAgent =
    options.pfx === undefined ? undefined : new https.Agent({ pfx: options.pfx, passphrase: mchId, keepAlive: true });

  function signedRequest(params: Fields): string {
    const fields: Fields = {
      appid: appId,
      mch_id: mchId,
      nonce_str: nonceStr(),
      ...(signType === 'HMAC-SHA256' ? { sign_type: signType } : {}),
      ...params,
    };
    return buildXml(signFields(fields, apiKey, signType));
  }

  function send(path: string, params: Fields, maxBytes: number, tooLarge: () => Error, useCert = false): Promise<Buffer> {
    const url = new URL(baseUrl + path);
    let agent: http.Agent | undefined;
    if (useCert && url.protocol === 'https:') {
      if (certAgent === undefined) {
        throw new WxArgumentError(`${path} over https needs the merchant certificate: pass pfx (the p12 file as a Buffer)`);
      }
      agent = certAgent;
    }
    return fetchBody(url, {
      method: 'POST',
      body: signedRequest(params),
      headers: { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml, text/plain' },
      timeoutMs,
      maxBytes,
      agent,
      tooLarge,
      service: 'WeChat Pay',
      statusHint: ' (check WXPAY_BASE_URL)',
      reachHint: ' (check WXPAY_BASE_URL, the network, and for refunds the merchant certificate)',
    });
  }

  /** return_code, then the signature, and only then result_code: nothing unsigned is believed. */
  function checkAnswer(fields: Record<string, string>, where: string): Record<string, string> {
    if (fields.return_code !== 'SUCCESS') throw new WxReturnError(fields.return_msg ?? '', fields, where);
    if (optional(fields, 'sign') === undefined) throw new WxSignatureError('missing', `the answer of ${where}`);
    if (!verifySignature(fields, apiKey, signType)) throw new WxSignatureError('mismatch', `the answer of ${where}`);
    if (fields.result_code === 'FAIL') throw new WxBusinessError(fields.err_code ?? '', fields.err_code_des ?? '', fields, where);
    if (fields.result_code !== 'SUCCESS') throw new WxResponseError(`${where} answered without result_code`, fields);
    for (const [name, ours] of [['appid', appId], ['mch_id', mchId]] as const) {
      const theirs = optional(fields, name);
      if (theirs !== undefined && theirs !== ours) throw new WxResponseError(`${where} answered for ${name}=${theirs}, not ours`, fields);
    }
    return fields;
  }

  async function call(path: string, params: Fields, useCert = false): Promise<Record<string, string>> {
    const where = `WeChat Pay ${path}`;
    const raw = await send(
      path,
      params,
      MAX_XML_BYTES,
      () => new WxXmlError('too_large', `the answer of ${where} is larger than ${MAX_XML_BYTES} bytes`),
      useCert,
    );
    return checkAnswer(await parseXml(raw), where);
  }

  return {
    async unifiedOrder(args) {
      const tradeType = args.tradeType ?? 'NATIVE';
      if (!TRADE_TYPES.includes(tradeType)) throw new WxArgumentError(`unknown tradeType ${String(tradeType)}`);
      const timeStart = dateOf(args.timeStart, 'timeStart');
      const timeExpire = dateOf(args.timeExpire, 'timeExpire');
      if (timeExpire !== undefined) {
        if (timeExpire.getTime() <= (timeStart ?? clock()).getTime()) {
          throw new WxArgumentError('timeExpire must be later than timeStart (or now): the code_url would be dead on arrival');
        }
      }
      if (!net.isIP(args.spbillCreateIp)) throw new WxArgumentError(`spbillCreateIp must be an IP address, got ${JSON.stringify(args.spbillCreateIp)}`);
      const params: Fields = {
        body: bytesText(args.body, 'body', BODY_MAX_BYTES),
        out_trade_no: outTradeNoOf(args.outTradeNo),
        total_fee: fenOf(args.totalFee, 'totalFee'),
        spbill_create_ip: args.spbillCreateIp,
        notify_url: notifyUrlOf(args.notifyUrl),
        trade_type: tradeType,
        product_id: text(args.productId, 'productId', 32, { optional: tradeType !== 'NATIVE' }),
        attach: args.attach === '' ? undefined : bytesText(args.attach, 'attach', ATTACH_MAX_BYTES, { optional: true }),
        openid: text(args.openid, 'openid', 128, { optional: tradeType !== 'JSAPI' }),
        scene_info: text(args.sceneInfo, 'sceneInfo', 256, { optional: tradeType !== 'MWEB' }),
        time_start: timeStart === undefined ? undefined : formatBeijingTime(timeStart),
        time_expire: timeExpire === undefined ? undefined : formatBeijingTime(timeExpire),
      };
      const where = `WeChat Pay ${WX_PATHS.unifiedOrder}`;
      const fields = await call(WX_PATHS.unifiedOrder, params);
      return {
        prepayId: required(fields, 'prepay_id', where),
        codeUrl: tradeType === 'NATIVE' ? required(fields, 'code_url', where) : (optional(fields, 'code_url') ?? ''),
        mwebUrl: tradeType === 'MWEB' ? required(fields, 'mweb_url', where) : '',
        tradeType: optional(fields, 'trade_type') ?? tradeType,
        fields,
      };
    },

    async orderQuery(ref) {
      const [name, value] = oneOf(ref, ['outTradeNo', 'transactionId'], 'orderQuery');
      const params: Fields = name === 'outTradeNo' ? { out_trade_no: outTradeNoOf(value) } : { transaction_id: value };
      const where = `WeChat Pay ${WX_PATHS.orderQuery}`;
      const fields = await call(WX_PATHS.orderQuery, params);
      const tradeState = required(fields, 'trade_state', where);
      if (!TRADE_STATES.includes(tradeState)) throw new WxResponseError(`${where} answered trade_state=${tradeState}`, fields);
      const outTradeNo = required(fields, 'out_trade_no', where);
      if (name === 'outTradeNo' && outTradeNo !== value) {
        throw new WxResponseError(`${where} answered for out_trade_no=${outTradeNo}, we asked for ${value}`, fields);
      }
      const transactionId = optional(fields, 'transaction_id');
      if (name === 'transactionId' && transactionId !== value) {
        throw new WxResponseError(`${where} answered for transaction_id=${String(transactionId)}, we asked for ${value}`, fields);
      }
      return {
        tradeState: tradeState as TradeState,
        outTradeNo,
        tradeType: optional(fields, 'trade_type'),
        transactionId,
        totalFee: optionalFen(fields, 'total_fee', where),
        cashFee: optionalFen(fields, 'cash_fee', where),
        feeType: optional(fields, 'fee_type'),
        timeEnd: optional(fields, 'time_end'),
        attach: optional(fields, 'attach'),
        openid: optional(fields, 'openid'),
        bankType: optional(fields, 'bank_type'),
        tradeStateDesc: optional(fields, 'trade_state_desc'),
        fields,
      };
    },

    async closeOrder(args) {
      await call(WX_PATHS.closeOrder, { out_trade_no: outTradeNoOf(args.outTradeNo) });
    },

    async refund(args) {
      const [name, value] = oneOf(args, ['outTradeNo', 'transactionId'], 'refund');
      const totalFee = fenOf(args.totalFee, 'totalFee');
      const refundFee = fenOf(args.refundFee, 'refundFee');
      if (refundFee > totalFee) throw new WxArgumentError(`refundFee ${refundFee} exceeds totalFee ${totalFee}`);
      const outRefundNo = outRefundNoOf(args.outRefundNo);
      const params: Fields = {
        out_trade_no: name === 'outTradeNo' ? outTradeNoOf(value) : undefined,
        transaction_id: name === 'transactionId' ? value : undefined,
        out_refund_no: outRefundNo,
        total_fee: totalFee,
        refund_fee: refundFee,
        refund_desc: text(args.refundDesc, 'refundDesc', 80, { optional: true }),
        notify_url: args.notifyUrl === undefined ? undefined : notifyUrlOf(args.notifyUrl),
      };
      const where = `WeChat Pay ${WX_PATHS.refund}`;
      const fields = await call(WX_PATHS.refund, params, true);
      const answeredNo = required(fields, 'out_refund_no', where);
      if (answeredNo !== outRefundNo) {
        throw new WxResponseError(`${where} answered for out_refund_no=${answeredNo}, we asked for ${outRefundNo}`, fields);
      }
      return {
        refundId: required(fields, 'refund_id', where),
        outRefundNo,
        refundFee: requiredFen(fields, 'refund_fee', where),
        outTradeNo: optional(fields, 'out_trade_no'),
        transactionId: optional(fields, 'transaction_id'),
        totalFee: optionalFen(fields, 'total_fee', where),
        fields,
      };
    },

    async refundQuery(ref) {
      const [name, value] = oneOf(ref, ['outTradeNo', 'transactionId', 'outRefundNo', 'refundId'], 'refundQuery');
      const offset = 'offset' in ref ? ref.offset : undefined;
      if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) throw new WxArgumentError('offset must be a non-negative integer');
      const params: Fields = {
        out_trade_no: name === 'outTradeNo' ? outTradeNoOf(value) : undefined,
        transaction_id: name === 'transactionId' ? value : undefined,
        out_refund_no: name === 'outRefundNo' ? outRefundNoOf(value) : undefined,
        refund_id: name === 'refundId' ? value : undefined,
        offset,
      };
      const where = `WeChat Pay ${WX_PATHS.refundQuery}`;
      const fields = await call(WX_PATHS.refundQuery, params);
      return { ...readIndexedRefunds(fields, where), fields };
    },

    async downloadBill(args) {
      if (typeof args.billDate !== 'string' || !isBeijingDate(args.billDate)) {
        throw new WxArgumentError(`billDate must be yyyyMMdd, got ${JSON.stringify(args.billDate)}`);
      }
      if (!BILL_TYPES.includes(args.billType)) throw new WxArgumentError(`billType must be ALL, SUCCESS or REFUND`);
      const where = `WeChat Pay ${WX_PATHS.downloadBill}`;
      const raw = await send(
        WX_PATHS.downloadBill,
        { bill_date: args.billDate, bill_type: args.billType },
        maxBillBytes,
        () => new WxResponseError(`${where}: the bill is larger than ${maxBillBytes} bytes (raise maxBillBytes)`),
      );
      let body: string;
      try {
        body = new TextDecoder('utf-8', { fatal: true }).decode(raw);
      } catch {
        throw new WxResponseError(`${where}: the bill is not UTF-8`);
      }
      // The bill itself is unsigned CSV; failures are XML. A leading '<' tells them apart.
      if (body.trimStart().replace(/^\uFEFF/, '').startsWith('<')) {
        checkAnswer(await parseXml(body), where);
        throw new WxResponseError(`${where} answered XML that is neither a bill nor an error`);
      }
      return parseBill(body);
    },
  };
}

/** The answer's `_$n` fields as a list (refund_count of them, from index 0). */
export function readIndexedRefunds(
  fields: Record<string, string>,
  where = 'WeChat Pay /pay/refundquery',
): Omit<RefundQueryResult, 'fields'> {
  const count = parseFen(required(fields, 'refund_count', where));
  if (count === undefined) throw new WxResponseError(`${where} answered refund_count=${JSON.stringify(fields.refund_count)}`, fields);
  const refunds: RefundQueryItem[] = [];
  for (let n = 0; n < count; n++) {
    const refundStatus = required(fields, `refund_status_${n}`, where);
    if (!REFUND_QUERY_STATUSES.includes(refundStatus)) {
      throw new WxResponseError(`${where} answered refund_status_${n}=${refundStatus}`, fields);
    }
    refunds.push({
      outRefundNo: required(fields, `out_refund_no_${n}`, where),
      refundId: required(fields, `refund_id_${n}`, where),
      refundFee: requiredFen(fields, `refund_fee_${n}`, where),
      refundStatus: refundStatus as RefundQueryStatus,
      successTime: optional(fields, `refund_success_time_${n}`),
      refundRecvAccout: optional(fields, `refund_recv_accout_${n}`),
    });
  }
  return {
    refunds,
    totalFee: requiredFen(fields, 'total_fee', where),
    outTradeNo: optional(fields, 'out_trade_no'),
    transactionId: optional(fields, 'transaction_id'),
    totalRefundCount: optionalFen(fields, 'total_refund_count', where),
  };
}
