import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { checkJsapiPayParams } from '../wechatpay';
import { sameText } from '../timing-safe';
import { checkRsaBridge } from './v3/bridge';
import type { SimContext } from './context';
import { newOpenid } from './ids';
import type { TradeRow } from './model';
import { payTrade, phoneViewOf, type PayOutcome, type PhoneView } from './phone';

/**
 * What WeChat does for shoppers on phones, as this simulator plays it:
 *  - the Official Account's web authorization (snsapi_base): a simulated WeChat user (a cookie of
 *    the simulator's, on this browser) gets one openid per AppID; the authorize page answers with a
 *    code that lives 5 minutes and is good once, exchanged for the openid with the AppSecret;
 *  - the H5 cashier behind mweb_url: it takes the payer only from the shop's registered domain
 *    (the host of scene_info's wap_url, as the Referer says) and from the address the order named
 *    (spbill_create_ip), with WeChat's own sentences otherwise;
 *  - WeixinJSBridge's getBrandWCPayRequest: the page's six fields checked as WeChat checks them
 *    (the second signature, paySign, with the merchant's key), for the WeChat user the order is for.
 */

/** A code of the web authorization lives this long (WeChat: 5 minutes). */
export const OAUTH_CODE_TTL_MS = 5 * 60 * 1000;

/** WeChat's answers of sns/oauth2/access_token, by errcode. */
export const OAUTH_ERRORS = {
  invalidGrantType: { errcode: 40002, errmsg: 'invalid grant_type' },
  invalidAppId: { errcode: 40013, errmsg: 'invalid appid' },
  invalidCode: { errcode: 40029, errmsg: 'invalid code' },
  invalidSecret: { errcode: 40125, errmsg: 'invalid appsecret' },
  codeUsed: { errcode: 40163, errmsg: 'code been used' },
} as const;

/** The simulated WeChat user behind a browser: a random key kept in the simulator's cookie. */
export function newUserKey(): string {
  return crypto.randomBytes(18).toString('base64url');
}

export function isUserKey(value: unknown): value is string {
  return typeof value === 'string' && /^[\w-]{24}$/.test(value);
}

/** This user's openid for this AppID, issued on first sight and the same ever after. */
async function openidOf(knex: Knex, appId: string, userKey: string, now: Date): Promise<string> {
  await knex('sim_openids').insert({ appid: appId, user_key: userKey, openid: newOpenid(), created_at: now }).onConflict(['appid', 'user_key']).ignore();
  const row = (await knex('sim_openids').where({ appid: appId, user_key: userKey }).first('openid')) as { openid: string };
  return row.openid;
}

export type AuthorizeOutcome = { kind: 'redirect'; url: string } | { kind: 'refused'; message: string };

/**
 * The authorize page: appid known, response_type=code, a scope, and a redirect_uri on the domain
 * the Official Account registered (here: the shop's own, the host this page was asked on, or one of
 * `allowedHosts`). Silent for snsapi_base: straight back to redirect_uri with a code and the state.
 */
export async function authorize(
  ctx: SimContext,
  q: { appid: string; redirectUri: string; responseType: string; scope: string; state: string; userKey: string; requestHost: string; allowedHosts: readonly string[] },
): Promise<AuthorizeOutcome> {
  const known = await ctx.knex('sim_merchants').where({ appid: q.appid }).first('appid');
  if (!known) return { kind: 'refused', message: '参数错误：appid 无效 (10003 invalid appid)' };
  if (q.responseType !== 'code') return { kind: 'refused', message: '参数错误：response_type 必须为 code' };
  if (q.scope !== 'snsapi_base' && q.scope !== 'snsapi_userinfo') return { kind: 'refused', message: 'scope 参数错误或没有 scope 权限 (10005)' };
  let redirect: URL;
  try {
    redirect = new URL(q.redirectUri);
  } catch {
    return { kind: 'refused', message: 'redirect_uri 参数错误 (10003)' };
  }
  if ((redirect.protocol !== 'http:' && redirect.protocol !== 'https:') || (redirect.host !== q.requestHost && !q.allowedHosts.includes(redirect.host))) {
    return { kind: 'refused', message: 'redirect_uri 域名与后台配置不一致 (10003)' };
  }
  if (!/^[A-Za-z0-9]{0,128}$/.test(q.state)) return { kind: 'refused', message: 'state 参数错误' };
  const now = ctx.clock();
  const openid = await openidOf(ctx.knex, q.appid, q.userKey, now);
  const code = crypto.randomBytes(24).toString('base64url');
  await ctx.knex('sim_oauth_codes').insert({ code, appid: q.appid, openid, expires_at: new Date(now.getTime() + OAUTH_CODE_TTL_MS), created_at: now });
  redirect.searchParams.set('code', code);
  redirect.searchParams.set('state', q.state);
  return { kind: 'redirect', url: redirect.toString() };
}

