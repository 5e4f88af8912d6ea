import zlib from 'node:zlib';
import {
  RETURN_MSG,
  WxXmlError,
  buildBusinessErrorResponse,
  buildSignedResponse,
  buildXml,
  isSignType,
  parseXml,
  verifySignature,
  type WxMerchant,
} from '../wechatpay';
import { downloadBill } from './bill';
import { closeOrder } from './close-order';
import { returnFail, type ApiLinks, type ApiName, type ApiOutcome, type SignedRequest, type SimContext, type SimMerchant } from './context';
import { takeFault } from './faults';
import { appIdKnown, findMerchant } from './merchants';
import { orderQuery } from './order-query';
import { refund, refundQuery } from './refunds';
import { lackParams, readCloseOrder, readDownloadBill, readOrderQuery, readRefund, readRefundQuery, readUnifiedOrder, type Parsed } from './requests';
import { unifiedOrder } from './unified-order';

/**
 * The WeChat side of the wire: reads a merchant's XML request as WeChat does and writes the answer.
 * Envelope failures are return_code=FAIL with WeChat's return_msg, unsigned:
 *   POST_DATA_EMPTY "post数据为空", NOT_UTF8 "编码格式错误", XML_FORMAT_ERROR "XML格式错误",
 *   LACK_PARAMS "缺少参数: <name>", MCHID_NOT_EXIST "MCHID不存在", APPID_NOT_EXIST "APPID不存在",
 *   APPID_MCHID_NOT_MATCH "appid和mch_id不匹配", SIGNERROR "签名错误" (and "sign_type参数格式错误"),
 *   a malformed field "invalid <name>", REQUIRE_POST_METHOD "请使用post方法".
 * Business answers are return_code=SUCCESS, signed with the merchant's key in the request's sign type.
 */

export const ENVELOPE_MSG = {
  postDataEmpty: 'post数据为空',
  notUtf8: '编码格式错误',
  badXml: RETURN_MSG.badXml,
  mchIdNotExist: 'MCHID不存在',
  appIdNotExist: 'APPID不存在',
  appIdMchIdNotMatch: RETURN_MSG.wrongMerchant,
  badSignature: RETURN_MSG.badSignature,
  badSignType: RETURN_MSG.badSignType,
  requirePost: '请使用post方法',
  systemError: '系统错误',
} as const;

export interface WireAnswer {
  status: number;
  contentType: string;
  body: string | Buffer;
}

const XML_TYPE = 'text/xml; charset=utf-8';

export function returnFailAnswer(returnMsg: string, status = 200): WireAnswer {
  return { status, contentType: XML_TYPE, body: buildXml({ return_code: 'FAIL', return_msg: returnMsg }) };
}

function wxMerchant(m: SimMerchant): WxMerchant {
  return { appId: m.appId, mchId: m.mchId, apiKey: m.apiKey };
}

/** Envelope checks in WeChat's order; a refusal is the return_msg to answer with. */
export async function readEnvelope(ctx: SimContext, raw: unknown): Promise<{ ok: true; request: SignedRequest } | { ok: false; returnMsg: string }> {
  const body = Buffer.isBuffer(raw) ? raw : typeof raw === 'string' ? Buffer.from(raw, 'utf8') : undefined;
  if (body === undefined || body.length === 0) return { ok: false, returnMsg: ENVELOPE_MSG.postDataEmpty };
  let fields: Record<string, string>;
  try {
    fields = await parseXml(body);
  } catch (err) {
    if (!(err instanceof WxXmlError)) throw err;
    if (err.reason === 'empty') return { ok: false, returnMsg: ENVELOPE_MSG.postDataEmpty };
    if (err.reason === 'bad_encoding') return { ok: false, returnMsg: ENVELOPE_MSG.notUtf8 };
    return { ok: false, returnMsg: ENVELOPE_MSG.badXml };
  }
  for (const name of ['appid', 'mch_id']) {
    if (!fields[name]) return { ok: false, returnMsg: lackParams(name) };
  }
  const merchant = await findMerchant(ctx, fields.mch_id as string);
  if (!merchant) return { ok: false, returnMsg: ENVELOPE_MSG.mchIdNotExist };
  if (fields.appid !== merchant.appId) {
    const known = await appIdKnown(ctx.knex, fields.appid as string);
    return { ok: false, returnMsg: known ? ENVELOPE_MSG.appIdMchIdNotMatch : ENVELOPE_MSG.appIdNotExist };
  }
  for (const name of ['nonce_str', 'sign']) {
    if (!fields[name]) return { ok: false, returnMsg: lackParams(name) };
  }
  if ((fields.nonce_str as string).length > 32) return { ok: false, returnMsg: 'invalid nonce_str' };
  const declared = fields.sign_type ? fields.sign_type : 'MD5';
  if (!isSignType(declared)) return { ok: false, returnMsg: ENVELOPE_MSG.badSignType };
  if (!verifySignature(fields, merchant.apiKey, declared)) return { ok: false, returnMsg: ENVELOPE_MSG.badSignature };
  return { ok: true, request: { merchant, signType: declared, fields } };
}

