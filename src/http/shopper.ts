import crypto from 'node:crypto';
import type { Request } from 'express';
import { currentCsrfToken, keepPreviousCsrfToken } from './csrf';

/** The cart as kept in the session: product id -> quantity, in the order lines were added. */
export type Cart = Record<string, number>;

declare module 'express-session' {
  interface SessionData {
    shopperId?: string;
    cart?: Cart;
    flash?: { key: string; params?: Record<string, string | number> };
    /** orders found by number and receiver's mobile ("my orders" on another device) */
    foundOrders?: number[];
  }
}

/** The anonymous shopper behind this session (see startShopping). */
export function shopperIdOf(req: Request): string {
  return (req.session.shopperId ??= `s_${crypto.randomBytes(12).toString('base64url')}`);
}

/**
 * Makes this session a shopper's the first time it holds something of value (a cart line): a
 * new session id then, carrying over what the old session held, so a session id planted in the
 * browser beforehand (fixation) never sees the cart, the receiver or the pay pages.
 */
export async function startShopping(req: Request): Promise<string> {
  if (req.session.shopperId) return req.session.shopperId;
  // the CSRF token changes with the id; the old one stays valid a while for same-origin requests
  // only (forms open in other tabs), since whoever planted the old session knows it (see csrf.ts)
  const { cookie: _cookie, csrf: _csrf, csrfPrevious: _previous, ...kept } = req.session as unknown as Record<string, unknown>;
  const previousToken = currentCsrfToken(req);
  await new Promise<void>((resolve, reject) => req.session.regenerate((err: unknown) => (err ? reject(err) : resolve())));
  Object.assign(req.session, kept);
  keepPreviousCsrfToken(req, previousToken);
  return shopperIdOf(req);
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

/** The orders this session found by number and mobile (see src/orders). */
export function foundOrdersOf(req: Request): number[] {
  return req.session?.foundOrders ?? [];
}
