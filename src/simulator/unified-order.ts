import type { Knex } from 'knex';
import type { SignType } from '../wechatpay';
import { business, ok, type ApiLinks, type ApiOutcome, type SimContext, type SimMerchant } from './context';
import { codeUrlOf, newCodeToken, newPhoneToken, newPrepayId } from './ids';
import { isPaid, lockTrade, type TradeRow } from './model';
import { sameOrderParams, type UnifiedOrderParams } from './requests';

/**
 * unifiedorder (统一下单): makes a trade, or answers the one a re-send names. The trade's rules
 * (what is made, renewed or refused) come first; unifiedOrderAnswer writes them as v2's fields.
 */

/** A code_url (prepay_id) lives 2 hours, or until time_expire when that is sooner. */
export const CODE_URL_TTL_MS = 2 * 60 * 60 * 1000;
/** WeChat refuses a time_expire closer than this to the order's creation ("刷卡至少1分钟，其他5分钟": NATIVE is 5). */
export const MIN_TIME_EXPIRE_MS = 5 * 60 * 1000;

/** What this simulator's merchant may order: a QR code, H5 in a phone's browser, JSAPI in WeChat's (APP is NOAUTH). */
const SUPPORTED_TRADE_TYPES: readonly string[] = ['NATIVE', 'MWEB', 'JSAPI'];

function codeExpiry(now: Date, timeExpire: Date | null | undefined): Date {
  const twoHours = now.getTime() + CODE_URL_TTL_MS;
  return new Date(timeExpire ? Math.min(twoHours, timeExpire.getTime()) : twoHours);
}

/** The H5 cashier of a trade (WeChat's is https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=...&package=...). */
export function mwebUrlOf(trade: Pick<TradeRow, 'prepay_id' | 'code_token'>, links: ApiLinks): string {
  return `${links.base}/h5pay/checkmweb?prepay_id=${trade.prepay_id}&package=${trade.code_token}`;
}

/** v2's answer: the prepay_id, and the way to pay it that the trade type calls for. */
function unifiedOrderAnswer(trade: TradeRow, links: ApiLinks): ApiOutcome {
  return ok({
    device_info: trade.device_info ?? undefined,
    trade_type: trade.trade_type,
    prepay_id: trade.prepay_id,
    // a QR code for NATIVE, the H5 cashier for MWEB; JSAPI gets the prepay_id alone
    code_url: trade.trade_type === 'NATIVE' ? codeUrlOf(trade.code_token) : undefined,
    mweb_url: trade.trade_type === 'MWEB' ? mwebUrlOf(trade, links) : undefined,
  });
}

async function insertTrade(trx: Knex.Transaction, merchant: SimMerchant, signType: SignType, p: UnifiedOrderParams, now: Date): Promise<TradeRow | undefined> {
  const rows = (await trx('sim_trades')
    .insert({
      mch_id: merchant.mchId,
      appid: merchant.appId,
      out_trade_no: p.outTradeNo,
      sign_type: signType,
      trade_type: p.tradeType,
      body: p.body,
      attach: p.attach ?? null,
      total_fee: p.totalFee,
      fee_type: 'CNY',
      spbill_create_ip: p.spbillCreateIp,
      notify_url: p.notifyUrl,
      product_id: p.productId ?? null,
      device_info: p.deviceInfo ?? null,
      // JSAPI: the payer the order is for (other trade types learn theirs when paid)
      openid: p.tradeType === 'JSAPI' ? (p.openid ?? null) : null,
      order_params: JSON.stringify(p.orderParams),
      time_start: p.timeStart ?? null,
      time_expire: p.timeExpire ?? null,
      prepay_id: newPrepayId(now),
      code_token: newCodeToken(),
      code_expires_at: codeExpiry(now, p.timeExpire),
      phone_token: newPhoneToken(),
      trade_state: 'NOTPAY',
      api_version: p.apiVersion ?? 'v2',
      created_at: now,
      updated_at: now,
    })
    // a concurrent creator of the same out_trade_no (or, rarely, a random token taken already)
    .onConflict()
    .ignore()
    .returning('*')) as TradeRow[];
  return rows[0];
}

