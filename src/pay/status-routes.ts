import type http from 'node:http';
import client from 'prom-client';
import type { ResolvedDeps } from '../deps';
import { Invalid, Unavailable } from '../errors';
import { describeError } from '../http/errors';
import { sessionIdFromCookieHeader } from '../http/session-cookie';
import { localeFromAcceptLanguage, translator } from '../i18n';
import { OUT_TRADE_NO_SOURCE } from '../wechatpay/ids';
import { statusOf, type Paylog, type PayStatus } from '../ledger';
import { payContextOf, paylogOfSession, queryIfOverdue } from './service';

const STATUS_PATH = new RegExp(`^/pay/(${OUT_TRADE_NO_SOURCE})/status(?:\\?(.*))?$`);
const ROUTE_LABEL = '/pay/:outTradeNo/status';

function statusAnswer(paylog: Paylog, status: PayStatus): { state: PayStatus; redirect?: string } {
  if (status === 'SUCCESS') return { state: status, redirect: `/pay/${paylog.paid_by ?? paylog.out_trade_no}/success` };
  if (status === 'MOVED') return { state: status, redirect: `/pay/${paylog.superseded_by ?? paylog.out_trade_no}` };
  if (status === 'CLOSED' || status === 'EXPIRED') return { state: status, redirect: `/pay/${paylog.out_trade_no}` };
  return { state: status };
}

export interface StatusPoll {
  /** Serves the request when it is a status poll (and returns true); otherwise leaves it alone. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

/**
 * The pay page's long-poll, GET /pay/:outTradeNo/status?wait=N: answers at once when the attempt
 * is settled (or its QR expired), else holds the request up to min(wait, POLL_MAX_WAIT_SECONDS)
 * until a wake-up for this trade arrives from any instance. Only for the session that made the
 * payment (a stranger gets the same 404 as a wrong number).
 *
 * Thousands are held at once, so this one door is served ahead of Express (main.ts hands it the
 * raw request; createApp mounts it first for anyone using the app alone): no router, no request
 * log, no page headers, no express-session. It reads the signed session cookie itself and finds
 * the paylog of the session's shopper in one query; it answers JSON, errors included (the same
 * statuses and sentences as the error handler), and counts itself in the HTTP metrics.
 */
export function createStatusPoll(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config' | 'payments' | 'waiters' | 'logger' | 'metrics'>): StatusPoll {
  const knex = deps.db.knex;
  const wx = payContextOf(deps);
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

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    deps.metrics.httpRequests.inc({ method: 'GET', route: ROUTE_LABEL, status: String(status) });
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
    res.end(JSON.stringify(body));
  };

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, outTradeNo: string, query: string): Promise<void> {
    const waitRaw = new URLSearchParams(query).get('wait') ?? '0';
    if (!/^\d{1,4}$/.test(waitRaw)) throw new Invalid(`wait=${JSON.stringify(waitRaw)} is not a number of seconds`, 'pay.error.badWait');
    const waitMs = Math.min(Number(waitRaw), poll.maxWaitSeconds) * 1000;
    const sessionId = sessionIdFromCookieHeader(req.headers.cookie, secret);
    const read = () => paylogOfSession(knex, outTradeNo, sessionId, deps.clock());
    let paylog = await read();

    if (statusOf(paylog, deps.clock()) === 'NOTPAY') {
      try {
        if (await queryIfOverdue(knex, wx.provider, paylog, deps.clock(), { qrTtlSeconds: wx.qrTtlSeconds, ...poll })) {
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
      const end = await deps.waiters.wait(outTradeNo, Math.max(0, Math.min(waitMs, untilExpiry + 1000)), controller.signal, settledMeanwhile, sessionId);
      res.off('close', onClose);
      if (end === 'gone') return;
      paylog = await read();
    }
    send(res, 200, statusAnswer(paylog, statusOf(paylog, deps.clock())));
  }

  return {
    handle(req, res) {
      const match = req.method === 'GET' ? STATUS_PATH.exec(req.url ?? '') : null;
      if (!match) return false;
      serve(req, res, match[1] as string, match[2] ?? '').catch((err: unknown) => {
        const { status, code, message } = describeError(err, translator(localeFromAcceptLanguage(req.headers['accept-language'])));
        if (status >= 500) deps.logger.error({ err, url: req.url }, 'status poll failed');
        send(res, status, { error: { status, code, message } }, err instanceof Unavailable ? { 'Retry-After': String(err.retryAfterSeconds) } : {});
      });
      return true;
    },
  };
}
