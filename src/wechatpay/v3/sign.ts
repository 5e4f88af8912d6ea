import crypto from 'node:crypto';

/**
 * APIv3 request signing (WECHATPAY2-SHA256-RSA2048): SHA256withRSA (PKCS#1 v1.5) with the merchant
 * private key over five lines, each ending in "\n": method, the path and query exactly as sent,
 * unix seconds, nonce, body (empty for a GET). The same function signs the JSAPI bridge's paySign.
 */

export const AUTH_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';

/** The message a request signature covers: the very bytes WeChat rebuilds from the request. */
export function requestMessage(m: { method: string; pathWithQuery: string; timestamp: number; nonce: string; body: string }): string {
  return `${m.method}\n${m.pathWithQuery}\n${m.timestamp}\n${m.nonce}\n${m.body}\n`;
}

/** SHA256withRSA over `message` (UTF-8), base64. */
export function rsaSign(message: string, privateKey: crypto.KeyObject): string {
  return crypto.sign('sha256', Buffer.from(message, 'utf8'), privateKey).toString('base64');
}

/** A nonce for a request or a bridge: 32 upper-case hex characters. */
export function newNonce(): string {
  return crypto.randomBytes(16).toString('hex').toUpperCase();
}

export interface RequestSigner {
  mchId: string;
  /** the merchant certificate's serial, upper-case hex */
  serial: string;
  privateKey: crypto.KeyObject;
}

/** The Authorization header of one request (one line, double quotes, no spaces). */
export function authorizationHeader(signer: RequestSigner, m: { method: string; pathWithQuery: string; timestamp: number; nonce: string; body: string }): string {
  const signature = rsaSign(requestMessage(m), signer.privateKey);
  return `${AUTH_SCHEMA} mchid="${signer.mchId}",nonce_str="${m.nonce}",timestamp="${m.timestamp}",serial_no="${signer.serial}",signature="${signature}"`;
}

/** An Authorization header read back into its parts (the simulator's side); undefined when it is not one. */
export function parseAuthorization(header: string | undefined): { mchid: string; nonce_str: string; timestamp: string; serial_no: string; signature: string } | undefined {
  if (header === undefined || !header.startsWith(`${AUTH_SCHEMA} `)) return undefined;
  const parts: Record<string, string> = {};
  for (const m of header.slice(AUTH_SCHEMA.length + 1).matchAll(/([a-z_]+)="([^"]*)"/g)) parts[m[1] as string] = m[2] as string;
  const { mchid, nonce_str, timestamp, serial_no, signature } = parts;
  if (!mchid || !nonce_str || !timestamp || !serial_no || !signature) return undefined;
  return { mchid, nonce_str, timestamp, serial_no, signature };
}

/** The JSAPI bridge's parameters with signType RSA: paySign over appId, timeStamp, nonceStr and package, a line each. */
export function jsapiBridgeParams(m: { appId: string; prepayId: string; privateKey: crypto.KeyObject; timestamp: number; nonce: string }): Record<string, string> {
  const pkg = `prepay_id=${m.prepayId}`;
  const timeStamp = String(m.timestamp);
  const paySign = rsaSign(`${m.appId}\n${timeStamp}\n${m.nonce}\n${pkg}\n`, m.privateKey);
  return { appId: m.appId, timeStamp, nonceStr: m.nonce, package: pkg, signType: 'RSA', paySign };
}
