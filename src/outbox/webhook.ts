import crypto from 'node:crypto';
import { sameText } from '../timing-safe';
import type { Channel } from './channel';

/**
 * The merchant's own systems: POST JSON `{"id","type","created_at","data"}` to ALERT_WEBHOOK_URL,
 * signed in `X-Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with
 * ALERT_WEBHOOK_SECRET (as Stripe signs its webhooks). `id` is the event's, the same on every
 * retry, so a receiver deduplicates by it; any 2xx acknowledges. `webhookSignature` is exported for
 * receivers written in TypeScript and for the tests.
 */
export const SIGNATURE_HEADER = 'X-Shop-Signature';

export function webhookSignature(secret: string, timestampSeconds: number, rawBody: string): string {
  const v1 = crypto.createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex');
  return `t=${timestampSeconds},v1=${v1}`;
}

/** A receiver's check: the header's HMAC matches the raw body, and `t` is within `toleranceSeconds` of now. */
export function verifyWebhookSignature(secret: string, header: string | undefined, rawBody: string, now: Date, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isSafeInteger(t) || typeof parts.v1 !== 'string' || Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return false;
  return sameText(parts.v1, webhookSignature(secret, t, rawBody).split('v1=')[1] ?? '');
}

export function webhookChannel(url: string, secret: string): Channel {
  return {
    name: 'webhook',
    request(event, _message, now) {
      const body = JSON.stringify({ id: event.eventId, type: event.type, created_at: event.createdAt.toISOString(), data: event.data });
      return { url, headers: { 'Content-Type': 'application/json; charset=utf-8', [SIGNATURE_HEADER]: webhookSignature(secret, Math.floor(now.getTime() / 1000), body) }, body };
    },
    verdict: (status) => (status >= 200 && status < 300 ? { ok: true } : { ok: false, reason: `HTTP ${status}` }),
  };
}