type CallRule = (ctx: SimContext, request: SignedRequest, links: ApiLinks) => Promise<ApiOutcome>;

/** A call: its fields are read (LACK_PARAMS, invalid ...), then a SYSTEMERROR fault may strike, then its rules apply. */
function rule<T>(
  api: ApiName,
  read: (fields: Record<string, string>) => Parsed<T>,
  apply: (ctx: SimContext, request: SignedRequest, params: T, links: ApiLinks) => Promise<ApiOutcome>,
): CallRule {
  return async (ctx, request, links) => {
    const parsed = read(request.fields);
    if (!parsed.ok) return returnFail(parsed.returnMsg);
    const fault = await systemErrorFault(ctx, request, api);
    if (fault) return fault;
    return apply(ctx, request, parsed.value, links);
  };
}

async function systemErrorFault(ctx: SimContext, request: SignedRequest, api: ApiName): Promise<ApiOutcome | undefined> {
  const fault = await ctx.knex.transaction((trx) =>
    takeFault(trx, { mchId: request.merchant.mchId, kind: 'systemerror', api, outTradeNo: request.fields.out_trade_no || undefined }),
  );
  if (!fault) return undefined;
  ctx.logger.info({ fault: fault.id, api, mchId: request.merchant.mchId }, 'simulator fault: SYSTEMERROR');
  // downloadbill has no result_code: its failures are return_code=FAIL
  return api === 'downloadbill' ? returnFail('SYSTEMERROR') : { kind: 'business', errCode: 'SYSTEMERROR', errCodeDes: ENVELOPE_MSG.systemError };
}

const RULES: Readonly<Record<ApiName, CallRule>> = {
  unifiedorder: rule('unifiedorder', readUnifiedOrder, (ctx, r, p, links) => unifiedOrder(ctx, r.merchant, r.signType, p, links)),
  orderquery: rule('orderquery', readOrderQuery, (ctx, r, p) => orderQuery(ctx, r.merchant, p)),
  closeorder: rule('closeorder', readCloseOrder, (ctx, r, p) => closeOrder(ctx, r.merchant, p.outTradeNo)),
  refund: rule('refund', readRefund, (ctx, r, p) => refund(ctx, r.merchant, p)),
  refundquery: rule('refundquery', readRefundQuery, (ctx, r, p) => refundQuery(ctx, r.merchant, p)),
  downloadbill: rule('downloadbill', readDownloadBill, (ctx, r, p) => downloadBill(ctx, r.merchant, p)),
};

function write(outcome: ApiOutcome, request: SignedRequest): WireAnswer {
  const merchant = wxMerchant(request.merchant);
  switch (outcome.kind) {
    case 'ok':
      return { status: 200, contentType: XML_TYPE, body: buildSignedResponse(outcome.fields, merchant, request.signType) };
    case 'business':
      return { status: 200, contentType: XML_TYPE, body: buildBusinessErrorResponse(outcome.errCode, outcome.errCodeDes, merchant, request.signType) };
    case 'return_fail':
      return { status: 200, contentType: XML_TYPE, body: buildXml({ return_code: 'FAIL', return_msg: outcome.returnMsg, ...outcome.extra }) };
    case 'bill':
      return outcome.gzip
        ? { status: 200, contentType: 'application/octet-stream', body: zlib.gzipSync(Buffer.from(outcome.text, 'utf8')) }
        : { status: 200, contentType: 'text/plain; charset=utf-8', body: outcome.text };
  }
}

/** One API call from raw body to answer. */
export async function handleApiCall(ctx: SimContext, api: ApiName, raw: unknown, links: ApiLinks): Promise<WireAnswer> {
  const envelope = await readEnvelope(ctx, raw);
  if (!envelope.ok) return returnFailAnswer(envelope.returnMsg);
  const outcome = await RULES[api](ctx, envelope.request, links);
  return write(outcome, envelope.request);
}
