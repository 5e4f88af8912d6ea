import { Router, type Request } from 'express';
import type { ResolvedDeps } from '../deps';
import { beginLoginAttempt, failLoginAttempt, forgetLoginAttempt, type LoginLimit } from '../http/attempt-limit';
import { NotFound } from '../errors';
import { AFTERSALE_REASONS, aftersalesOfOrder, awaitsDelivery, canCancelPaid, decideAfterDelivery, returnWindowEndsAt, refundsOfOrders, shopperOrderAction, unpaidOffersOf } from '../ledger';
import { cartOf, existingShopperId, flash, foundOrdersOf, startShopping } from '../http/shopper';
import { clientAddressKey } from '../http/client-ip';
import { buyAgain, findOrderByMobile, maskMobile, ordersOfSession, parseOrderNumber, unpaidCountOf } from './service';
import { confirmReceipt, shopperOrderPage } from './order-page';

/**
 * Order lookups by number and mobile, shared by every instance: 5 misses per address in 15 minutes
 * (whatever the numbers), and an order number missed 5 times from anywhere makes each further try
 * wait (1, 2, 4 ... seconds, up to the window), so guessing one order's mobile from many addresses
 * stays slow too.
 */
const FIFTEEN_MINUTES = 15 * 60 * 1000;
export const ORDER_LOOKUP_LIMIT: LoginLimit = {
  pairFailures: 5,
  pairWindowMs: FIFTEEN_MINUTES,
  ipFailures: 5,
  ipWindowMs: FIFTEEN_MINUTES,
  userDelayAfter: 5,
  userWindowMs: FIFTEEN_MINUTES,
  userMaxDelayMs: FIFTEEN_MINUTES,
};
/** a session keeps at most this many found orders */
const MAX_FOUND = 20;

/** The payment attempts of the unpaid WeChat Pay orders among these (their time left and cancel). */
function unpaidAttemptsOf(orders: readonly { status: string; pay_type: string; out_trade_no: string | null }[]): string[] {
  return orders.flatMap((o) => (o.status === 'unpaid' && o.pay_type === 'wxpay' && o.out_trade_no ? [o.out_trade_no] : []));
}

/** Shop pages with the header's badge; the pay pages count it in their own statement (src/pay/routes.ts). */
function wantsPage(req: Request): boolean {
  return req.method === 'GET' && !req.path.startsWith('/wxsim') && !req.path.startsWith('/admin') && !req.path.startsWith('/pay/');
}

/**
 * "My orders": the session's orders (pending first, with "pay now"), finding an order by its
 * number and the receiver's mobile from another device, "buy these again", and the header's badge
 * of unpaid orders.
 */
