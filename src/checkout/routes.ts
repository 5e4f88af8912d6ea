import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../deps';
import { viewCart } from '../cart/service';
import { DomainError, NotFound } from '../errors';
import { cartOf, existingShopperId, shopperIdOf } from '../http/shopper';
import { CHECKOUT_TOKEN_PATTERN, checkout, validateCheckoutForm, type ReceiverErrors } from './service';
import { ordersOfCheckout } from '../ledger';
import { clientAddressKey } from '../http/client-ip';
import { deviceOf, tradeTypeFor } from '../http/device';

export function checkoutRoutes(deps: Pick<AppDeps, 'db' | 'clock' | 'config'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  const renderForm = async (req: Request, res: Response, values: Record<string, unknown>, errors: ReceiverErrors, status = 200) => {
    const cart = await viewCart(knex, cartOf(req));
    if (cart.groups.length === 0) return res.redirect(303, '/cart');
    res.status(status).render('checkout/index', {
      cart,
      values,
      errors,
      // a new token per rendered form: submitting this form twice makes one set of orders
      checkoutToken: typeof values.checkout_token === 'string' && CHECKOUT_TOKEN_PATTERN.test(values.checkout_token) ? values.checkout_token : crypto.randomBytes(18).toString('base64url'),
    });
  };

  router.get('/checkout', async (req, res) => {
    await renderForm(req, res, { pay_type: 'wxpay' }, {});
  });

  router.post('/checkout', async (req, res) => {
    const form = validateCheckoutForm(req.body as Record<string, unknown>);
    if ('errors' in form) return renderForm(req, res, req.body as Record<string, unknown>, form.errors, 400);
    let result;
    try {
      result = await checkout(knex, {
        shopperId: shopperIdOf(req),
        cart: cartOf(req),
        receiver: form.receiver,
        payType: form.payType,
        // a phone's browser pays by H5, WeChat's browser by JSAPI, a desktop by QR code
        tradeType: tradeTypeFor(deviceOf(req.get('user-agent')), deps.config.wxpay.tradeTypes),
        checkoutToken: String(req.body.checkout_token ?? ''),
        // the per-address limits count an IPv6 client by its /64 (src/http/client-ip.ts)
        clientIp: clientAddressKey(req),
        now: deps.clock(),
        limits: deps.config.checkoutLimits,
      });
    } catch (err) {
      // the shopper's mistakes (too many of something, a stale form) answer on this page, above the form
      if (!(err instanceof DomainError && (err.kind === 'invalid' || err.kind === 'conflict'))) throw err;
      const { checkout_token: _stale, ...values } = req.body as Record<string, unknown>;
      return renderForm(req, res, values, { form: { key: err.messageKey, params: err.params } }, err.kind === 'conflict' ? 409 : 400);
    }
    req.session.cart = {};
    if (result.outTradeNo) return res.redirect(303, `/pay/${result.outTradeNo}`);
    res.redirect(303, `/checkout/${encodeURIComponent(String(req.body.checkout_token))}/complete`);
  });

  // cash on delivery: the orders are placed, nothing to pay now
  router.get('/checkout/:token/complete', async (req, res) => {
    const shopperId = existingShopperId(req);
    if (!shopperId || !CHECKOUT_TOKEN_PATTERN.test(req.params.token)) throw new NotFound('no such checkout');
    const orders = await ordersOfCheckout(knex, shopperId, req.params.token);
    if (orders.length === 0) throw new NotFound('no such checkout');
    res.render('checkout/complete', { orders, totalFen: orders.reduce((sum, o) => sum + o.total_fen, 0), codAcceptHours: deps.config.codAcceptHours });
  });

  return router;
}
