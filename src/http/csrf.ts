import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { Forbidden } from '../errors';

declare module 'express-session' {
  interface SessionData {
    csrfToken?: string;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * Synchronizer-token CSRF protection: one random token per session, rendered into every POST
 * form as `_csrf` (views read `csrfToken()`), checked on every unsafe request. The token is made
 * only when a page renders a form; a session that holds nothing else lives a day (session-store.ts).
 */
export const csrfProtection: RequestHandler = (req, res, next) => {
  res.locals.csrfToken = () => (req.session.csrfToken ??= crypto.randomBytes(24).toString('base64url'));
  if (SAFE_METHODS.has(req.method)) return next();
  const body = req.body as Record<string, unknown> | undefined;
  const sent = typeof body?._csrf === 'string' ? body._csrf : req.get('x-csrf-token');
  const expected = req.session.csrfToken;
  if (!sent || !expected || !sameToken(sent, expected)) {
    return next(new Forbidden('missing or wrong CSRF token', 'error.csrf'));
  }
  next();
};
