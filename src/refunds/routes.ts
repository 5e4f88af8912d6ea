import express, { Router, type ErrorRequestHandler } from 'express';
import client from 'prom-client';
import type { ResolvedDeps } from '../app';
import { failReply, NOTIFY_MAX_BYTES } from '../wechatpay';
import { notifySource } from '../pay/notify-log';
import { handleRefundNotify } from './notify';

/**
 * WeChat's door for refunds: POST /wxpay/refund-notify. Mounted before the session and CSRF
 * middleware; only this route reads a raw body (NOTIFY_MAX_BYTES, 8 KiB, at most: see src/wechatpay/xml.ts for why); every answer is WeChat's XML.
 */
export function refundWebhookRoutes(deps: Pick<ResolvedDeps, 'db' | 'config' | 'clock' | 'logger' | 'metrics'>): Router {
  const router = Router();
  const notifies = new client.Counter({
    name: 'wxpay_refund_notifies_total',
    help: 'Refund notifies received, by verdict',
    labelNames: ['verdict'] as const,
    registers: [deps.metrics.registry],
  });
  const merchant = { appId: deps.config.wxpay.appId, mchId: deps.config.wxpay.mchId, apiKey: deps.config.wxpay.apiKey };

  router.post('/wxpay/refund-notify', express.raw({ type: () => true, limit: NOTIFY_MAX_BYTES }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await handleRefundNotify({ knex: deps.db.knex, merchant, now: deps.clock, logger: deps.logger }, raw, notifySource(req.ip));
    notifies.inc({ verdict: answer.verdict });
    res.status(answer.status).type('text/xml').send(answer.body);
  });

  // body-parser's refusals (too large, bad encoding) and anything unexpected: still WeChat's XML
  const xmlErrors: ErrorRequestHandler = (err: { status?: number }, _req, res, _next) => {
    const status = err.status === 413 ? 413 : typeof err.status === 'number' && err.status < 500 ? err.status : 500;
    if (status === 500) deps.logger.error({ err }, 'refund notify failed');
    notifies.inc({ verdict: status === 413 ? 'too_large' : status === 500 ? 'error' : 'bad_request' });
    res.status(status).type('text/xml').send(failReply(status === 413 ? 'body too large' : status === 500 ? 'temporarily unable to process' : 'bad request'));
  };
  router.use('/wxpay/refund-notify', xmlErrors);
  return router;
}

/**
 * Where WeChat sends refund notifies: the payment notify URL with its last segment `notify`
 * made `refund-notify` (https://shop/wxpay/notify -> https://shop/wxpay/refund-notify).
 */
export function refundNotifyUrl(paymentNotifyUrl: string): string {
  const url = new URL(paymentNotifyUrl);
  url.pathname = /\/notify$/.test(url.pathname) ? url.pathname.replace(/\/notify$/, '/refund-notify') : '/wxpay/refund-notify';
  return url.toString();
}
