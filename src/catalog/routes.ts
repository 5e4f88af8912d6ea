import { Router } from 'express';
import type { AppDeps } from '../deps';
import { listProducts } from './service';

export function catalogRoutes(deps: AppDeps): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const products = await listProducts(deps.db.knex);
    res.render('catalog/index', { products });
  });
  return router;
}
