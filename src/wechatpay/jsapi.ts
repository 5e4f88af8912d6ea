import { sameText } from '../timing-safe';
import { isSignType, nonceStr, signatureOf, type SignType } from './sign';

/**
 * JSAPI payment inside WeChat's browser (公众号支付): after unifiedorder (trade_type=JSAPI, the
 * payer's openid) gives a prepay_id, the page calls
 * `WeixinJSBridge.invoke('getBrandWCPayRequest', params, callback)` with the six fields below.
 * `paySign` is the merchant's SECOND signature, made like every v2 signature (fields sorted by
 * name, `&key=` the API key, MD5 or HMAC-SHA256, upper-case hex) but over these five fields with
 * these exact, camel-cased names: appId, timeStamp, nonceStr, package, signType. The classic bugs:
 * signing `appid` (lower case), a timeStamp in milliseconds, `package` without `prepay_id=`, a
 * signType that differs from the algorithm used; each makes the bridge answer
 * `get_brand_wcpay_request:fail` ("支付验证签名失败").
 */
export interface JsapiPayParams {
  appId: string;
  /** seconds since 1970, as a string of digits (10 of them today) */
  timeStamp: string;
  nonceStr: string;
  /** `prepay_id=<prepay_id>` */
  package: string;
  signType: SignType;
  paySign: string;
}

/** The bridge's parameters for a prepay_id, signed with the merchant's API key. */
export function jsapiPayParams(input: { appId: string; prepayId: string; apiKey: string; signType: SignType; now: Date; nonce?: string }): JsapiPayParams {
  if (!/^[\w-]{1,64}$/.test(input.prepayId)) throw new TypeError(`prepayId ${JSON.stringify(input.prepayId)} is not a prepay_id`);
  const unsigned = {
    appId: input.appId,
    timeStamp: String(Math.floor(input.now.getTime() / 1000)),
    nonceStr: input.nonce ?? nonceStr(),
    package: `prepay_id=${input.prepayId}`,
    signType: input.signType,
  };
  return { ...unsigned, paySign: signatureOf(unsigned, input.apiKey, input.signType) };
}

export type JsapiCheck =
  | { ok: true; prepayId: string }
  | { ok: false; reason: 'missing_field' | 'bad_sign_type' | 'bad_package' | 'bad_timestamp' | 'bad_pay_sign'; message: string };

/**
 * How WeChat's bridge checks what a page hands it (the simulator's bridge uses this): every field
 * present, signType one of the two, package `prepay_id=...`, timeStamp in seconds, and paySign the
 * signature of exactly the five other fields with the merchant's key in the named algorithm.
 * Any other field the page passes is not part of the signature (WeChat ignores it).
 */
export function checkJsapiPayParams(given: object, apiKey: string): JsapiCheck {
  const params = given as Readonly<Record<string, unknown>>;
  const names = ['appId', 'timeStamp', 'nonceStr', 'package', 'signType', 'paySign'] as const;
  for (const name of names) {
    if (typeof params[name] !== 'string' || params[name] === '') return { ok: false, reason: 'missing_field', message: `${name} is missing (field names are case-sensitive: appId, timeStamp, nonceStr, package, signType, paySign)` };
  }
  const p = params as Record<(typeof names)[number], string>;
  if (!isSignType(p.signType)) return { ok: false, reason: 'bad_sign_type', message: `signType ${p.signType} is neither MD5 nor HMAC-SHA256` };
  const prepay = /^prepay_id=([\w-]{1,64})$/.exec(p.package);
  if (!prepay) return { ok: false, reason: 'bad_package', message: `package must be "prepay_id=<prepay_id>", got ${JSON.stringify(p.package)}` };
  if (!/^\d{1,10}$/.test(p.timeStamp)) return { ok: false, reason: 'bad_timestamp', message: `timeStamp must be seconds (at most 10 digits), got ${p.timeStamp}` };
  const expected = signatureOf({ appId: p.appId, timeStamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package, signType: p.signType }, apiKey, p.signType);
  if (!sameText(expected, p.paySign)) return { ok: false, reason: 'bad_pay_sign', message: '支付验证签名失败: paySign is not the signature of appId, nonceStr, package, signType, timeStamp with the API key' };
  return { ok: true, prepayId: prepay[1] as string };
}
