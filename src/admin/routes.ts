import { Router } from 'express';
import type { ResolvedDeps } from '../deps';
import { adminAuthRoutes } from './auth-routes';
import { requireAdmin } from './auth';
import { adminOrderRoutes } from './order-routes';
import { adminPaylogRoutes } from './paylog-routes';
import { adminRefundRoutes } from './refund-routes';
import { adminAlertRoutes } from './alert-routes';
import { adminShippingRoutes } from './shipping-routes';

/**
 * The merchant's admin, mounted at /admin after the session, body parser, locale and CSRF
 * middleware: login and logout (auth-routes.ts), then behind requireAdmin the payments
 * (paylog-routes.ts: dashboard, paylog table and CSV, detail, query, close, reconcile), refunds
 * (refund-routes.ts) and every order with cash on delivery settled by hand (order-routes.ts).
 */
export function adminRoutes(deps: ResolvedDeps): Router {
  const router = Router();
  router.use(adminAuthRoutes(deps));
  router.use(requireAdmin);
  router.use(adminPaylogRoutes(deps));
  router.use(adminRefundRoutes(deps));
  // before the cash-on-delivery actions: their /orders/:orderId/:action would take /orders/:orderId/ship
  router.use(adminShippingRoutes(deps));
  router.use(adminAlertRoutes(deps));
  router.use(adminOrderRoutes(deps));
  return router;
}
