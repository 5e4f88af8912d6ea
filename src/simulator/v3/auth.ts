import crypto from 'node:crypto';
import { parseAuthorization, requestMessage } from '../../wechatpay/v3';
import { v3error, type V3Outcome } from './answers';
import type { SimV3Merchant, SimV3State } from './state';

/**
 * A v3 request checked as WeChat checks it: Accept and User-Agent present, the Authorization
 * header's signature over METHOD, the path and query exactly as sent (a client pointed at
 * <origin>/wxsim/ signs /wxsim/v3/...), unix seconds, nonce and the raw body, each line ending
 * in "\n", made with the key of the certificate serial it names, within 5 minutes. A refused
 * signature answers 401 SIGN_ERROR with WeChat's echo of what it verified.
 */
export interface V3Request {
  method: string;
  /** the path and query as the client sent them */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  raw: Buffer;
}

const MAX_SKEW_S = 300;

function header(req: V3Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function checkV3Request(state: SimV3State, req: V3Request, now: Date): { ok: true; mchId: string; merchant: SimV3Merchant } | { ok: false; outcome: V3Outcome } {
  if (!header(req, 'accept') || !header(req, 'user-agent')) return { ok: false, outcome: v3error(400, 'INVALID_REQUEST', 'Http头缺少Accept或User-Agent') };
  const auth = parseAuthorization(header(req, 'authorization'));
  if (!auth) return { ok: false, outcome: v3error(401, 'SIGN_ERROR', 'Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》', { field: 'authorization', location: 'header' }) };
  const merchant = state.merchants.get(auth.mchid);
  if (!merchant) return { ok: false, outcome: v3error(400, 'PARAM_ERROR', '商户号不存在或未开通APIv3', { field: 'mchid', location: 'authorization' }) };
  if (auth.serial_no.toUpperCase() !== merchant.serial) return { ok: false, outcome: v3error(401, 'SIGN_ERROR', '商户证书序列号有误。请使用签名私钥匹配的证书序列号', { field: 'serial_no', location: 'authorization' }) };
  if (!/^\d{1,10}$/.test(auth.timestamp) || Math.abs(Number(auth.timestamp) - now.getTime() / 1000) >= MAX_SKEW_S) {
    return { ok: false, outcome: v3error(401, 'SIGN_ERROR', '签名的时间戳已过期，请检查服务器时间', { field: 'timestamp', location: 'authorization' }) };
  }
  const message = requestMessage({ method: req.method, pathWithQuery: req.url, timestamp: Number(auth.timestamp), nonce: auth.nonce_str, body: req.raw.toString('utf8') });
  if (!crypto.verify('sha256', Buffer.from(message, 'utf8'), merchant.publicKey, Buffer.from(auth.signature, 'base64'))) {
    return {
      ok: false,
      outcome: v3error(401, 'SIGN_ERROR', '错误的签名，验签失败', {
        field: 'signature',
        location: 'authorization',
        sign_information: { method: req.method, sign_message_length: Buffer.byteLength(message, 'utf8'), truncated_sign_message: message.slice(0, 120), url: req.url },
      }),
    };
  }
  return { ok: true, mchId: auth.mchid, merchant };
}
