import crypto from 'node:crypto';
import { sameText } from '../timing-safe';

export type SignType = 'MD5' | 'HMAC-SHA256';

export type FieldValue = string | number | undefined | null;
export type Fields = Record<string, FieldValue>;

export function isSignType(value: unknown): value is SignType {
  return value === 'MD5' || value === 'HMAC-SHA256';
}

function fieldString(value: FieldValue): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot sign a non-finite number (${value})`);
    return String(value);
  }
  return value;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The string WeChat signs: non-empty fields but `sign`, sorted by byte order, raw values, `&key=`. */
export function stringToSign(fields: Fields, apiKey: string): string {
  const pairs: string[] = [];
  for (const name of Object.keys(fields).sort(byteOrder)) {
    if (name === 'sign') continue;
    const value = fieldString(fields[name]);
    if (value === undefined || value === '') continue;
    pairs.push(`${name}=${value}`);
  }
  pairs.push(`key=${apiKey}`);
  return pairs.join('&');
}

/** The upper-case hex signature of `fields`, exactly as WECHATPAY.md describes. */
export function signatureOf(fields: Fields, apiKey: string, signType: SignType): string {
  if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('apiKey must be a non-empty string');
  const text = stringToSign(fields, apiKey);
  switch (signType) {
    case 'MD5':
      return crypto.createHash('md5').update(text, 'utf8').digest('hex').toUpperCase();
    case 'HMAC-SHA256':
      return crypto.createHmac('sha256', apiKey).update(text, 'utf8').digest('hex').toUpperCase();
    default:
      throw new TypeError(`unknown sign type ${String(signType)}: use MD5 or HMAC-SHA256`);
  }
}

/**
 * The fields as strings (undefined and null dropped) plus `sign`. A `sign_type` field is kept as the
 * caller gave it and is signed like any other field; the caller adds it for HMAC-SHA256.
 */
export function signFields(fields: Fields, apiKey: string, signType: SignType): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(fields)) {
    if (name === 'sign') continue;
    const value = fieldString(raw);
    if (value !== undefined) out[name] = value;
  }
  out.sign = signatureOf(out, apiKey, signType);
  return out;
}

function algorithmFor(fields: Record<string, string>, sign: string, signType?: SignType): SignType | undefined {
  if (signType !== undefined) return signType;
  const declared = fields.sign_type;
  if (declared !== undefined && declared !== '') return isSignType(declared) ? declared : undefined;
  if (sign.length === 32) return 'MD5';
  if (sign.length === 64) return 'HMAC-SHA256';
  return undefined;
}

/**
 * True when `fields.sign` is the signature of ALL the other fields (unknown ones included).
 * The algorithm is `signType` when given, else the `sign_type` field, else the signature's length
 * (32 hex chars: MD5, 64: HMAC-SHA256), because notifies omit sign_type even for HMAC merchants.
 * Constant-time comparison; a missing or empty sign is never valid.
 */
export function verifySignature(fields: Record<string, string>, apiKey: string, signType?: SignType): boolean {
  const sign = fields.sign;
  if (typeof sign !== 'string' || sign === '') return false;
  const algorithm = algorithmFor(fields, sign, signType);
  if (algorithm === undefined) return false;
  return sameText(sign, signatureOf(fields, apiKey, algorithm));
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 random alphanumeric characters from the CSPRNG (nonce_str allows at most 32). */
export function nonceStr(length = 32): string {
  let out = '';
  for (let i = 0; i < length; i++) out += NONCE_ALPHABET[crypto.randomInt(NONCE_ALPHABET.length)];
  return out;
}
