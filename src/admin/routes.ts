import { Router } from 'express';
import type { ResolvedDeps } from '../deps';
import { auditActions } from './audit';
import { accountRoutes, auditRoutes, staffRoutes } from './team-routes';
import { adminAuthRoutes } from './auth-routes';
import { requireAdmin, type AdminCredentials } from './auth';
import { adminOrderRoutes } from './order-routes';
import { adminPaylogRoutes } from './paylog-routes';
import { adminRefundRoutes } from './refund-routes';
import { adminAlertRoutes } from './alert-routes';
import { adminShippingRoutes } from './shipping-routes';

/**
 * The merchant's admin, mounted at /admin after the session, body parser, locale and CSRF
 * middleware: login and logout (auth-routes.ts), then behind requireAdmin (who is signed in, and
 * their role) and the audit log (every action recorded) the payments (paylog-routes.ts:
 * dashboard, paylog table and CSV, detail, query, close, flags, reconcile), refunds
 * (refund-routes.ts), every order with cash on delivery settled by hand (order-routes.ts), and
 * the team (team-routes.ts: staff, one's own account, the audit log), and the rooms app.ts hands
 * over to sit behind the same gate (products, the shop's settings: feature folders of their own,
 * which import the admin's guards, never the other way round). Each route names the permission it
 * needs (permissions.ts; roles.ts says which role has it).
 */
export function adminRoutes(deps: ResolvedDeps, owner: AdminCredentials, rooms: readonly Router[] = []): Router {
  const router = Router();
  router.use(adminAuthRoutes(deps, owner));
  router.use(requireAdmin(deps.db.knex, owner));
  router.use(auditActions(deps.db.knex, deps.clock, deps.logger));
  router.use(adminPaylogRoutes(deps));
  router.use(adminRefundRoutes(deps));
  // before the cash-on-delivery actions: their /orders/:orderId/:action would take /orders/:orderId/ship
  router.use(adminShippingRoutes(deps));
  router.use(adminAlertRoutes(deps));
  router.use(adminOrderRoutes(deps));
  router.use(staffRoutes(deps, owner));
  router.use(accountRoutes(deps, owner));
  router.use(auditRoutes(deps));
  for (const room of rooms) router.use(room);
  return router;
}
