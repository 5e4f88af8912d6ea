import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { ResolvedDeps } from '../deps';
import { Conflict, Invalid, NotFound, UpstreamFailed } from '../errors';
import { buyAgain } from '../orders/service';
import { clientIp, isPublicAddress, publicOrigin as publicOriginOf } from '../http/client-ip';
import { loadPathParam } from '../http/path-param';
import { cartOf, existingShopperId, flash, foundOrdersOf, startShopping } from '../http/shopper';
import type { Translate } from '../i18n';
import { TRADE_TYPES, isOutTradeNo, isPaid, orderEvent, type OrderWithItems, type Paylog, type TradeType } from '../ledger';
import { WxOauthError, exchangeOauthCode, isOauthUnreachable, oauthAuthorizeUrl } from '../wechatpay/oauth';
import { deviceOf, switchFor } from '../http/device';
import { sameText } from '../timing-safe';
import { qrSvg } from './qr';
import { closeTrade, renewAttempt } from './attempts';
import { checkPaymentNow, offerPayment, payContextOf, payPage, startPayment, type PayOffer } from './service';

declare module 'express-session' {
  interface SessionData {
    /** the payer's openid for our AppID, from the Official Account's web authorization (JSAPI) */
    wxOpenid?: string;
    /** a web authorization under way: its state (bound to this session) and the pay page to go back to */
    wxOauth?: { state: string; returnTo: string; startedAt: number };
    /** new payment attempts this session made ("pay again", switching), by set of orders (its first order's id) */
    payAttempts?: Record<string, number>;
  }
}

/**
 * New payment attempts one session may make for one set of orders ("pay again" and switching how
 * to pay), below the orders' own bound (the ledger's MAX_ATTEMPTS_PER_ORDERS, 10 in all): a
 * stranger who found an order by its number and mobile cannot use up its owner's attempts alone.
 */
export const MAX_ATTEMPTS_PER_SESSION = 4;
/** a session remembers this many sets of orders */
const ATTEMPT_SETS_KEPT = 20;

/** The QR code's time left as a duration people read: "1小时59分" / "4分08秒" (the pay page's script counts down in the same words). */
export function formatDuration(seconds: number, t: Translate): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? t('duration.hm', { h, m }) : t('duration.ms', { m, s: String(s).padStart(2, '0') });
}

/** The pay page's countdown turns red this close to the end. */
export const URGENT_SECONDS = 300;

/** A web authorization must come back within this (WeChat's code itself lives 5 minutes). */
const OAUTH_MAX_AGE_MS = 10 * 60 * 1000;

/**
 * The shopper's pay pages: the QR code (NATIVE), the Pay button of a phone's browser (MWEB: to
 * WeChat's H5 cashier and back) and of WeChat's browser (JSAPI: the Official Account's web
 * authorization for the payer's openid, then WeixinJSBridge with the shop's second signature),
 * the switch between them, "I have paid", "pay again", "buy these again" and the success page.
 * Nothing a browser brings back (the cashier's return, the bridge's "ok") is taken as proof of
 * payment: the webhook or orderquery decides, as everywhere.
 */
