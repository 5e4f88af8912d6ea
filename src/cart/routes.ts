import { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../deps';
import { catalogView, productPage } from '../catalog/service';
import { Invalid } from '../errors';
import { cartOf, flash, startShopping, type Cart } from '../http/shopper';
import type { Translate } from '../i18n';
import { addToCart, lineOf, parseQuantity, removeFromCart, setQuantity, variantToAdd, viewCart } from './service';

/** The pay-page-free script (public/js/site.js) asks for JSON; a plain form post gets a page. */
function wantsJson(req: Request): boolean {
  return (req.get('accept') ?? '').includes('application/json');
}

type From = 'catalog' | 'product' | 'cart';

const countOf = (cart: Cart) => Object.values(cart).reduce((sum, q) => sum + q, 0);

export function cartRoutes(deps: Pick<AppDeps, 'db'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  /**
   * A shopper's mistake (too many, sold out, not a number) answers on the page it came from, next
   * to the product or the cart line, with status 400 and nothing changed: the catalog or the cart
   * drawn again, or JSON for the script.
   */
  const refuse = async (req: Request, res: Response, err: Invalid, lineId: number, from: From) => {
    const message = (res.locals.t as Translate)(err.messageKey, err.params);
    res.status(400);
    if (wantsJson(req)) return res.json({ error: { status: 400, code: err.kind, message } });
    const lineError = { productId: lineId, message, quantity: String(req.body.quantity ?? '').slice(0, 6) };
    if (from === 'cart') return res.render('cart/index', { cart: await viewCart(knex, cartOf(req)), lineError });
    if (from === 'product') return res.render('catalog/product', { product: await productPage(knex, lineId), lineError, variantId: String(req.body.variant_id ?? '') });
    res.render('catalog/index', { ...(await catalogView(knex, { page: 1 })), lineError });
  };

  router.get('/cart', async (req, res) => {
    res.render('cart/index', { cart: await viewCart(knex, cartOf(req)), lineError: undefined });
  });

  router.post('/cart/add', async (req, res) => {
    const from: From = req.body.return_to === 'cart' ? 'cart' : req.body.return_to === 'product' ? 'product' : 'catalog';
    // the card or product page the answer is drawn next to
    const productId = /^\d{1,9}$/.test(String(req.body.product_id ?? '')) ? Number(req.body.product_id) : 0;
    let cart: Cart;
    let quantity: number;
    let variantId = 0;
    try {
      variantId = await variantToAdd(knex, req.body as Record<string, unknown>);
      quantity = parseQuantity(req.body.quantity ?? '1');
      cart = await addToCart(knex, cartOf(req), variantId, quantity);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      return refuse(req, res, err, from === 'cart' ? variantId : productId, from);
    }
    await startShopping(req);
    req.session.cart = cart;
    if (wantsJson(req)) {
      const t = res.locals.t as Translate;
      // the first line in the cart gives the session a new CSRF token: the page's other forms need it
      return res.json({ message: t('flash.cart.added', { quantity }), cartCount: countOf(cart), cartLabel: t('nav.cartCount', { count: countOf(cart) }), csrfToken: (res.locals.csrfToken as () => string)() });
    }
    flash(req, 'cart.added', { quantity, productId });
    res.redirect(303, from === 'cart' ? '/cart' : from === 'product' ? `/products/${productId}` : `/#product-${productId}`);
  });

  router.post('/cart/update', async (req, res) => {
    const variantId = await lineOf(knex, cartOf(req), req.body as Record<string, unknown>);
    try {
      req.session.cart = await setQuantity(knex, cartOf(req), variantId, parseQuantity(req.body.quantity));
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      return refuse(req, res, err, variantId, 'cart');
    }
    flash(req, 'cart.updated');
    res.redirect(303, '/cart');
  });

  router.post('/cart/remove', async (req, res) => {
    req.session.cart = removeFromCart(cartOf(req), await lineOf(knex, cartOf(req), req.body as Record<string, unknown>));
    flash(req, 'cart.removed');
    res.redirect(303, '/cart');
  });

  return router;
}
