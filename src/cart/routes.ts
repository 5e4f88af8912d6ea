import { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../deps';
import { listProducts } from '../catalog/service';
import { Invalid } from '../errors';
import { cartOf, flash, startShopping, type Cart } from '../http/shopper';
import type { Translate } from '../i18n';
import { addToCart, parseProductId, parseQuantity, removeFromCart, setQuantity, viewCart } from './service';

/** The pay-page-free script (public/js/site.js) asks for JSON; a plain form post gets a page. */
function wantsJson(req: Request): boolean {
  return (req.get('accept') ?? '').includes('application/json');
}

const countOf = (cart: Cart) => Object.values(cart).reduce((sum, q) => sum + q, 0);

export function cartRoutes(deps: Pick<AppDeps, 'db'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  /**
   * A shopper's mistake (too many, sold out, not a number) answers on the page it came from, next
   * to the product or the cart line, with status 400 and nothing changed: the catalog or the cart
   * drawn again, or JSON for the script.
   */
  const refuse = async (req: Request, res: Response, err: Invalid, productId: number, from: 'catalog' | 'cart') => {
    const message = (res.locals.t as Translate)(err.messageKey, err.params);
    res.status(400);
    if (wantsJson(req)) return res.json({ error: { status: 400, code: err.kind, message } });
    const lineError = { productId, message, quantity: String(req.body.quantity ?? '').slice(0, 6) };
    if (from === 'cart') return res.render('cart/index', { cart: await viewCart(knex, cartOf(req)), lineError });
    res.render('catalog/index', { products: await listProducts(knex), lineError });
  };

  router.get('/cart', async (req, res) => {
    res.render('cart/index', { cart: await viewCart(knex, cartOf(req)), lineError: undefined });
  });

  router.post('/cart/add', async (req, res) => {
    const productId = parseProductId(req.body.product_id);
    const from = req.body.return_to === 'cart' ? 'cart' : 'catalog';
    let cart: Cart;
    let quantity: number;
    try {
      quantity = parseQuantity(req.body.quantity ?? '1');
      cart = await addToCart(knex, cartOf(req), productId, quantity);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      return refuse(req, res, err, productId, from);
    }
    await startShopping(req);
    req.session.cart = cart;
    if (wantsJson(req)) {
      const t = res.locals.t as Translate;
      // the first line in the cart gives the session a new CSRF token: the page's other forms need it
      return res.json({ message: t('flash.cart.added', { quantity }), cartCount: countOf(cart), cartLabel: t('nav.cartCount', { count: countOf(cart) }), csrfToken: (res.locals.csrfToken as () => string)() });
    }
    flash(req, 'cart.added', { quantity, productId });
    res.redirect(303, from === 'cart' ? '/cart' : `/#product-${productId}`);
  });

  router.post('/cart/update', async (req, res) => {
    const productId = parseProductId(req.body.product_id);
    try {
      req.session.cart = await setQuantity(knex, cartOf(req), productId, parseQuantity(req.body.quantity));
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      return refuse(req, res, err, productId, 'cart');
    }
    flash(req, 'cart.updated');
    res.redirect(303, '/cart');
  });

  router.post('/cart/remove', async (req, res) => {
    req.session.cart = removeFromCart(cartOf(req), parseProductId(req.body.product_id));
    flash(req, 'cart.removed');
    res.redirect(303, '/cart');
  });

  return router;
}