export function orderRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  // the header's badge, on every shop page of a session that has orders
  router.use(async (req, res, next) => {
    const shopperId = existingShopperId(req);
    const found = foundOrdersOf(req);
    res.locals.unpaidCount = wantsPage(req) && (shopperId || found.length > 0) ? await unpaidCountOf(knex, shopperId, found) : 0;
    next();
  });

  router.get('/orders', async (req, res) => {
    const orders = await ordersOfSession(knex, existingShopperId(req), foundOrdersOf(req));
    const offers = await unpaidOffersOf(knex, unpaidAttemptsOf(orders), deps.config.payQrTtlSeconds);
    res.render('orders/index', { orders, offers, now: deps.clock(), maskMobile, shopperOrderAction, awaitsDelivery });
  });

  router.get('/orders/find', (_req, res) => {
    res.render('orders/find', { values: {}, error: undefined });
  });

  router.post('/orders/find', async (req, res) => {
    const values = { order_id: String(req.body.order_id ?? '').slice(0, 20), mobile: String(req.body.mobile ?? '').slice(0, 20) };
    const now = deps.clock();
    // counted per address (an IPv6 one by its /64) and per order NUMBER: "1", "01" and "#1" are one
    // order's budget; what is no order number at all shares one
    const ticket = await beginLoginAttempt(knex, { ip: `lookup:${clientAddressKey(req)}`, username: `order:${parseOrderNumber(values.order_id) ?? '-'}`, now }, ORDER_LOOKUP_LIMIT);
    if (!ticket.allowed) {
      res.set('Retry-After', String(ticket.retryAfterSeconds));
      return res.status(429).render('orders/find', { values, error: { key: 'orders.find.tooMany', params: { minutes: Math.ceil(ticket.retryAfterSeconds / 60) } } });
    }
    const orderId = await findOrderByMobile(knex, values.order_id, values.mobile);
    if (orderId === undefined) {
      await failLoginAttempt(knex, ticket.id);
      return res.status(400).render('orders/find', { values, error: { key: 'orders.find.noMatch', params: {} } });
    }
    await forgetLoginAttempt(knex, ticket.id);
    await startShopping(req);
    req.session.foundOrders = [orderId, ...foundOrdersOf(req).filter((id) => id !== orderId)].slice(0, MAX_FOUND);
    flash(req, 'orders.found', { id: orderId });
    res.redirect(303, '/orders');
  });

  // one order: its timeline, its parcel, "confirm receipt"
  router.get('/orders/:orderId', async (req, res) => {
    if (!/^\d{1,15}$/.test(req.params.orderId)) throw new NotFound(`no order ${req.params.orderId}`, 'orders.notFound');
    const page = await shopperOrderPage(knex, Number(req.params.orderId), existingShopperId(req), foundOrdersOf(req));
    const offers = await unpaidOffersOf(knex, unpaidAttemptsOf([page.order]), deps.config.payQrTtlSeconds);
    const requests = await aftersalesOfOrder(knex, page.order.id);
    const refunds = await refundsOfOrders(knex, [page.order.id]);
    const busy = requests.some((r) => r.status === 'requested') || refunds.some((r) => r.status === 'PENDING' || r.status === 'PROCESSING');
    const { returnDays } = deps.config.aftersale;
    const completedAt = page.shipment?.completed_at ?? null;
    const liveFen = refunds.filter((r) => r.status !== 'REFUNDCLOSE').reduce((sum, r) => sum + r.refund_fee, 0);
    const state = { ...page.order, live_refund_fen: liveFen, waiting: requests.some((r) => r.status === 'requested') };
    const canAsk = decideAfterDelivery(state, completedAt, deps.clock(), returnDays, 1).kind === 'request';
    const aftersale = {
      requests,
      refunds,
      canCancelPaid: canCancelPaid(page.order, busy),
      approval: deps.config.aftersale.cancelApproval,
      ask: canAsk ? { leftFen: page.order.total_fen - liveFen, endsAt: returnWindowEndsAt(page.order.delivery_status === 'completed' ? completedAt : null, returnDays), returnDays, reasons: AFTERSALE_REASONS } : undefined,
    };
    res.render('orders/order', { ...page, offers, aftersale, now: deps.clock(), maskMobile, shopperOrderAction, autoCompleteDays: deps.config.fulfilment.autoCompleteDays, codAcceptHours: deps.config.codAcceptHours });
  });

  router.post('/orders/:orderId/confirm-receipt', async (req, res) => {
    if (!/^\d{1,15}$/.test(req.params.orderId)) throw new NotFound(`no order ${req.params.orderId}`, 'orders.notFound');
    const orderId = Number(req.params.orderId);
    const outcome = await confirmReceipt(knex, { orderId, shopperId: existingShopperId(req), found: foundOrdersOf(req), now: deps.clock(), autoCompleteDays: deps.config.fulfilment.autoCompleteDays });
    flash(req, outcome === 'completed' || outcome === 'already' ? 'orders.received' : 'orders.cannotConfirm', { id: orderId });
    res.redirect(303, `/orders/${orderId}`);
  });

  router.post('/orders/:orderId/buy-again', async (req, res) => {
    const orderId = Number(req.params.orderId);
    const orders = Number.isSafeInteger(orderId) ? await ordersOfSession(knex, existingShopperId(req), foundOrdersOf(req)) : [];
    const order = orders.find((o) => o.id === orderId);
    if (!order) throw new NotFound(`order ${req.params.orderId} is not this session's`, 'orders.notFound');
    const result = await buyAgain(knex, cartOf(req), order.items);
    await startShopping(req);
    req.session.cart = result.cart;
    flash(req, result.skipped > 0 ? 'cart.buyAgainPartly' : 'cart.buyAgain', { added: result.added, skipped: result.skipped });
    res.redirect(303, '/cart');
  });

  return router;
}
