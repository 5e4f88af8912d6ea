import express, { Router, type ErrorRequestHandler } from 'express';
import client from 'prom-client';
import type { ResolvedDeps } from '../deps';
import { notifySource, type NotifyAnswer, type WebhookDeps } from './notify-log';
import { handlePaymentNotify, type WebhookHeaders } from './payment-notify';
import { handleRefundNotify } from './refund-notify';

type WebhookHandler = (deps: WebhookDeps, headers: WebhookHeaders, raw: Buffer, source: string) => Promise<NotifyAnswer>;

/** WeChat's doors, one handler each: the path, the `kind` its calls are counted and logged under. */
const HANDLERS: readonly { path: string; kind: 'pay' | 'refund'; handle: WebhookHandler }[] = [
  { path: '/wxpay/notify', kind: 'pay', handle: handlePaymentNotify },
  { path: '/wxpay/refund-notify', kind: 'refund', handle: handleRefundNotify },
];

/**
 * WeChat's side of the wire: POST /wxpay/notify (payments) and /wxpay/refund-notify (refunds).
 * Mounted before the session, the body parsers and CSRF: only these routes read a raw body
 * (the provider's notifyMaxBytes at most), every answer is the provider's reply (the handler's, or a failure
 * from the one error handler below), and every call is counted in
 * `wxpay_notifies_total{kind, verdict}` and recorded in notify_log by its handler.
 */
export function webhookRoutes(deps: Pick<ResolvedDeps, 'db' | 'payments' | 'clock' | 'logger' | 'metrics'>): Router {
  const router = Router();
  const notifies = new client.Counter({
    name: 'wxpay_notifies_total',
    help: 'WeChat Pay notifies received, by kind (pay, refund) and verdict',
    labelNames: ['kind', 'verdict'] as const,
    registers: [deps.metrics.registry],
  });
  const handlerDeps: WebhookDeps = { knex: deps.db.knex, provider: deps.payments, clock: deps.clock, logger: deps.logger };
  const rawBody = express.raw({ type: () => true, limit: deps.payments.notifyMaxBytes });

  for (const { path, kind, handle } of HANDLERS) {
    router.post(path, rawBody, async (req, res) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await handle(handlerDeps, req.headers, raw, notifySource(req.ip));
      notifies.inc({ kind, verdict: answer.verdict });
      res.status(answer.status).type(answer.contentType).send(answer.body);
    });
  }

  // body-parser's refusals (too large, bad encoding) and anything unexpected: still the provider's reply
  const replyErrors: ErrorRequestHandler = (err: { status?: number }, req, res, _next) => {
    const status = err.status === 413 ? 413 : typeof err.status === 'number' && err.status < 500 ? err.status : 500;
    const kind = HANDLERS.find((h) => h.path === req.path)?.kind ?? 'pay';
    if (status === 500) deps.logger.error({ err, kind }, 'notify failed');
    notifies.inc({ kind, verdict: status === 413 ? 'too_large' : status === 500 ? 'error' : 'bad_request' });
    const reply = deps.payments.notifyReply({ ok: false, status, message: status === 413 ? 'body too large' : status === 500 ? 'temporarily unable to process' : 'bad request' }, req.headers);
    res.status(reply.status).type(reply.contentType).send(reply.body);
  };
  router.use('/wxpay', replyErrors);
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
