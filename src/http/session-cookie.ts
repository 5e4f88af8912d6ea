import crypto from 'node:crypto';
import { sameText } from '../timing-safe';

/** The shop's session cookie (express-session's format: "s:" + sid + "." + HMAC-SHA256, URL-encoded). */
export const SESSION_COOKIE_NAME = 'wxshop.sid';

/**
 * The session id in a request's Cookie header when its signature checks out with `secret`, as
 * express-session would read it; undefined otherwise. For the one hot path (the status
 * long-poll) that looks at the session without loading express-session's per-request machinery.
 */
export function sessionIdFromCookieHeader(header: string | undefined, secret: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE_NAME) continue;
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
    if (!value.startsWith('s:')) return undefined;
    const signed = value.slice(2);
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const sid = signed.slice(0, dot);
    const expected = crypto.createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
    return sameText(expected, signed.slice(dot + 1)) ? sid : undefined;
  }
  return undefined;
}
