import { Router } from 'express';
import client from 'prom-client';
import type { ResolvedDeps } from '../app';
import { Invalid } from '../errors';
import { sessionIdFromCookieHeader } from '../http/session-cookie';
import { outTradeNoOf } from './routes';
import { paylogOfSession, queryIfOverdue, statusOf, wxpayContextOf, type Paylog, type PayStatus } from './service';

function statusAnswer(paylog: Paylog, status: PayStatus): { state: PayStatus; redirect?: string } {
  if (status === 'SUCCESS') return { state: status, redirect: `/pay/${paylog.out_trade_no}/success` };
  if (status === 'CLOSED' || status === 'EXPIRED') return { state: status, redirect: `/pay/${paylog.out_trade_no}` };
  return { state: status };
}

/**
 * The pay page's long-poll, GET /pay/:outTradeNo/status?wait=N: answers at once when the attempt
 * is settled (or its QR expired), else holds the request up to min(wait, POLL_MAX_WAIT_SECONDS)
 * until a wake-up for this trade arrives from any instance. Only for the session that made the
 * payment. Thousands wait at once, so it is mounted ahead of the page middleware (request log,
 * page headers, express-session): it reads the signed session cookie itself, in one query.
 */
export function statusRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config' | 'wxpay' | 'waiters' | 'logger' | 'metrics'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const wx = wxpayContextOf(deps);
  const poll = deps.config.poll;
  const secret = deps.config.sessionSecret;
  const registers = [deps.metrics.registry];
  new client.Gauge({
    name: 'pay_status_waiters',
    help: 'Status polls held open on this instance now',
    registers,
    collect() {
      this.set(deps.waiters.size);
    },
  });
  const fallbackQueries = new client.Counter({ name: 'pay_orderquery_fallbacks_total', help: 'orderquery calls made by the status poll because no notify had come', registers });

  router.get('/pay/:outTradeNo/status', async (req, res) => {
    const outTradeNo = outTradeNoOf(req);
    const waitRaw = typeof req.query.wait === 'string' ? req.query.wait : '0';
    if (!/^\d{1,4}$/.test(waitRaw)) throw new Invalid(`wait=${JSON.stringify(req.query.wait)} is not a number of seconds`, 'pay.error.badWait');
    const waitMs = Math.min(Number(waitRaw), poll.maxWaitSeconds) * 1000;
    const sessionId = sessionIdFromCookieHeader(req.headers.cookie, secret);
    const read = () => paylogOfSession(knex, outTradeNo, sessionId, deps.clock());
    let paylog = await read();
    res.set('Cache-Control', 'no-store');

    if (statusOf(paylog, deps.clock()) === 'NOTPAY') {
      try {
        if (await queryIfOverdue(knex, wx.client, paylog, deps.clock(), { qrTtlSeconds: wx.qrTtlSeconds, ...poll })) {
          fallbackQueries.inc();
          paylog = await read();
        }
      } catch (err) {
        // WeChat unreachable: the notify may still come; keep waiting
        deps.logger.warn({ err, outTradeNo }, 'status poll could not ask WeChat');
      }
    }
    if (statusOf(paylog, deps.clock()) === 'NOTPAY' && waitMs > 0) {
      const controller = new AbortController();
      const onClose = () => controller.abort();
      res.on('close', onClose);
      // the time left before the QR code expires bounds the wait too
      const untilExpiry = paylog.code_url_expires_at ? paylog.code_url_expires_at.getTime() - deps.clock().getTime() : waitMs;
      const settledMeanwhile = async () => statusOf(await read(), deps.clock()) !== 'NOTPAY';
      const end = await deps.waiters.wait(outTradeNo, Math.max(0, Math.min(waitMs, untilExpiry + 1000)), controller.signal, settledMeanwhile);
      res.off('close', onClose);
      if (end === 'gone') return;
      paylog = await read();
    }
    res.json(statusAnswer(paylog, statusOf(paylog, deps.clock())));
  });
  return router;
}
