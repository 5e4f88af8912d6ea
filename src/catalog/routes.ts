import { Router } from 'express';
import type { AppDeps } from '../deps';
import { NotFound } from '../errors';
import { catalogView, pageNumber, productPage, searchQuery } from './service';

const ID = /^\d{1,9}$/;

/** The shopper's catalog: all products (`/`), a category, a search, a product's page. Each page one read. */
export function catalogRoutes(deps: Pick<AppDeps, 'db'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  router.get('/', async (req, res) => {
    res.render('catalog/index', await catalogView(knex, { page: pageNumber(req.query.page) }));
  });

  router.get('/category/:id', async (req, res) => {
    if (!ID.test(req.params.id)) throw new NotFound('no such category', 'catalog.error.noCategory');
    res.render('catalog/index', await catalogView(knex, { page: pageNumber(req.query.page), categoryId: Number(req.params.id) }));
  });

  router.get('/search', async (req, res) => {
    const query = searchQuery(req.query.q);
    if (query === '') return res.redirect(303, '/');
    res.render('catalog/index', await catalogView(knex, { page: pageNumber(req.query.page), query }));
  });

  router.get('/products/:id', async (req, res) => {
    if (!ID.test(req.params.id)) throw new NotFound('no such product', 'error.productNotFound');
    res.render('catalog/product', { product: await productPage(knex, Number(req.params.id)), lineError: undefined, variantId: '' });
  });

  return router;
}
