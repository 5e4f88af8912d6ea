import { Router, type Request } from 'express';
import client from 'prom-client';
import type { ResolvedDeps } from '../app';
import { Invalid, NotFound, UpstreamFailed } from '../errors';
import { existingShopperId } from '../http/shopper';
import { qrSvg } from './qr';
import { offerPayment, ordersOfPaylog, paylogOfShopper, queryIfOverdue, renewAttempt, statusOf, type Paylog, type PayStatus, type WxpayContext } from './service';

const OUT_TRADE_NO = /^[0-9A-Za-z_|*-]{6,32}$/;

function outTradeNoOf(req: Request): string {
  const value = String(req.params.outTradeNo ?? '');
  if (!OUT_TRADE_NO.test(value)) throw new NotFound('malformed out_trade_no', 'pay.notFound');
  return value;
}

/** The shopper's address as WeChat wants it in spbill_create_ip. */
export function clientIp(req: Request): string {
  const ip = req.ip ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip === '::1' ? '127.0.0.1' : ip;
}

function statusAnswer(paylog: Paylog, status: PayStatus): { state: PayStatus; redirect?: string } {
  if (status === 'SUCCESS') return { state: status, redirect: `/pay/${paylog.out_trade_no}/success` };
  if (status === 'CLOSED' || status === 'EXPIRED') return { state: status, redirect: `/pay/${paylog.out_trade_no}` };
  return { state: status };
}

export function payRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config' | 'wxpay' | 'waiters' | 'logger' | 'metrics'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const wx: WxpayContext = {
    client: deps.wxpay.client,
    notifyUrl: deps.wxpay.notifyUrl,
    shopName: deps.config.shopName,
    qrTtlSeconds: deps.config.payQrTtlSeconds,
  };
  const simulatorMode = deps.config.wxpay.mode === 'simulator';
  const poll = deps.config.poll;
  const registers = [deps.metrics.registry];
  new client.Gauge({ name: 'pay_status_waiters', help: 'Status polls held open on this instance now', registers, collect() {
    this.set(deps.waiters.size);
  } });
  const fallbackQueries = new client.Counter({ name: 'pay_orderquery_fallbacks_total', help: 'orderquery calls made by the status poll because no notify had come', registers });

  /**
   * The pay page's long-poll: answers at once when the attempt is settled (or its QR expired),
   * else holds the request up to min(wait, POLL_MAX_WAIT_SECONDS) until a wake-up for this trade
   * arrives from any instance. Only for the session that made the payment.
   */
  router.get('/pay/:outTradeNo/status', async (req, res) => {
    const outTradeNo = outTradeNoOf(req);
    const waitRaw = typeof req.query.wait === 'string' ? req.query.wait : '0';
    if (!/^\d{1,4}$/.test(waitRaw)) throw new Invalid(`wait=${JSON.stringify(req.query.wait)} is not a number of seconds`, 'pay.error.badWait');
    const waitMs = Math.min(Number(waitRaw), poll.maxWaitSeconds) * 1000;
    const shopperId = existingShopperId(req);
    let paylog = await paylogOfShopper(knex, outTradeNo, shopperId);
    res.set('Cache-Control', 'no-store');

    if (statusOf(paylog, deps.clock()) === 'NOTPAY') {
      try {
        if (await queryIfOverdue(knex, wx.client, paylog, deps.clock(), { qrTtlSeconds: wx.qrTtlSeconds, ...poll })) {
          fallbackQueries.inc();
          paylog = await paylogOfShopper(knex, outTradeNo, shopperId);
        }
      } catch (err) {
        // WeChat unreachable: the notify may still come; keep waiting
        req.log.warn({ err, outTradeNo }, 'status poll could not ask WeChat');
      }
    }
    if (statusOf(paylog, deps.clock()) === 'NOTPAY' && waitMs > 0) {
      const controller = new AbortController();
      const onClose = () => controller.abort();
      res.on('close', onClose);
      // the time left before the QR code expires bounds the wait too
      const untilExpiry = paylog.code_url_expires_at ? paylog.code_url_expires_at.getTime() - deps.clock().getTime() : waitMs;
      const settledMeanwhile = async () => statusOf(await paylogOfShopper(knex, outTradeNo, shopperId), deps.clock()) !== 'NOTPAY';
      const end = await deps.waiters.wait(outTradeNo, Math.max(0, Math.min(waitMs, untilExpiry + 1000)), controller.signal, settledMeanwhile);
      res.off('close', onClose);
      if (end === 'gone') return;
      paylog = await paylogOfShopper(knex, outTradeNo, shopperId);
    }
    res.json(statusAnswer(paylog, statusOf(paylog, deps.clock())));
  });

  router.get('/pay/:outTradeNo', async (req, res) => {
    const outTradeNo = outTradeNoOf(req);
    const paylog = await paylogOfShopper(knex, outTradeNo, existingShopperId(req));
    const now = deps.clock();
    let offer;
    try {
      offer = await offerPayment(knex, wx, paylog, clientIp(req), now);
    } catch (err) {
      if (!(err instanceof UpstreamFailed)) throw err;
      req.log.warn({ err, outTradeNo }, 'unifiedorder failed');
      return res.status(502).render('pay/unavailable', { paylog, orders: await ordersOfPaylog(knex, outTradeNo) });
    }
    if (offer.kind === 'paid') return res.redirect(303, `/pay/${outTradeNo}/success`);
    const orders = await ordersOfPaylog(knex, outTradeNo);
    if (offer.kind === 'closed' || offer.kind === 'expired') {
      const ordersOpen = orders.length > 0 && orders.every((o) => o.status === 'unpaid');
      return res.render('pay/expired', { paylog: offer.paylog, orders, reason: offer.kind, canRenew: ordersOpen });
    }
    res.render('pay/index', {
      paylog: offer.paylog,
      orders,
      codeUrl: offer.codeUrl,
      qr: await qrSvg(offer.codeUrl),
      expiresAt: offer.expiresAt,
      secondsLeft: Math.max(0, Math.floor((offer.expiresAt.getTime() - now.getTime()) / 1000)),
      phoneHref: simulatorMode ? `/wxsim/scan?code_url=${encodeURIComponent(offer.codeUrl)}` : undefined,
    });
  });

  router.post('/pay/:outTradeNo/renew', async (req, res) => {
    const outTradeNo = outTradeNoOf(req);
    const shopperId = existingShopperId(req);
    if (!shopperId) throw new NotFound('no shopper', 'pay.notFound');
    const outcome = await renewAttempt(knex, wx.client, { outTradeNo, shopperId, now: deps.clock(), qrTtlSeconds: deps.config.payQrTtlSeconds });
    res.redirect(303, outcome.kind === 'paid' ? `/pay/${outcome.outTradeNo}/success` : `/pay/${outcome.outTradeNo}`);
  });

  router.get('/pay/:outTradeNo/success', async (req, res) => {
    const outTradeNo = outTradeNoOf(req);
    const paylog = await paylogOfShopper(knex, outTradeNo, existingShopperId(req));
    if (paylog.trade_state !== 'SUCCESS' && paylog.trade_state !== 'REFUND') return res.redirect(303, `/pay/${outTradeNo}`);
    res.render('pay/success', { paylog, orders: await ordersOfPaylog(knex, outTradeNo) });
  });

  return router;
}
