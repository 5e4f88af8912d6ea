import { Router } from 'express';
import type { AppDeps } from '../app';
import { cartOf, flash, startShopping } from '../http/shopper';
import { addToCart, parseProductId, parseQuantity, removeFromCart, setQuantity, viewCart } from './service';

export function cartRoutes(deps: Pick<AppDeps, 'db'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  router.get('/cart', async (req, res) => {
    res.render('cart/index', { cart: await viewCart(knex, cartOf(req)) });
  });

  router.post('/cart/add', async (req, res) => {
    const productId = parseProductId(req.body.product_id);
    const quantity = parseQuantity(req.body.quantity ?? '1');
    const cart = await addToCart(knex, cartOf(req), productId, quantity);
    await startShopping(req);
    req.session.cart = cart;
    flash(req, 'cart.added', { quantity });
    res.redirect(303, req.body.return_to === 'cart' ? '/cart' : `/#product-${productId}`);
  });

  router.post('/cart/update', async (req, res) => {
    const productId = parseProductId(req.body.product_id);
    req.session.cart = await setQuantity(knex, cartOf(req), productId, parseQuantity(req.body.quantity));
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
