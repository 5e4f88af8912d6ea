import crypto from 'node:crypto';
import { formatBeijingDate, formatBeijingTime } from '../wechatpay';

/** Identifiers that look like WeChat's own, from the CSPRNG. */

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_HEX = '0123456789abcdef';
const OPENID_CHARS = `${ALNUM}_-`;

function randomOf(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[crypto.randomInt(alphabet.length)];
  return out;
}

export function randomDigits(length: number): string {
  return randomOf('0123456789', length);
}

/** `wx` + Beijing yyyyMMddHHmmss + 20 characters (36 in all), like `wx201410272009395522657a690389285100`. */
export function newPrepayId(now: Date): string {
  return `wx${formatBeijingTime(now)}${randomOf(LOWER_HEX, 20)}`;
}

/** The `pr=` part of a code_url: 7 letters and digits. */
export function newCodeToken(): string {
  return randomOf(ALNUM, 7);
}

export const CODE_URL_PREFIX = 'weixin://wxpay/bizpayurl?pr=';

export function codeUrlOf(codeToken: string): string {
  return `${CODE_URL_PREFIX}${codeToken}`;
}

/** The code token of a code_url this simulator could have issued, or undefined. */
export function codeTokenOf(codeUrl: unknown): string | undefined {
  if (typeof codeUrl !== 'string') return undefined;
  const m = /^weixin:\/\/wxpay\/bizpayurl\?pr=([0-9A-Za-z]{7})$/.exec(codeUrl.trim());
  return m?.[1];
}

/** 28 digits: `4200` + 6 digits + Beijing yyyyMMdd + 10 digits, as WeChat's transaction ids look. */
export function newTransactionId(now: Date): string {
  return `4200${randomDigits(6)}${formatBeijingDate(now)}${randomDigits(10)}`;
}

/** 29 digits: `50` + 8 digits + Beijing yyyyMMdd + 11 digits, as v2 refund ids look. */
export function newRefundId(now: Date): string {
  return `50${randomDigits(8)}${formatBeijingDate(now)}${randomDigits(11)}`;
}

/** A 28-character payer openid (`o` + 27). */
export function newOpenid(): string {
  return `o${randomOf(OPENID_CHARS, 27)}`;
}

/** The phone page's anti-forgery token. */
export function newPhoneToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time, as refund_success_time and the bill write times. */
export function formatBeijingDateTime(d: Date): string {
  const s = formatBeijingTime(d);
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)} ${s.slice(8, 10)}:${s.slice(10, 12)}:${s.slice(12, 14)}`;
}