export type ExchangeAnswer = { openid: string; access_token: string; expires_in: number; refresh_token: string; scope: string } | { errcode: number; errmsg: string };

/** sns/oauth2/access_token: the code, once, within 5 minutes, for the AppID it was made for, with the AppSecret. */
export async function exchangeCode(ctx: SimContext, q: { appid: string; secret: string; code: string; grantType: string }): Promise<ExchangeAnswer> {
  if (q.grantType !== 'authorization_code') return OAUTH_ERRORS.invalidGrantType;
  const secret = ctx.oaSecrets.get(q.appid);
  if (secret === undefined) return OAUTH_ERRORS.invalidAppId;
  if (!sameText(secret, q.secret)) return OAUTH_ERRORS.invalidSecret;
  const now = ctx.clock();
  return ctx.knex.transaction(async (trx) => {
    const row = (await trx('sim_oauth_codes').where({ code: q.code }).forUpdate().first()) as { appid: string; openid: string; expires_at: Date; used_at: Date | null } | undefined;
    if (!row || row.appid !== q.appid || row.expires_at.getTime() <= now.getTime()) return OAUTH_ERRORS.invalidCode;
    if (row.used_at !== null) return OAUTH_ERRORS.codeUsed;
    await trx('sim_oauth_codes').where({ code: q.code }).update({ used_at: now });
    return { openid: row.openid, access_token: crypto.randomBytes(24).toString('base64url'), expires_in: 7200, refresh_token: crypto.randomBytes(24).toString('base64url'), scope: 'snsapi_base' };
  });
}

// ---- the H5 cashier -------------------------------------------------------------------------

/** WeChat's own sentences on its H5 cashier. */
export const H5_MESSAGES = {
  badParams: '商家参数格式有误，请联系商家解决',
  badNetwork: '网络环境未能通过安全验证，请稍后再试',
  notFound: '订单不存在或已失效',
} as const;

export type CashierOutcome = { kind: 'cashier'; view: PhoneView; redirectUrl: string | undefined } | { kind: 'refused'; message: string; status: number };

async function h5Trade(db: Knex | Knex.Transaction, prepayId: string, pkg: string, lock = false): Promise<TradeRow | undefined> {
  if (!/^\w{1,64}$/.test(prepayId) || !/^\w{1,16}$/.test(pkg)) return undefined;
  const q = db('sim_trades').where({ prepay_id: prepayId, code_token: pkg, trade_type: 'MWEB' });
  return (await (lock ? q.forUpdate().first() : q.first())) as TradeRow | undefined;
}

/** The host the trade's scene_info names (its registered H5 domain), if any. */
function h5Host(trade: TradeRow): string | undefined {
  try {
    const info = JSON.parse(trade.order_params.scene_info ?? '') as { h5_info?: { wap_url?: string } };
    return info.h5_info?.wap_url ? new URL(info.h5_info.wap_url).host : undefined;
  } catch {
    return undefined;
  }
}