export function payRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config' | 'wxpay' | 'payments'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const wx = payContextOf(deps);
  const { config } = deps;
  const simulatorMode = config.wxpay.mode === 'simulator';
  const enabled = config.wxpay.tradeTypes;

  /** The shop's public address: SHOP_URL, else the one this request came to (behind a trusted proxy, its forwarded host). */
  const publicOrigin = (req: Request) => publicOriginOf(req, config.shopUrl);
  /**
   * Where the browser opens WeChat's H5 cashier. The built-in simulator answers unifiedorder at the
   * address the shop calls it on (this process's own): the browser goes to the same page at the
   * shop's public origin, which is where the shopper reached this instance (or any other).
   */
  const cashierUrl = (req: Request, mwebUrl: string) => {
    if (!simulatorMode || config.wxpay.baseUrl !== undefined) return mwebUrl;
    const url = new URL(mwebUrl);
    return `${publicOrigin(req)}${url.pathname}${url.search}`;
  };

  // every /pay/:outTradeNo route: the attempt with its orders and items, in one statement, for
  // this session's shopper (or a session that found one of its orders) only: anyone else, and a
  // malformed number, get the same 404
  const attemptOf = loadPathParam(router, 'outTradeNo', async (value, req, res) => {
    if (!isOutTradeNo(value)) throw new NotFound('malformed out_trade_no', 'pay.notFound');
    const page = await payPage(knex, value, existingShopperId(req), foundOrdersOf(req));
    // the header's badge, from the same statement (src/orders leaves /pay pages to us)
    res.locals.unpaidCount = page.unpaidCount;
    return page;
  });

  /** Where an offer that is not a payment sends the shopper (or renders), shared by every way to pay. */
  const settledOffer = async (req: Request, res: Response, offer: Exclude<PayOffer, { kind: 'qr' | 'button' }>, orders: OrderWithItems[]) => {
    const outTradeNo = offer.paylog.out_trade_no;
    if (offer.kind === 'paid') return res.redirect(303, `/pay/${outTradeNo}/success`);
    if (offer.kind === 'moved') return res.redirect(303, `/pay/${offer.to}`);
    if (offer.kind === 'paid_elsewhere') {
      // an older attempt of these orders was paid late: this one is closed at WeChat and here (now
      // if WeChat allows it, else by the sweeper once it does), and the shopper sees the success
      await closeTrade(knex, wx.provider, { outTradeNo, now: deps.clock(), operator: 'system', event: orderEvent('closed_paid_elsewhere', { outTradeNo: offer.paidBy }) }).catch((err: unknown) =>
        req.log.warn({ err, outTradeNo }, 'could not close a superseded attempt yet; the sweeper will'),
      );
      return res.redirect(303, `/pay/${offer.paidBy}/success`);
    }
    const ordersOpen = orders.length > 0 && orders.every((o) => o.status === 'unpaid');
    return res.render('pay/expired', { paylog: offer.paylog, orders, reason: offer.kind, canRenew: ordersOpen });
  };

  /** What every live pay page shows: the countdown and the switch to the other way, if any. */
  const livePage = (req: Request, res: Response, paylog: Paylog, expiresAt: Date) => {
    const secondsLeft = Math.max(0, Math.floor((expiresAt.getTime() - deps.clock().getTime()) / 1000));
    return {
      paylog,
      expiresAt,
      secondsLeft,
      timeLeft: formatDuration(secondsLeft, res.locals.t as Translate),
      urgent: secondsLeft <= URGENT_SECONDS,
      urgentSeconds: URGENT_SECONDS,
      switchTo: switchFor(deviceOf(req.get('user-agent')), paylog.trade_type, enabled),
      returned: req.query.returned === '1',
    };
  };

  // WeChat's web authorization comes back here: ?code=...&state=... (no code: the user refused)
  // (before /pay/:outTradeNo, whose parameter would take "oauth" for a payment number)
  router.get('/pay/oauth', async (req, res) => {
    const pending = req.session.wxOauth;
    const code = typeof req.query.code === 'string' ? req.query.code : '';
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    // the state must be the one this very session sent, recently: anything else (another tab's,
    // another browser's, a replay) is refused and changes nothing
    if (!pending || state === '' || !sameText(state, pending.state) || deps.clock().getTime() - pending.startedAt > OAUTH_MAX_AGE_MS) {
      throw new Invalid('web authorization state does not match this session', 'pay.oauth.stateMismatch');
    }
    delete req.session.wxOauth;
    if (code === '') throw new Invalid('the WeChat user did not authorize', 'pay.oauth.refused');
    let identity;
    try {
      identity = await exchangeOauthCode({ base: deps.wxpay.oauth.apiBase, appId: config.wxpay.appId, secret: config.wxpay.oaSecret ?? '', code });
    } catch (err) {
      if (err instanceof WxOauthError) throw new Invalid(err.message, 'pay.oauth.failed');
      if (isOauthUnreachable(err)) throw new UpstreamFailed(err.message, 'pay.error.upstream');
      throw err;
    }
    req.session.wxOpenid = identity.openid;
    res.redirect(303, pending.returnTo.startsWith('/pay/') ? pending.returnTo : '/orders');
  });

  router.get('/pay/:outTradeNo', async (req, res) => {
    const { paylog, orders } = attemptOf(req);
    const outTradeNo = paylog.out_trade_no;
    let offer;
    try {
      offer = await offerPayment(knex, wx, paylog, deps.clock(), orders);
    } catch (err) {
      if (!(err instanceof UpstreamFailed)) throw err;
      req.log.warn({ err, outTradeNo }, 'unifiedorder failed');
      return res.status(502).render('pay/unavailable', { paylog, orders });
    }
    if (offer.kind === 'qr') {
      return res.render('pay/index', {
        ...livePage(req, res, offer.paylog, offer.expiresAt),
        orders,
        codeUrl: offer.codeUrl,
        qr: await qrSvg(offer.codeUrl),
        phoneHref: simulatorMode ? `/wxsim/scan?code_url=${encodeURIComponent(offer.codeUrl)}` : undefined,
      });
    }
    if (offer.kind !== 'button') return settledOffer(req, res, offer, orders);
    const wayOff = !enabled.includes(paylog.trade_type);
    // JSAPI needs the payer's openid first: WeChat's silent web authorization, then back here. An
    // attempt left over from when JSAPI was on gets no authorization (its AppSecret may be gone
    // too): its page offers the QR code only
    if (paylog.trade_type === 'JSAPI' && !wayOff && !req.session.wxOpenid) return startWechatLogin(req, res, `/pay/${outTradeNo}`);
    res.render('pay/wechat', {
      ...livePage(req, res, offer.paylog, offer.expiresAt),
      wayOff,
      orders,
      // simulator mode: the simulator's stand-in for WeChat's browser bridge, so a laptop can try JSAPI
      simulatorBridge: simulatorMode && paylog.trade_type === 'JSAPI',
    });
  });

  /** Sends the browser to WeChat's web authorization (snsapi_base: no prompt), with a state bound to this session. */
  const startWechatLogin = async (req: Request, res: Response, returnTo: string) => {
    await startShopping(req);
    const state = crypto.randomBytes(16).toString('hex');
    req.session.wxOauth = { state, returnTo, startedAt: deps.clock().getTime() };
    const base = deps.wxpay.oauth.authorizeBase ?? `${publicOrigin(req)}/wxsim`;
    res.redirect(303, oauthAuthorizeUrl({ base, appId: config.wxpay.appId, redirectUri: `${publicOrigin(req)}/pay/oauth`, state }));
  };

  // MWEB: the Pay button of a phone's browser: WeChat's H5 cashier, which comes back to this page
  router.post('/pay/:outTradeNo/h5', async (req, res) => {
    const { paylog, orders } = attemptOf(req);
    if (!enabled.includes('MWEB')) throw new Invalid('H5 payment is not offered', 'pay.error.wayOff');
    const ip = clientIp(req);
    // WeChat's cashier compares the address it sees with spbill_create_ip: it must be the shopper's
    if (!simulatorMode && !isPublicAddress(ip)) throw new Invalid(`H5 payment needs the shopper's public address; this request comes from ${ip} (check TRUST_PROXY)`, 'pay.h5.noAddress');
    const started = await startPayment(knex, wx, paylog, orders, { tradeType: 'MWEB', payerIp: ip, site: { url: publicOrigin(req), name: config.shopName } }, deps.clock());
    if (started.kind !== 'mweb') return res.redirect(303, `/pay/${paylog.out_trade_no}`);
    const back = `${publicOrigin(req)}/pay/${paylog.out_trade_no}?returned=1`;
    const cashier = cashierUrl(req, started.cashierUrl);
    res.redirect(303, `${cashier}${cashier.includes('?') ? '&' : '?'}redirect_url=${encodeURIComponent(back)}`);
  });

  // JSAPI: the Pay button in WeChat's browser asks for the bridge's signed parameters (JSON)
  router.post('/pay/:outTradeNo/jsapi', async (req, res) => {
    const { paylog, orders } = attemptOf(req);
    // the error handler answers a JSON client in JSON, in the shopper's language
    if (!enabled.includes('JSAPI')) throw new Invalid('JSAPI payment is not offered', 'pay.error.wayOff');
    const openid = req.session.wxOpenid;
    if (!openid) return res.status(409).json({ error: { code: 'pay.jsapi.noOpenid', message: (res.locals.t as Translate)('pay.jsapi.noOpenid') }, redirect: `/pay/${paylog.out_trade_no}` });
    const started = await startPayment(knex, wx, paylog, orders, { tradeType: 'JSAPI', openid }, deps.clock());
    if (started.kind !== 'jsapi') return res.json({ redirect: `/pay/${paylog.out_trade_no}` });
    res.set('Cache-Control', 'no-store').json({ params: wx.provider.bridgeParams(started.prepayId, deps.clock()) });
  });

  // the visible switch: "pay with a QR code instead" / "open in WeChat": a new attempt paid that way
  router.post('/pay/:outTradeNo/switch', async (req, res) => {
    const { paylog, orders } = attemptOf(req);
    const to = String((req.body as Record<string, unknown>).trade_type ?? '') as TradeType;
    if (!(TRADE_TYPES as readonly string[]).includes(to) || !enabled.includes(to)) throw new Invalid(`no way to pay called ${to}`, 'pay.switch.unknown');
    const outcome = await renewOrFlash(req, paylog, orders, to);
    res.redirect(303, outcome);
  });

  /** "pay again" / switch, with the shopper's mistakes answered on the pay page. */
  const renewOrFlash = async (req: Request, paylog: Paylog, orders: OrderWithItems[], tradeType?: TradeType): Promise<string> => {
    // counted per session as well as per set of orders (in the session, so on every instance)
    const setKey = String(Math.min(...orders.map((o) => o.id)));
    const made = req.session.payAttempts?.[setKey] ?? 0;
    if (made >= MAX_ATTEMPTS_PER_SESSION) throw new Conflict(`this session made ${made} attempts for these orders`, 'pay.error.tooManySessionAttempts', { max: MAX_ATTEMPTS_PER_SESSION });
    let outcome;
    try {
      outcome = await renewAttempt(knex, wx.provider, { outTradeNo: paylog.out_trade_no, shopperId: paylog.shopper_id, now: deps.clock(), qrTtlSeconds: config.payQrTtlSeconds, tradeType });
    } catch (err) {
      // closed meanwhile (the sweeper gave the stock back): the expired page offers "buy these again";
      // a payment in progress at WeChat is a 409 page that says so
      if (!(err instanceof Conflict && err.messageKey === 'pay.error.ordersClosed')) throw err;
      flash(req, 'pay.ordersClosed');
      return `/pay/${paylog.out_trade_no}`;
    }
    if (outcome.kind === 'renewed' && outcome.outTradeNo !== paylog.out_trade_no) {
      const kept = Object.entries(req.session.payAttempts ?? {}).filter(([key]) => key !== setKey).slice(-(ATTEMPT_SETS_KEPT - 1));
      req.session.payAttempts = Object.fromEntries([...kept, [setKey, made + 1]]);
    }
    return outcome.kind === 'paid' ? `/pay/${outcome.outTradeNo}/success` : `/pay/${outcome.outTradeNo}`;
  };

  // "I have paid": works without JavaScript (a form post), answers on the pay page itself
  router.post('/pay/:outTradeNo/check', async (req, res) => {
    const { paylog } = attemptOf(req);
    const outcome = await checkPaymentNow(knex, wx.provider, paylog, deps.clock(), { qrTtlSeconds: wx.qrTtlSeconds, queryIntervalSeconds: config.poll.queryIntervalSeconds });
    if (outcome === 'paid') return res.redirect(303, `/pay/${paylog.out_trade_no}/success`);
    if (outcome === 'not_paid') flash(req, 'pay.notPaidYet');
    else if (outcome === 'asked_recently') flash(req, 'pay.askedRecently', { seconds: config.poll.queryIntervalSeconds });
    else if (outcome === 'unreachable') flash(req, 'pay.unreachable');
    res.redirect(303, `/pay/${paylog.out_trade_no}`);
  });

  router.post('/pay/:outTradeNo/renew', async (req, res) => {
    // the payment's own shopper: this session's, or the one whose order it found by number and mobile
    const { paylog, orders } = attemptOf(req);
    res.redirect(303, await renewOrFlash(req, paylog, orders));
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
