import crypto from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * `/metrics` behind a bearer token (METRICS_TOKEN) when one is configured; open otherwise (the
 * demo's default; README says to set it in production). Compared in constant time.
 */
export function metricsAuth(token: string | undefined): RequestHandler {
  if (token === undefined) return (_req, _res, next) => next();
  const expected = crypto.createHash('sha256').update(token).digest();
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const sent = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const given = crypto.createHash('sha256').update(sent ?? '').digest();
    if (sent !== undefined && crypto.timingSafeEqual(expected, given)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="metrics"').status(401).type('text/plain').send('401: METRICS_TOKEN bearer token required\n');
  };
}
