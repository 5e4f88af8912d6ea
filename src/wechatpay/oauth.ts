import { WxPayError, WxTransportError } from './errors';
import { fetchBody } from './http';

/**
 * The Official Account's web authorization (网页授权), as JSAPI payment needs it: the payer's
 * openid for our AppID. Silent `snsapi_base` scope: WeChat's browser goes to the authorize URL and
 * comes straight back to `redirect_uri?code=...&state=...`; the code (single use, 5 minutes) is
 * exchanged server to server, with the Official Account's AppSecret, for the openid.
 * No Express, no database: the shop binds `state` to the session and keeps the openid there.
 */

/** WeChat's hosts; simulator mode points both at the app's /wxsim. */
export const OAUTH_AUTHORIZE_BASE = 'https://open.weixin.qq.com';
export const OAUTH_API_BASE = 'https://api.weixin.qq.com';
/** Where MWEB's mweb_url sends the payer: WeChat's H5 cashier (https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?...). */
export const WX_H5_CASHIER_ORIGIN = 'https://wx.tenpay.com';

/**
 * The authorize URL: parameters in WeChat's order (appid, redirect_uri, response_type, scope,
 * state) and the `#wechat_redirect` WeChat requires at the end. `state` is at most 128 bytes of
 * [A-Za-z0-9].
 */
export function oauthAuthorizeUrl(input: { base?: string; appId: string; redirectUri: string; state: string }): string {
  if (!/^[A-Za-z0-9]{1,128}$/.test(input.state)) throw new TypeError('state must be 1..128 letters and digits (WeChat passes it back as is)');
  const query = [
    `appid=${encodeURIComponent(input.appId)}`,
    `redirect_uri=${encodeURIComponent(input.redirectUri)}`,
    'response_type=code',
    'scope=snsapi_base',
    `state=${input.state}`,
  ].join('&');
  return `${(input.base ?? OAUTH_AUTHORIZE_BASE).replace(/\/+$/, '')}/connect/oauth2/authorize?${query}#wechat_redirect`;
}

/** WeChat refused the code or the AppSecret (errcode: 40029 invalid code, 40163 code been used, 40125 invalid appsecret...). */
export class WxOauthError extends WxPayError {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super('not_success', `sns/oauth2/access_token answered errcode ${errcode}: ${errmsg}${errcode === 40163 ? ' (a code is single use)' : errcode === 40029 ? ' (a code lives 5 minutes)' : errcode === 40125 ? ' (check WXPAY_OA_SECRET)' : ''}`);
    this.name = 'WxOauthError';
  }
}

export interface OauthIdentity {
  openid: string;
  scope: string;
}

const MAX_ANSWER_BYTES = 16 * 1024;

/** code -> openid (GET sns/oauth2/access_token, JSON). Throws WxOauthError for WeChat's refusals, WxTransportError otherwise. */
export async function exchangeOauthCode(input: { base?: string; appId: string; secret: string; code: string; timeoutMs?: number }): Promise<OauthIdentity> {
  if (!/^[\w-]{1,256}$/.test(input.code)) throw new WxOauthError(40029, 'invalid code');
  const url = new URL(`${(input.base ?? OAUTH_API_BASE).replace(/\/+$/, '')}/sns/oauth2/access_token`);
  url.search = new URLSearchParams({ appid: input.appId, secret: input.secret, code: input.code, grant_type: 'authorization_code' }).toString();
  const where = `${url.origin}${url.pathname}`;
  const raw = await fetchBody(url, {
    method: 'GET',
    headers: { Accept: 'application/json' },
    timeoutMs: input.timeoutMs ?? 10_000,
    maxBytes: MAX_ANSWER_BYTES,
    tooLarge: () => new WxTransportError(`the answer from ${where} is larger than ${MAX_ANSWER_BYTES} bytes`),
    service: "WeChat's web authorization",
    statusHint: '',
    reachHint: '',
  });
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new WxTransportError(`${where} did not answer JSON`);
  }
  if (typeof answer.errcode === 'number' && answer.errcode !== 0) throw new WxOauthError(answer.errcode, String(answer.errmsg ?? ''));
  if (typeof answer.openid !== 'string' || !/^[\w-]{1,128}$/.test(answer.openid)) throw new WxTransportError(`${where} answered without an openid`);
  return { openid: answer.openid, scope: typeof answer.scope === 'string' ? answer.scope : '' };
}

/** The code exchange failed on the way (no answer, not JSON, no openid), not by WeChat's refusal: try again later. */
export function isOauthUnreachable(err: unknown): err is WxPayError {
  return err instanceof WxPayError && !(err instanceof WxOauthError);
}