/** A code token no trade holds (7 random alphanumerics: a collision is a once-in-trillions event). */
async function freeCodeToken(trx: Knex.Transaction): Promise<string> {
  for (;;) {
    const token = newCodeToken();
    if (!(await trx('sim_trades').where({ code_token: token }).first('id'))) return token;
  }
}

/**
 * unifiedorder. A new out_trade_no makes a NOTPAY trade with a prepay_id and a code_url. A re-send
 * with the same order parameters gives the same prepay_id/code_url while it lives, a new one after
 * 2 hours (while time_expire has not passed); other parameters are "201 商户订单号重复". Paid:
 * ORDERPAID; closed or past time_expire: ORDERCLOSED. Idempotent per (mch_id, out_trade_no).
 */
export async function unifiedOrder(ctx: SimContext, merchant: SimMerchant, signType: SignType, p: UnifiedOrderParams, links: ApiLinks): Promise<ApiOutcome> {
  if (!SUPPORTED_TRADE_TYPES.includes(p.tradeType)) return business('NOAUTH', '商户无此接口权限');
  // JSAPI pays for the WeChat user the Official Account's web authorization named for this AppID
  if (p.tradeType === 'JSAPI' && !(await ctx.knex('sim_openids').where({ appid: merchant.appId, openid: p.openid ?? '' }).first('openid'))) {
    return business('PARAM_ERROR', 'appid和openid不匹配');
  }
  const now = ctx.clock();
  return ctx.knex.transaction(async (trx) => {
    let trade = await lockTrade(trx, merchant.mchId, { outTradeNo: p.outTradeNo });
    if (!trade) {
      if (p.timeExpire && p.timeExpire.getTime() < now.getTime() + MIN_TIME_EXPIRE_MS) {
        return business('INVALID_REQUEST', 'time_expire时间过短，刷卡至少1分钟，其他5分钟');
      }
      for (let tries = 0; tries < 5 && !trade; tries++) {
        const created = await insertTrade(trx, merchant, signType, p, now);
        if (created) return unifiedOrderAnswer(created, links);
        trade = await lockTrade(trx, merchant.mchId, { outTradeNo: p.outTradeNo });
      }
      if (!trade) throw new Error('could not create a trade: random tokens kept colliding');
    }
    if (isPaid(trade.trade_state)) return business('ORDERPAID', '该订单已支付');
    if (trade.trade_state === 'CLOSED') return business('ORDERCLOSED', '订单已关闭');
    if (!sameOrderParams(trade.order_params, p.orderParams)) return business('INVALID_REQUEST', '201 商户订单号重复');
    if (trade.time_expire && now.getTime() >= trade.time_expire.getTime()) return business('ORDERCLOSED', '订单已关闭');
    // H5: the cashier compares the payer's address with the latest unifiedorder's
    if (trade.trade_type === 'MWEB' && trade.spbill_create_ip !== p.spbillCreateIp) {
      [trade] = (await trx('sim_trades').where({ id: trade.id }).update({ spbill_create_ip: p.spbillCreateIp, updated_at: now }).returning('*')) as TradeRow[];
      if (!trade) throw new Error('trade vanished while locked');
    }
    if (now.getTime() < trade.code_expires_at.getTime()) return unifiedOrderAnswer(trade, links);
    // the prepay_id lived its 2 hours: WeChat issues a new one for the same order
    const [renewed] = (await trx('sim_trades')
      .where({ id: trade.id })
      .update({ prepay_id: newPrepayId(now), code_token: await freeCodeToken(trx), code_expires_at: codeExpiry(now, trade.time_expire), updated_at: now })
      .returning('*')) as TradeRow[];
    if (renewed) return unifiedOrderAnswer(renewed, links);
    throw new Error(`trade ${trade.id} vanished while locked`);
  });
}
