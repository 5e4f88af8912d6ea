import { Router, type Request } from 'express';
import type { ResolvedDeps } from '../deps';
import { Conflict, NotFound, UpstreamFailed } from '../errors';
import { buyAgain } from '../orders/service';
import { cartOf, existingShopperId, flash, foundOrdersOf, startShopping } from '../http/shopper';
import type { Translate } from '../i18n';
import { isOutTradeNo, isPaid, type OrderWithItems, type Paylog } from '../ledger';
import { qrSvg } from './qr';
import { checkPaymentNow, closeTrade, offerPayment, payPage, renewAttempt, wxpayContextOf } from './service';

/** The QR code's time left as a duration people read: "1小时59分" / "4分08秒" (the pay page's script counts down in the same words). */
export function formatDuration(seconds: number, t: Translate): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? t('duration.hm', { h, m }) : t('duration.ms', { m, s: String(s).padStart(2, '0') });
}

/** The pay page's countdown turns red this close to the end. */
export const URGENT_SECONDS = 300;

/** The attempt a /pay/:outTradeNo request is about, loaded once by router.param (see below). */
const loaded = new WeakMap<Request, { paylog: Paylog; orders: OrderWithItems[] }>();

function attemptOf(req: Request): { paylog: Paylog; orders: OrderWithItems[] } {
  const attempt = loaded.get(req);
  if (!attempt) throw new Error('pay route without its :outTradeNo parameter');
  return attempt;
}

export function payRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config' | 'wxpay'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const wx = wxpayContextOf(deps);
  const simulatorMode = deps.config.wxpay.mode === 'simulator';

  // every /pay/:outTradeNo route: the attempt with its orders and items, in one statement, for
  // this session's shopper (or a session that found one of its orders) only: anyone else, and a
  // malformed number, get the same 404
  router.param('outTradeNo', async (req, res, next, value: string) => {
    if (!isOutTradeNo(value)) throw new NotFound('malformed out_trade_no', 'pay.notFound');
    const page = await payPage(knex, value, existingShopperId(req), foundOrdersOf(req));
    loaded.set(req, page);
    // the header's badge, from the same statement (src/orders leaves /pay pages to us)
    res.locals.unpaidCount = page.unpaidCount;
    next();
  });

  router.get('/pay/:outTradeNo', async (req, res) => {
    const { paylog, orders } = attemptOf(req);
    const outTradeNo = paylog.out_trade_no;
    const now = deps.clock();
    let offer;
    try {
      offer = await offerPayment(knex, wx, paylog, now, orders);
    } catch (err) {
      if (!(err instanceof UpstreamFailed)) throw err;
      req.log.warn({ err, outTradeNo }, 'unifiedorder failed');
      return res.status(502).render('pay/unavailable', { paylog, orders });
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
    if (offer.kind === 'closed' || offer.kind === 'expired') {
      const ordersOpen = orders.length > 0 && orders.every((o) => o.status === 'unpaid');
      return res.render('pay/expired', { paylog: offer.paylog, orders, reason: offer.kind, canRenew: ordersOpen });
    }
    const secondsLeft = Math.max(0, Math.floor((offer.expiresAt.getTime() - now.getTime()) / 1000));
    res.render('pay/index', {
      paylog: offer.paylog,
      orders,
      codeUrl: offer.codeUrl,
      qr: await qrSvg(offer.codeUrl),
      expiresAt: offer.expiresAt,
      secondsLeft,
      timeLeft: formatDuration(secondsLeft, res.locals.t as Translate),
      urgent: secondsLeft <= URGENT_SECONDS,
      urgentSeconds: URGENT_SECONDS,
      phoneHref: simulatorMode ? `/wxsim/scan?code_url=${encodeURIComponent(offer.codeUrl)}` : undefined,
    });
  });

  // "I have paid": works without JavaScript (a form post), answers on the pay page itself
  router.post('/pay/:outTradeNo/check', async (req, res) => {
    const { paylog } = attemptOf(req);
    const outcome = await checkPaymentNow(knex, wx.client, paylog, deps.clock(), { qrTtlSeconds: wx.qrTtlSeconds, queryIntervalSeconds: deps.config.poll.queryIntervalSeconds });
    if (outcome === 'paid') return res.redirect(303, `/pay/${paylog.out_trade_no}/success`);
    if (outcome === 'not_paid') flash(req, 'pay.notPaidYet');
    else if (outcome === 'asked_recently') flash(req, 'pay.askedRecently', { seconds: deps.config.poll.queryIntervalSeconds });
    else if (outcome === 'unreachable') flash(req, 'pay.unreachable');
    res.redirect(303, `/pay/${paylog.out_trade_no}`);
  });

  router.post('/pay/:outTradeNo/renew', async (req, res) => {
    // the payment's own shopper: this session's, or the one whose order it found by number and mobile
    const { paylog } = attemptOf(req);
    const outTradeNo = paylog.out_trade_no;
    let outcome;
    try {
      outcome = await renewAttempt(knex, wx.client, { outTradeNo, shopperId: paylog.shopper_id, now: deps.clock(), qrTtlSeconds: deps.config.payQrTtlSeconds });
    } catch (err) {
      // closed meanwhile (the sweeper gave the stock back): the expired page offers "buy these again"
      if (!(err instanceof Conflict && err.messageKey === 'pay.error.ordersClosed')) throw err;
      flash(req, 'pay.ordersClosed');
      return res.redirect(303, `/pay/${outTradeNo}`);
    }
    res.redirect(303, outcome.kind === 'paid' ? `/pay/${outcome.outTradeNo}/success` : `/pay/${outcome.outTradeNo}`);
  });

  // "buy these again": the items of this payment's orders back in the cart, as far as in stock
  router.post('/pay/:outTradeNo/buy-again', async (req, res) => {
    const { orders } = attemptOf(req);
    const result = await buyAgain(
      knex,
      cartOf(req),
      orders.flatMap((o) => o.items),
    );
    await startShopping(req);
    req.session.cart = result.cart;
    flash(req, result.skipped > 0 ? 'cart.buyAgainPartly' : 'cart.buyAgain', { added: result.added, skipped: result.skipped });
    res.redirect(303, '/cart');
  });

  router.get('/pay/:outTradeNo/success', (req, res) => {
    const { paylog, orders } = attemptOf(req);
    if (!isPaid(paylog.trade_state)) return res.redirect(303, `/pay/${paylog.out_trade_no}`);
    res.render('pay/success', { paylog, orders });
  });

  return router;
}
