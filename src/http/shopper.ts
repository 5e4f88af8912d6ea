import crypto from 'node:crypto';
import type { Request } from 'express';
import type { Cart } from '../cart/service';

declare module 'express-session' {
  interface SessionData {
    shopperId?: string;
    cart?: Cart;
    flash?: { key: string; params?: Record<string, string | number> };
  }
}

/** The anonymous shopper behind this session, made on first need. */
export function shopperIdOf(req: Request): string {
  return (req.session.shopperId ??= `s_${crypto.randomBytes(12).toString('base64url')}`);
}

/** The shopper id if this session has one, without making one (for read-only ownership checks). */
export function existingShopperId(req: Request): string | undefined {
  return req.session?.shopperId;
}

export function cartOf(req: Request): Cart {
  return req.session.cart ?? {};
}

/** A one-time message shown on the next page. */
export function flash(req: Request, key: string, params?: Record<string, string | number>): void {
  req.session.flash = { key, params };
}
