import { Router } from 'express';
import type { ResolvedDeps } from '../deps';
import { NotFound } from '../errors';
import { formatDateTime } from '../beijing-time';
import { existingShopperId, flash, foundOrdersOf } from '../http/shopper';
import { formatFen } from '../money';
import { askAfterDelivery, cancelPaid, cancelUnpaid, withdrawRequest } from './service';

/** An order number in a path: digits only, else "not found" (nothing is read, nothing changes). */
function orderIdOf(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new NotFound(`no order ${raw}`, 'orders.notFound');
  return Number(raw);
}

/**
 * The shopper's after-sales doors (issue 24): cancel an unpaid checkout. Only for the session that
 * placed the order or found it (/orders/find); anyone else gets "not found".
 */
export function aftersaleRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'payments' | 'config'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  router.post('/orders/:orderId/cancel', async (req, res) => {
    const orderId = orderIdOf(req.params.orderId);
    const result = await cancelUnpaid(knex, deps.payments, { orderId, shopperId: existingShopperId(req), found: foundOrdersOf(req), now: deps.clock() });
    switch (result.kind) {
      case 'paid':
        // paid after all: the paid page, never an error
        flash(req, 'aftersale.cancel.paidMeanwhile', { id: orderId });
        return res.redirect(303, `/pay/${result.outTradeNo}/success`);
      case 'cancelled':
        flash(req, 'aftersale.cancel.done', { id: orderId });
        return res.redirect(303, `/orders/${orderId}`);
      case 'requested':
        flash(req, 'aftersale.cancel.requested', { id: orderId, time: formatDateTime(result.closesAt) });
        return res.redirect(303, `/orders/${orderId}`);
    }
  });

  // a paid order that has not shipped: refunded in full at once, or asked of the merchant
  router.post('/orders/:orderId/cancel-paid', async (req, res) => {
    const orderId = orderIdOf(req.params.orderId);
    const outcome = await cancelPaid(knex, deps.payments, { orderId, shopperId: existingShopperId(req), found: foundOrdersOf(req), approval: deps.config.aftersale.cancelApproval, clock: deps.clock });
    if (outcome.kind === 'refund') flash(req, 'aftersale.cancelPaid.refund', { id: orderId, amount: formatFen(outcome.amountFen) });
    else flash(req, outcome.kind === 'requested' ? 'aftersale.cancelPaid.requested' : 'aftersale.cancelPaid.already', { id: orderId });
    res.redirect(303, `/orders/${orderId}`);
  });

  // after shipment, within the return window: "refund only" or "return and refund"
  router.post('/orders/:orderId/aftersales', async (req, res) => {
    const orderId = orderIdOf(req.params.orderId);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { aftersaleId } = await askAfterDelivery(knex, {
      orderId,
      shopperId: existingShopperId(req),
      found: foundOrdersOf(req),
      kind: body.kind,
      reason: body.reason,
      amount: body.amount,
      note: body.note,
      now: deps.clock(),
      returnDays: deps.config.aftersale.returnDays,
    });
    flash(req, 'aftersale.asked', { id: aftersaleId });
    res.redirect(303, `/orders/${orderId}`);
  });

  router.post('/orders/:orderId/aftersales/:aftersaleId/withdraw', async (req, res) => {
    const orderId = orderIdOf(req.params.orderId);
    const aftersaleId = orderIdOf(req.params.aftersaleId);
    const outcome = await withdrawRequest(knex, { orderId, aftersaleId, shopperId: existingShopperId(req), found: foundOrdersOf(req), now: deps.clock() });
    flash(req, outcome === 'withdrawn' ? 'aftersale.withdrawn' : 'aftersale.notWaiting', { id: aftersaleId });
    res.redirect(303, `/orders/${orderId}`);
  });

  return router;
}
