import { ATTACH_MAX_BYTES, BODY_MAX_BYTES, OUT_REFUND_NO, OUT_TRADE_NO } from '../../wechatpay';
import { closeOrder } from '../close-order';
import type { ApiLinks, ApiOutcome, SimContext, SimMerchant } from '../context';
import { findMerchant } from '../merchants';
import type { RefundRow, TradeRow } from '../model';
import { refund } from '../refunds';
import { unifiedOrder } from '../unified-order';
import { v3error, v3noContent, v3ok, type V3Outcome } from './answers';
import { v3Refund, v3Transaction } from './shapes';

/**
 * The v3 API on the simulator's own trades: the same rules as v2 (unified-order.ts, close-order.ts,
 * refunds.ts decide; the same sim_* rows), read from v3's JSON and written as v3's answers. A v2
 * business code becomes v3's HTTP status and code (V3_ERRORS).
 */

const V3_ERRORS: Readonly<Record<string, [number, string]>> = {
  ORDERNOTEXIST: [404, 'ORDER_NOT_EXIST'],
  ORDERPAID: [400, 'ORDER_PAID'],
  ORDERCLOSED: [400, 'ORDER_CLOSED'],
  NOAUTH: [403, 'NO_AUTH'],
  PARAM_ERROR: [400, 'PARAM_ERROR'],
  INVALID_REQUEST: [400, 'INVALID_REQUEST'],
  NOTENOUGH: [403, 'NOT_ENOUGH'],
  FREQUENCY_LIMITED: [429, 'FREQUENCY_LIMITED'],
  SYSTEMERROR: [500, 'SYSTEM_ERROR'],
  ERROR: [400, 'INVALID_REQUEST'],
  TRADE_OVERDUE: [400, 'INVALID_REQUEST'],
  REFUNDNOTEXIST: [404, 'RESOURCE_NOT_EXISTS'],
};

