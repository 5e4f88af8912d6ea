import crypto from 'node:crypto';

/**
 * The one constant-time comparison of the app (signatures, session cookies, CSRF tokens, the
 * metrics token, passwords, the simulator's phone tokens). Pure: no Express, no database, so
 * src/wechatpay may use it too.
 */

/** Equal strings, in time that depends on neither of them (their SHA-256 digests are compared, so lengths do not show). */
export function sameText(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a, 'utf8').digest();
  const y = crypto.createHash('sha256').update(b, 'utf8').digest();
  return crypto.timingSafeEqual(x, y);
}

/** Equal bytes of a known length (a derived key against the stored one): false at once when the lengths differ. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
