import { Router, type Request } from 'express';
import type { ResolvedDeps } from '../app';
import { NotFound, UpstreamFailed } from '../errors';
import { existingShopperId } from '../http/shopper';
import { qrSvg } from './qr';
import { closeTrade, offerPayment, ordersOfPaylog, paylogOfShopper, renewAttempt, wxpayContextOf } from './service';

const OUT_TRADE_NO = /^[0-9A-Za-z_|*-]{6,32}$/;

export function outTradeNoOf(req: Request): string {
  const value = String(req.params.outTradeNo ?? '');
  if (!OUT_TRADE_NO.test(value)) throw new NotFound('malformed out_trade_no', 'pay.notFound');
  return value;
}

export function payRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config' | 'wxpay'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const wx = wxpayContextOf(deps);
  const simulatorMode = deps.config.wxpay.mode === 'simulator';

  router.get('/pay/:outTradeNo', async (req, res) => {
    const outTradeNo = outTradeNoOf(req);
    const paylog = await paylogOfShopper(knex, outTradeNo, existingShopperId(req));
    const now = deps.clock();
    let offer;
    try {
      offer = await offerPayment(knex, wx, paylog, now);
    } catch (err) {
      if (!(err instanceof UpstreamFailed)) throw err;
      req.log.warn({ err, outTradeNo }, 'unifiedorder failed');
      return res.status(502).render('pay/unavailable', { paylog, orders: await ordersOfPaylog(knex, outTradeNo) });
    }
    if (offer.kind === 'paid') return res.redirect(303, `/pay/${outTradeNo}/success`);
    if (offer.kind === 'paid_elsewhere') {
      // an older attempt of these orders was paid late: this one is closed at WeChat and here (now
      // if WeChat allows it, else by the sweeper once it does), and the shopper sees the success
      await closeTrade(knex, wx.client, { outTradeNo, now, operator: 'system', reason: `orders paid through ${offer.paidBy}` }).catch((err: unknown) =>
        req.log.warn({ err, outTradeNo }, 'could not close a superseded attempt yet; the sweeper will'),
      );
      return res.redirect(303, `/pay/${offer.paidBy}/success`);
    }
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