function v3ErrorOf(outcome: Extract<ApiOutcome, { kind: 'business' | 'return_fail' }>): V3Outcome {
  if (outcome.kind === 'return_fail') return v3error(400, 'PARAM_ERROR', outcome.returnMsg);
  // a re-sent out_trade_no with other parameters
  if (outcome.errCode === 'INVALID_REQUEST' && outcome.errCodeDes.startsWith('201')) return v3error(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
  const [status, code] = V3_ERRORS[outcome.errCode] ?? [500, 'SYSTEM_ERROR'];
  return v3error(status, code, outcome.errCodeDes);
}

const paramError = (field: string, message = `${field}参数错误`): V3Outcome => v3error(400, 'PARAM_ERROR', message, { field, location: 'body' });
const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** JSON with sorted keys: the same order parameters however a client orders them. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = obj(v);
  if (o) return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function parseJson(raw: Buffer): Record<string, unknown> | undefined {
  try {
    return obj(JSON.parse(raw.toString('utf8')));
  } catch {
    return undefined;
  }
}

async function merchantOf(ctx: SimContext, mchId: string): Promise<SimMerchant | undefined> {
  return findMerchant(ctx, mchId);
}

export type V3TradeKind = 'native' | 'h5' | 'jsapi';
const TRADE_TYPE_OF: Readonly<Record<V3TradeKind, string>> = { native: 'NATIVE', h5: 'MWEB', jsapi: 'JSAPI' };

/** POST /v3/pay/transactions/{native,h5,jsapi} */
export async function v3Order(ctx: SimContext, mchId: string, kind: V3TradeKind, raw: Buffer, links: ApiLinks): Promise<V3Outcome> {
  const b = parseJson(raw);
  if (!b) return v3error(400, 'PARAM_ERROR', '请求体不是合法的JSON');
  const merchant = await merchantOf(ctx, mchId);
  if (!merchant) return v3error(400, 'PARAM_ERROR', '商户号不存在');
  if (b.mchid !== mchId) return paramError('mchid', 'mchid与请求头中的商户号不一致');
  if (b.appid !== merchant.appId) return v3error(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
  const description = b.description;
  if (typeof description !== 'string' || description === '' || utf8(description) > BODY_MAX_BYTES) return paramError('description');
  const outTradeNo = b.out_trade_no;
  if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo)) return paramError('out_trade_no');
  const notifyUrl = b.notify_url;
  if (typeof notifyUrl !== 'string' || !/^https?:\/\/[^?#]+$/.test(notifyUrl) || notifyUrl.length > 255) return paramError('notify_url');
  const attach = b.attach;
  if (attach !== undefined && (typeof attach !== 'string' || utf8(attach) > ATTACH_MAX_BYTES)) return paramError('attach');
  const amount = obj(b.amount);
  const total = amount?.total;
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 1) return paramError('amount.total');
  if (amount?.currency !== undefined && amount.currency !== 'CNY') return paramError('amount.currency');
  let timeExpire: Date | undefined;
  if (b.time_expire !== undefined) {
    if (typeof b.time_expire !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(b.time_expire)) return paramError('time_expire');
    timeExpire = new Date(b.time_expire);
  }
  const scene = obj(b.scene_info);
  const h5 = obj(scene?.h5_info);
  if (kind === 'h5' && (typeof scene?.payer_client_ip !== 'string' || h5?.type === undefined)) return paramError('scene_info');
  const openid = obj(b.payer)?.openid;
  if (kind === 'jsapi' && typeof openid !== 'string') return paramError('payer.openid');
  const outcome = await unifiedOrder(
    ctx,
    merchant,
    'HMAC-SHA256',
    {
      body: description,
      outTradeNo,
      totalFee: total,
      spbillCreateIp: typeof scene?.payer_client_ip === 'string' ? scene.payer_client_ip : '127.0.0.1',
      notifyUrl,
      tradeType: TRADE_TYPE_OF[kind],
      productId: undefined,
      openid: typeof openid === 'string' ? openid : undefined,
      wapUrl: typeof h5?.app_url === 'string' ? h5.app_url : undefined,
      attach: typeof attach === 'string' ? attach : undefined,
      deviceInfo: undefined,
      timeStart: undefined,
      timeExpire,
      // the order as sent, and (H5) the site in v2's shape: the cashier checks the payer comes from its domain
      orderParams: { v3: canonical({ ...b, kind }), ...(kind === 'h5' ? { scene_info: JSON.stringify({ h5_info: { type: 'Wap', wap_url: h5?.app_url, wap_name: h5?.app_name } }) } : {}) },
      apiVersion: 'v3',
    },
    links,
  );
  if (outcome.kind !== 'ok') return outcome.kind === 'bill' ? v3error(500, 'SYSTEM_ERROR', 'unexpected') : v3ErrorOf(outcome);
  const f = outcome.fields;
  if (kind === 'native') return v3ok({ code_url: String(f.code_url) });
  if (kind === 'h5') return v3ok({ h5_url: String(f.mweb_url) });
  return v3ok({ prepay_id: String(f.prepay_id) });
}

/** GET /v3/pay/transactions/out-trade-no/{no}?mchid= */
export async function v3Query(ctx: SimContext, mchId: string, outTradeNo: string, queryMchId: unknown): Promise<V3Outcome> {
  if (queryMchId !== mchId) return v3error(400, 'PARAM_ERROR', 'mchid与请求头中的商户号不一致', { field: 'mchid', location: 'query' });
  const trade = (await ctx.knex('sim_trades').where({ mch_id: mchId, out_trade_no: outTradeNo }).first()) as TradeRow | undefined;
  if (!trade) return v3error(404, 'ORDER_NOT_EXIST', '订单不存在');
  return v3ok(v3Transaction(trade));
}

/** POST /v3/pay/transactions/out-trade-no/{no}/close: 204, repeatable; no 5-minute refusal (v3 only advises waiting). */
export async function v3Close(ctx: SimContext, mchId: string, outTradeNo: string, raw: Buffer): Promise<V3Outcome> {
  const b = parseJson(raw);
  if (!b || b.mchid !== mchId) return paramError('mchid');
  const merchant = await merchantOf(ctx, mchId);
  if (!merchant) return v3error(400, 'PARAM_ERROR', '商户号不存在');
  const outcome = await closeOrder(ctx, merchant, outTradeNo, { notBeforeMs: 0 });
  if (outcome.kind === 'ok' || (outcome.kind === 'business' && outcome.errCode === 'ORDERCLOSED')) return v3noContent();
  return outcome.kind === 'bill' ? v3error(500, 'SYSTEM_ERROR', 'unexpected') : v3ErrorOf(outcome);
}

async function refundRow(ctx: SimContext, mchId: string, outRefundNo: string): Promise<{ trade: TradeRow; refund: RefundRow } | undefined> {
  const r = (await ctx.knex('sim_refunds').where({ mch_id: mchId, out_refund_no: outRefundNo }).first()) as RefundRow | undefined;
  if (!r) return undefined;
  const trade = (await ctx.knex('sim_trades').where({ id: r.trade_id }).first()) as TradeRow;
  return { trade, refund: r };
}

/** POST /v3/refund/domestic/refunds */
export async function v3RefundCreate(ctx: SimContext, mchId: string, raw: Buffer): Promise<V3Outcome> {
  const b = parseJson(raw);
  if (!b) return v3error(400, 'PARAM_ERROR', '请求体不是合法的JSON');
  const merchant = await merchantOf(ctx, mchId);
  if (!merchant) return v3error(400, 'PARAM_ERROR', '商户号不存在');
  const outTradeNo = b.out_trade_no;
  const outRefundNo = b.out_refund_no;
  if (typeof outTradeNo !== 'string' || !OUT_TRADE_NO.test(outTradeNo)) return paramError('out_trade_no');
  if (typeof outRefundNo !== 'string' || !OUT_REFUND_NO.test(outRefundNo)) return paramError('out_refund_no');
  const amount = obj(b.amount);
  const refundFee = amount?.refund;
  const totalFee = amount?.total;
  if (typeof refundFee !== 'number' || !Number.isSafeInteger(refundFee) || refundFee < 1) return paramError('amount.refund');
  if (typeof totalFee !== 'number' || !Number.isSafeInteger(totalFee) || totalFee < 1) return paramError('amount.total');
  if (amount?.currency !== 'CNY') return paramError('amount.currency');
  const notifyUrl = typeof b.notify_url === 'string' ? b.notify_url : undefined;
  const outcome = await refund(ctx, merchant, { outTradeNo, outRefundNo, totalFee, refundFee, refundDesc: typeof b.reason === 'string' ? b.reason : undefined, notifyUrl });
  if (outcome.kind !== 'ok') return outcome.kind === 'bill' ? v3error(500, 'SYSTEM_ERROR', 'unexpected') : v3ErrorOf(outcome);
  const found = await refundRow(ctx, mchId, outRefundNo);
  if (!found) return v3error(500, 'SYSTEM_ERROR', '系统错误');
  return v3ok(v3Refund(found.trade, found.refund));
}

/** GET /v3/refund/domestic/refunds/{out_refund_no} */
export async function v3RefundQuery(ctx: SimContext, mchId: string, outRefundNo: string): Promise<V3Outcome> {
  const found = await refundRow(ctx, mchId, outRefundNo);
  if (!found) return v3error(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
  return v3ok(v3Refund(found.trade, found.refund));
}