/** `url` if it is an http(s) address on `host`, else undefined. */
function onHost(url: string | undefined, host: string | undefined): URL | undefined {
  if (!url || !host) return undefined;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.host === host ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opening mweb_url: the trade must be an H5 one, opened from a page of the registered domain (the
 * Referer's host is the host of scene_info's wap_url), from the address the order named, and a
 * redirect_url, if any, must lead back to that domain (over http or https).
 */
export async function openCashier(ctx: SimContext, q: { prepayId: string; pkg: string; referer: string | undefined; clientIp: string; redirectUrl: string | undefined }): Promise<CashierOutcome> {
  const trade = await h5Trade(ctx.knex, q.prepayId, q.pkg);
  if (!trade) return { kind: 'refused', message: H5_MESSAGES.notFound, status: 404 };
  const host = h5Host(trade);
  if (!onHost(q.referer, host) || (q.redirectUrl !== undefined && !onHost(q.redirectUrl, host))) return { kind: 'refused', message: H5_MESSAGES.badParams, status: 403 };
  if (q.clientIp !== trade.spbill_create_ip) return { kind: 'refused', message: H5_MESSAGES.badNetwork, status: 403 };
  return { kind: 'cashier', view: await phoneViewOf(ctx, trade), redirectUrl: q.redirectUrl };
}

/**
 * Where the cashier may send the payer back after Pay or Cancel: the redirect_url its form carries,
 * only if it leads to the trade's registered domain (over http or https); else nowhere.
 */
export async function cashierReturnUrl(ctx: SimContext, q: { prepayId: string; pkg: string; redirectUrl: string }): Promise<string | undefined> {
  if (q.redirectUrl === '') return undefined;
  const trade = await h5Trade(ctx.knex, q.prepayId, q.pkg);
  return trade ? onHost(q.redirectUrl, h5Host(trade))?.toString() : undefined;
}

/** The cashier's Pay: the same checks (the address, the page's token), then paid. */
export async function payAtCashier(ctx: SimContext, q: { prepayId: string; pkg: string; token: string; clientIp: string }): Promise<PayOutcome> {
  return payTrade(
    ctx,
    (trx) => h5Trade(trx, q.prepayId, q.pkg, true),
    (trade) => sameText(trade.phone_token, q.token) && trade.spbill_create_ip === q.clientIp,
  );
}

// ---- WeixinJSBridge: getBrandWCPayRequest ---------------------------------------------------

export type BridgeAnswer = { err_msg: 'get_brand_wcpay_request:ok' } | { err_msg: 'get_brand_wcpay_request:fail'; err_desc: string };

const fail = (desc: string): BridgeAnswer => ({ err_msg: 'get_brand_wcpay_request:fail', err_desc: desc });

/**
 * The bridge's payment: the six fields checked as WeChat's browser checks them (appId of the
 * trade's merchant, package prepay_id=..., timeStamp in seconds, signType, and paySign the
 * signature of the five others with the merchant's key), the trade a JSAPI one, the WeChat user
 * behind this browser the one it was ordered for; then paid as the phone pays.
 */
export async function payByBridge(ctx: SimContext, params: Record<string, unknown>, userKey: string | undefined): Promise<BridgeAnswer> {
  const prepayId = typeof params.package === 'string' ? /^prepay_id=(\w{1,64})$/.exec(params.package)?.[1] : undefined;
  if (!prepayId) return fail(`package 参数错误: it must be "prepay_id=<prepay_id>" (got ${JSON.stringify(params.package)})`);
  const trade = (await ctx.knex('sim_trades').where({ prepay_id: prepayId }).first()) as TradeRow | undefined;
  if (!trade) return fail('prepay_id 不存在或已过期');
  if (trade.trade_type !== 'JSAPI') return fail(`这笔订单的 trade_type 是 ${trade.trade_type}，不能在微信内支付`);
  if (params.appId !== trade.appid) return fail(`appId 与下单的 appid 不一致 (${String(params.appId)} vs ${trade.appid})`);
  const key = ctx.keys.get(trade.mch_id);
  if (key === undefined) return fail('商户不存在');
  // a v3 trade's bridge is signed with the merchant's private key (signType RSA), a v2 trade's with its key
  const checked = trade.api_version === 'v3' ? checkRsaBridge(ctx.v3.merchants.get(trade.mch_id), params) : checkJsapiPayParams(params, key);
  if (!checked.ok) return fail(checked.message);
  const payer = userKey ? ((await ctx.knex('sim_openids').where({ appid: trade.appid, user_key: userKey }).first('openid')) as { openid: string } | undefined) : undefined;
  if (!payer || payer.openid !== trade.openid) return fail('当前微信用户与下单用户不一致 (the openid of the order is another WeChat user)');
  const outcome = await payTrade(
    ctx,
    (trx) => trx('sim_trades').where({ id: trade.id }).forUpdate().first() as Promise<TradeRow | undefined>,
    () => true,
  );
  if (outcome.kind === 'paid') return { err_msg: 'get_brand_wcpay_request:ok' };
  return fail(outcome.kind === 'refused' ? `订单已${outcome.view.state === 'paid' ? '支付' : '关闭或过期'}` : '订单不存在');
}
