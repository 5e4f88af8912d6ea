import express, { Router, type ErrorRequestHandler } from 'express';
import client from 'prom-client';
import type { ResolvedDeps } from '../app';
import { failReply, NOTIFY_MAX_BYTES } from '../wechatpay';
import { handlePaymentNotify } from './notify';
import { notifySource } from './notify-log';

/**
 * WeChat's door: POST /wxpay/notify. Only this route reads a raw body (NOTIFY_MAX_BYTES, 8 KiB, at most: see src/wechatpay/xml.ts for why); no
 * session, no CSRF; every answer is WeChat's XML.
 */
export function webhookRoutes(deps: Pick<ResolvedDeps, 'db' | 'config' | 'clock' | 'logger' | 'metrics'>): Router {
  const router = Router();
  const notifies = new client.Counter({
    name: 'wxpay_notifies_total',
    help: 'Payment notifies received, by verdict',
    labelNames: ['verdict'] as const,
    registers: [deps.metrics.registry],
  });
  const merchant = { appId: deps.config.wxpay.appId, mchId: deps.config.wxpay.mchId, apiKey: deps.config.wxpay.apiKey, signType: deps.config.wxpay.signType };

  router.post('/wxpay/notify', express.raw({ type: () => true, limit: NOTIFY_MAX_BYTES }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await handlePaymentNotify({ knex: deps.db.knex, merchant, now: deps.clock, logger: deps.logger }, raw, notifySource(req.ip));
    notifies.inc({ verdict: answer.verdict });
    res.status(answer.status).type('text/xml').send(answer.body);
  });

  // body-parser's refusals (too large, bad encoding) and anything unexpected: still WeChat's XML
  const xmlErrors: ErrorRequestHandler = (err: { status?: number; type?: string }, _req, res, _next) => {
    const status = err.status === 413 ? 413 : typeof err.status === 'number' && err.status < 500 ? err.status : 500;
    if (status === 500) deps.logger.error({ err }, 'notify failed');
    notifies.inc({ verdict: status === 413 ? 'too_large' : status === 500 ? 'error' : 'bad_request' });
    res.status(status).type('text/xml').send(failReply(status === 413 ? 'body too large' : status === 500 ? 'temporarily unable to process' : 'bad request'));
  };
  router.use('/wxpay', xmlErrors);
  return router;
}
