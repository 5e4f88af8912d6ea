import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DomainError, NotFound, Unavailable } from '../errors';
import { localeFromAcceptLanguage, translator, type Translate } from '../i18n';

/** The one table from domain error to HTTP status. Kept small and unit-tested. */
export const STATUS_BY_KIND: Record<DomainError['kind'], number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  upstream: 502,
  unavailable: 503,
};

export function statusOf(err: unknown): number {
  if (err instanceof DomainError) return STATUS_BY_KIND[err.kind];
  // body-parser and friends set `status` on their own errors (413 too large, 400 bad JSON, ...)
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status <= 599) return status;
  return 500;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFound(`no route for ${req.method} ${req.path}`));
};

/** What a client is told about an error: status, a short code, and a sentence in its language. */
export function describeError(err: unknown, t: Translate): { status: number; code: string; message: string } {
  const status = statusOf(err);
  const messageKey = err instanceof DomainError ? err.messageKey : status === 404 ? 'error.notFound' : status < 500 ? 'error.invalid' : 'error.generic';
  const params = err instanceof DomainError ? err.params : {};
  return { status, code: err instanceof DomainError ? err.kind : 'error', message: t(messageKey, params) };
}

/** The error page's heading says what happened in words; the HTTP code is for machines. */
export function headingOf(status: number): string {
  if (status === 404) return 'error.title.notFound';
  if (status === 403 || status === 401) return 'error.title.forbidden';
  if (status >= 500) return 'error.title';
  return 'error.title.invalid';
}

/** The way back that fits where the error happened: the admin's pages lead back to the admin. */
export function wayBackFrom(url: string): { href: string; key: string } {
  if (url === '/admin' || url.startsWith('/admin/') || url.startsWith('/admin?')) return { href: '/admin', key: 'error.backToAdmin' };
  if (url.startsWith('/checkout') || url.startsWith('/cart')) return { href: '/cart', key: 'pay.back' };
  if (url.startsWith('/pay/') || url.startsWith('/orders')) return { href: '/orders', key: 'error.backToOrders' };
  return { href: '/', key: 'error.back' };
}

/**
 * One error handler: a page for people, JSON for JSON clients.
 * 5xx details go to the log, never to the client.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const t = (res.locals.t as Translate | undefined) ?? translator(localeFromAcceptLanguage(req.get('accept-language')));
    const { status, code, message } = describeError(err, t);
    if (status >= 500 && !(err instanceof DomainError)) logger.error({ err, url: req.originalUrl }, 'request failed');
    if (err instanceof Unavailable) res.set('Retry-After', String(err.retryAfterSeconds));
    res.status(status);
    res.format({
      html: () =>
        res.render('errors/page', { status, message, heading: headingOf(status), back: wayBackFrom(req.originalUrl) }, (renderErr: Error | null, html?: string) => {
          if (renderErr) logger.error({ err: renderErr }, 'error page failed to render');
          if (renderErr || html === undefined) res.type('text/plain').send(message);
          else res.send(html);
        }),
      json: () => res.json({ error: { status, code, message } }),
      default: () => res.type('text/plain').send(message),
    });
  };
}
