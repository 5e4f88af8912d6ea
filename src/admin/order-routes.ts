import { Router, type Request } from 'express';
import type { ResolvedDeps } from '../deps';
import { NotFound } from '../errors';
import { COD_ACTIONS, ORDER_STATUSES, PAY_TYPES, awaitsDelivery, changeCodOrder, codActionsOf, orderStateOf, type CodAction } from '../ledger';
import { auditChange } from './audit';
import { confirmed, onlyParams, operatorOf } from './http';
import { need } from './permissions';
import { codNotice, takeNotice } from './notices';
import { listOrders, parseOrderFilter } from './orders';

function codParams(req: Request): { orderId: number; action: CodAction } {
  const id = String(req.params.orderId ?? '');
  const action = String(req.params.action ?? '') as CodAction;
  if (!/^\d{1,15}$/.test(id) || !COD_ACTIONS.includes(action)) throw new NotFound('no such order action', 'admin.orders.notFound');
  return { orderId: Number(id), action };
}

/** Every order whatever its pay type (/admin/orders); cash-on-delivery orders are settled here by hand. */
export function adminOrderRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  router.get('/orders', need('view'), async (req, res) => {
    onlyParams(req, ['pay_type', 'status', 'before', 'q']);
    const filter = parseOrderFilter(req.query as Record<string, unknown>);
    const page = await listOrders(knex, filter);
    res.render('admin/orders', {
      nav: 'orders',
      filter,
      page,
      statuses: ORDER_STATUSES,
      payTypes: PAY_TYPES,
      codAcceptHours: deps.config.codAcceptHours,
      codActionsOf,
      awaitsDelivery,
      notice: takeNotice(req),
    });
  });

  router.get('/orders/:orderId/:action', need('orders'), (req, res) => {
    onlyParams(req, []);
    const { orderId, action } = codParams(req);
    res.render('admin/confirm', {
      nav: 'orders',
      title: `admin.orders.action.${action}`,
      text: `admin.orders.confirm.${action}`,
      textParams: { id: orderId },
      action: `/admin/orders/${orderId}/${action}`,
      back: '/admin/orders?pay_type=cod',
      fields: {},
      danger: action === 'cancel',
    });
  });

  router.post('/orders/:orderId/:action', need('orders'), async (req, res) => {
    const { orderId, action } = codParams(req);
    if (!confirmed(req)) return res.redirect(303, `/admin/orders/${orderId}/${action}`);
    const before = await orderStateOf(knex, orderId);
    const outcome = await changeCodOrder(knex, { orderId, action, operator: operatorOf(req), now: deps.clock() });
    auditChange(res, { before, after: await orderStateOf(knex, orderId) });
    req.session.adminNotice = codNotice(outcome, orderId);
    res.redirect(303, '/admin/orders?pay_type=cod');
  });

  return router;
}
