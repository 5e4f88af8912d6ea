import crypto from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';
import { rsaSign } from './sign';

/**
 * Verifying what WeChat sends (API answers and notifies) over the raw bytes: the message is
 * `timestamp\nnonce\nRAW BODY\n`, the key is found by Wechatpay-Serial in ONE lookup that holds
 * the WeChat Pay public key (`PUB_KEY_ID_…`) and/or platform certificates, so public-key mode,
 * certificate mode and the migration between them are the same code. A serial we do not hold, a
 * timestamp 300 s or more away from now, and a `WECHATPAY/SIGNTEST/` probe are refused.
 */

export const MAX_SKEW_SECONDS = 300;
export const SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';

export type VerifyFailure = 'missing_header' | 'unknown_serial' | 'stale' | 'signtest' | 'bad_signature';

export class WxV3SignatureError extends Error {
  override readonly name = 'WxV3SignatureError';
  constructor(
    readonly reason: VerifyFailure,
    message: string,
  ) {
    super(message);
  }
}

/** WeChat's keys by serial: its public key under its PUB_KEY_ID, its platform certificates under their serials. */
export class WechatKeyring {
  private readonly keys = new Map<string, { key: crypto.KeyObject; expiresAt: Date | undefined }>();

  /** The WeChat Pay public key (public-key mode): it does not expire. */
  addPublicKey(id: string, key: crypto.KeyObject): this {
    if (key.type !== 'public') throw new TypeError(`${id}: not a public key`);
    this.keys.set(id, { key, expiresAt: undefined });
    return this;
  }

  /** A platform certificate (certificate mode), under its own serial (upper-case hex). */
  addCertificate(pem: string | Buffer): string {
    const cert = new crypto.X509Certificate(pem);
    const serial = cert.serialNumber.toUpperCase();
    this.keys.set(serial, { key: cert.publicKey, expiresAt: new Date(cert.validTo) });
    return serial;
  }

  /** The key for a serial, unless we do not hold it or its certificate has expired. */
  keyFor(serial: string, now: Date): crypto.KeyObject | undefined {
    const entry = this.keys.get(serial);
    if (!entry || (entry.expiresAt && entry.expiresAt.getTime() <= now.getTime())) return undefined;
    return entry.key;
  }

  serials(): string[] {
    return [...this.keys.keys()];
  }
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The Wechatpay-* headers of an answer or notify, read case-insensitively (node lower-cases them). */
export function wechatpayHeaders(headers: Headers): { serial?: string; timestamp?: string; nonce?: string; signature?: string } {
  const lower: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return {
    serial: header(lower, 'wechatpay-serial'),
    timestamp: header(lower, 'wechatpay-timestamp'),
    nonce: header(lower, 'wechatpay-nonce'),
    signature: header(lower, 'wechatpay-signature'),
  };
}

/**
 * Throws WxV3SignatureError unless `raw` is what WeChat signed under a key we hold, within 300 s of
 * `now`. Returns the serial it was signed under. Only for 2xx answers and notifies: error answers
 * may come without these headers and are not verified (the caller reads them as unproven).
 */
export function verifyWechatSignature(headers: Headers, raw: Buffer, keyring: WechatKeyring, now: Date): string {
  const h = wechatpayHeaders(headers);
  if (!h.serial || !h.timestamp || !h.nonce || !h.signature) throw new WxV3SignatureError('missing_header', 'the Wechatpay-Serial, -Timestamp, -Nonce or -Signature header is missing');
  if (h.signature.startsWith(SIGNTEST_PREFIX)) throw new WxV3SignatureError('signtest', "a signature probe (WECHATPAY/SIGNTEST/): refused, as WeChat's test expects");
  const key = keyring.keyFor(h.serial, now);
  if (!key) throw new WxV3SignatureError('unknown_serial', `signed under serial ${h.serial.slice(0, 64)}, which is neither our WeChat Pay public key id nor a platform certificate we hold`);
  if (!/^\d{1,12}$/.test(h.timestamp)) throw new WxV3SignatureError('stale', 'Wechatpay-Timestamp is not unix seconds');
  const skew = Math.abs(now.getTime() / 1000 - Number(h.timestamp));
  if (skew >= MAX_SKEW_SECONDS) throw new WxV3SignatureError('stale', `Wechatpay-Timestamp is ${Math.round(skew)} s away from our clock (at most ${MAX_SKEW_SECONDS - 1}): a replay, or a clock to fix`);
  const message = Buffer.concat([Buffer.from(`${h.timestamp}\n${h.nonce}\n`, 'utf8'), raw, Buffer.from('\n', 'utf8')]);
  if (!crypto.verify('sha256', message, key, Buffer.from(h.signature, 'base64'))) {
    throw new WxV3SignatureError('bad_signature', 'the signature does not verify over the raw body (altered on the way, or signed with another key)');
  }
  return h.serial;
}

/** The Wechatpay-* headers for a body (WeChat's side: the simulator, and tests that build valid and tampered answers). */
export function signWechatAnswer(raw: Buffer | string, signer: { serial: string; privateKey: crypto.KeyObject }, m: { timestamp: number; nonce: string }): Record<string, string> {
  const body = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
  return {
    'Wechatpay-Serial': signer.serial,
    'Wechatpay-Timestamp': String(m.timestamp),
    'Wechatpay-Nonce': m.nonce,
    'Wechatpay-Signature': rsaSign(`${m.timestamp}\n${m.nonce}\n${body}\n`, signer.privateKey),
    'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  };
}

/** Two strings equal in constant time (for the simulator's own comparisons). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
