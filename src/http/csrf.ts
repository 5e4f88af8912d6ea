import crypto from 'node:crypto';
import { sameText } from '../timing-safe';
import type { Request, RequestHandler } from 'express';
import { Forbidden } from '../errors';

declare module 'express-session' {
  interface SessionData {
    /** set once a form was rendered: the session must be kept for its token to mean anything */
    csrf?: true;
    /** the token of the session id this session replaced (startShopping), for forms still open in other tabs */
    csrfPrevious?: { token: string; until: number };
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How long forms rendered before the session id changed stay valid (same-origin requests only). */
export const PREVIOUS_TOKEN_GRACE_MS = 60 * 60 * 1000;

const secrets = new WeakMap<Request, string>();

/** The session's token: derived from its id, so pages rendered at once in one session all carry the same one. */
function tokenOf(secret: string, sessionId: string): string {
  return crypto.createHmac('sha256', secret).update(`csrf:${sessionId}`).digest('base64url');
}

/** The request says it comes from one of our own pages (a cross-site form cannot say so). */
function isSameOrigin(req: Request): boolean {
  if (req.get('sec-fetch-site') === 'same-origin') return true;
  const origin = req.get('origin');
  return origin !== undefined && origin === `${req.protocol}://${req.get('host') ?? ''}`;
}

/**
 * Synchronizer-token CSRF protection: the token is an HMAC of the session id, rendered into every
 * POST form as `_csrf` (views read `csrfToken()`) and checked on every unsafe request. Derived, not
 * stored: tabs opened at once in one session cannot overwrite each other's token. When the session
 * id changes on the first cart line (startShopping), the old id's token stays valid for an hour,
 * but only on requests the browser marks same-origin: forms open in other tabs keep working, while
 * whoever planted the old session (and so knows its token) cannot use it from another site.
 */
export function csrfProtection(secret: string): RequestHandler {
  return (req, res, next) => {
    secrets.set(req, secret);
    res.locals.csrfToken = () => {
      if (!req.session.csrf) req.session.csrf = true;
      return tokenOf(secret, req.sessionID);
    };
    if (SAFE_METHODS.has(req.method)) return next();
    const body = req.body as Record<string, unknown> | undefined;
    const sent = typeof body?._csrf === 'string' ? body._csrf : req.get('x-csrf-token');
    if (sent && req.session.csrf && sameText(sent, tokenOf(secret, req.sessionID))) return next();
    const previous = req.session.csrfPrevious;
    if (sent && previous && previous.until > Date.now() && isSameOrigin(req) && sameText(sent, previous.token)) return next();
    next(new Forbidden('missing or wrong CSRF token', 'error.csrf'));
  };
}

/**
 * For whoever is about to give the session a new id: the token of the current id (when a form was
 * rendered with it), to hand to keepPreviousCsrfToken once the new session exists.
 */
export function currentCsrfToken(req: Request): string | undefined {
  const secret = secrets.get(req);
  return secret !== undefined && req.session.csrf ? tokenOf(secret, req.sessionID) : undefined;
}

export function keepPreviousCsrfToken(req: Request, token: string | undefined): void {
  if (token !== undefined) req.session.csrfPrevious = { token, until: Date.now() + PREVIOUS_TOKEN_GRACE_MS };
}
