import type { RequestHandler } from 'express';
import { sameText } from '../timing-safe';

/**
 * `/metrics` behind a bearer token (METRICS_TOKEN) when one is configured; open otherwise (the
 * demo's default; README says to set it in production). Compared in constant time.
 */
export function metricsAuth(token: string | undefined): RequestHandler {
  if (token === undefined) return (_req, _res, next) => next();
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const sent = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (sent !== undefined && sameText(token, sent)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="metrics"').status(401).type('text/plain').send('401: METRICS_TOKEN bearer token required\n');
  };
}
