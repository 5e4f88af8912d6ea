import crypto from 'node:crypto';
import { Router, type Request } from 'express';
import type { ResolvedDeps } from '../deps';
import { Invalid, NotFound } from '../errors';
import { ORDER_STATUSES, autoCompleteDueAt, awaitsShipment, codActionsOf, flagIsOpen, refundActions } from '../ledger';
import { fenToYuanString } from '../money';
import { COURIERS, OTHER, trackingUrlOf } from '../shipping/couriers';
import { decodeUpload } from '../shipping/csv-read';
import { applyBatch, correctOne, lineVerdict, parcelOfForm, previewBatch, readBatch, shipOne, type BatchLine } from '../shipping/service';
import { UTF8_BOM, csvLine } from './csv';
import { orderPage, packingList, shippingQueue } from './fulfilment';
import { onlyParams, operatorOf } from './http';
import { takeNotice } from './notices';
import { describeLogged, translateOperator } from './order-log';
import { correctNotice, shipNotice } from './shipping-notices';
import { need } from './permissions';

declare module 'express-session' {
  interface SessionData {
    /** the batch shipment last previewed, applied by its id (so a second "apply" finds nothing new) */
    shipBatch?: { id: string; lines: BatchLine[] };
  }
}

const PACKING_COLUMNS = ['order', 'created', 'seller', 'payType', 'amount', 'receiver', 'mobile', 'address', 'items', 'courier', 'trackingNo'] as const;

function orderIdOf(req: Request): number {
  const id = String(req.params.orderId ?? '');
  if (!/^\d{1,15}$/.test(id)) throw new NotFound('no such order', 'admin.orders.notFound');
  return Number(id);
}

/**
 * The merchant's shipping: the "awaiting shipment" queue, one order's page (receiver, items,
 * payments, refunds, parcel, timeline) with Ship and Correct, the batch shipment from a CSV with
 * its preview, and the packing list. Mounted before the cash-on-delivery actions of
 * order-routes.ts (their `/orders/:orderId/:action` would take `ship`).
 */
export function adminShippingRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const autoCompleteDays = deps.config.fulfilment.autoCompleteDays;

  router.get('/shipping', need('view'), async (req, res) => {
    onlyParams(req, ['after']);
    const after = typeof req.query.after === 'string' && /^\d{1,15}$/.test(req.query.after) ? Number(req.query.after) : undefined;
    if (req.query.after !== undefined && after === undefined) throw new Invalid('bad after', 'admin.error.badParam', { name: 'after' });
    res.render('admin/shipping', { nav: 'shipping', page: await shippingQueue(knex, after), notice: takeNotice(req) });
  });

  router.get('/shipping.csv', need('orders'), async (req, res) => {
    onlyParams(req, []);
    const t = res.locals.t as (key: string, params?: Record<string, string | number>) => string;
    const formatDateTime = res.locals.formatDateTime as (d: Date, withSeconds?: boolean) => string;
    const orders = await packingList(knex);
    const lines = orders.map((o) =>
      csvLine([
        o.id,
        formatDateTime(o.created_at, true),
        o.seller,
        t(`admin.orders.payType.${o.pay_type}`),
        fenToYuanString(o.total_fen),
        o.receiver_name,
        o.receiver_mobile,
        o.receiver_address,
        o.items.map((i) => `${i.title} × ${i.quantity}`).join('; '),
        '',
        '',
      ]),
    );
    const stamp = formatDateTime(deps.clock()).replace(/\D/g, '').slice(0, 12);
    res.set('Content-Type', 'text/csv; charset=utf-8');
    res.set('Content-Disposition', `attachment; filename="packing-list-${stamp}.csv"`);
    res.send(UTF8_BOM + csvLine(PACKING_COLUMNS.map((k) => t(`ship.csv.${k}`))) + lines.join(''));
  });

  router.get('/shipping/batch', need('orders'), (req, res) => {
    onlyParams(req, []);
    res.render('admin/shipping-batch', { nav: 'shipping', lines: undefined, batchId: undefined, applied: false, lineVerdict, error: undefined });
  });

  // the file was read before the CSRF check (csv-upload.ts, in req.file); nothing changes here, the lines are kept for "apply"
  router.post('/shipping/batch', need('orders'), async (req, res) => {
    const upload = req.file;
    const render = (status: number, error: string) => res.status(status).render('admin/shipping-batch', { nav: 'shipping', lines: undefined, batchId: undefined, applied: false, lineVerdict, error });
    // (too large a file was refused by the upload's own bound: csv-upload.ts)
    if (!upload || upload.buffer.length === 0) return render(400, 'ship.batch.noFile');
    let lines: BatchLine[];
    try {
      lines = readBatch(decodeUpload(upload.buffer));
    } catch (err) {
      if (err instanceof Invalid) return render(400, err.messageKey);
      throw err;
    }
    const preview = await previewBatch(knex, lines);
    const id = crypto.randomBytes(9).toString('base64url');
    req.session.shipBatch = { id, lines };
    res.render('admin/shipping-batch', { nav: 'shipping', lines: preview, batchId: id, applied: false, lineVerdict, error: undefined });
  });

  router.post('/shipping/batch/apply', need('orders'), async (req, res) => {
    const batch = req.session.shipBatch;
    const id = typeof req.body?.batch === 'string' ? req.body.batch : '';
    if (!batch || batch.id !== id) {
      req.session.adminNotice = { tone: 'warn', key: 'ship.batch.gone' };
      return res.redirect(303, '/admin/shipping/batch');
    }
    delete req.session.shipBatch;
    const done = await applyBatch(knex, batch.lines, operatorOf(req), deps.clock());
    res.render('admin/shipping-batch', { nav: 'shipping', lines: done, batchId: undefined, applied: true, lineVerdict, error: undefined });
  });

  router.get('/orders/:orderId', need('view'), async (req, res) => {
    onlyParams(req, []);
    const page = await orderPage(knex, orderIdOf(req));
    res.render('admin/order', {
      nav: 'orders',
      ...page,
      couriers: COURIERS,
      other: OTHER,
      orderStatuses: ORDER_STATUSES,
      canShip: awaitsShipment(page.order) && page.refundsInProgress === 0,
      shipBlocked: awaitsShipment(page.order) && page.refundsInProgress > 0,
      codActions: codActionsOf(page.order),
      autoCompleteAt: page.shipment && page.order.pay_type === 'wxpay' && page.order.delivery_status === 'shipped' ? autoCompleteDueAt(page.shipment, autoCompleteDays) : undefined,
      trackingUrl: page.shipment ? trackingUrlOf(page.shipment.courier, page.shipment.tracking_no) : undefined,
      describeLogged,
      translateOperator,
      refundActions,
      flagIsOpen,
      notice: takeNotice(req),
    });
  });

  router.post('/orders/:orderId/ship', need('orders'), async (req, res) => {
    const orderId = orderIdOf(req);
    const parcel = parcelOfForm(req.body as Record<string, unknown>);
    const outcome = await shipOne(knex, { orderId, parcel, operator: operatorOf(req), now: deps.clock() });
    req.session.adminNotice = shipNotice(outcome, orderId);
    res.redirect(303, `/admin/orders/${orderId}`);
  });

  router.post('/orders/:orderId/tracking', need('orders'), async (req, res) => {
    const orderId = orderIdOf(req);
    const parcel = parcelOfForm(req.body as Record<string, unknown>);
    const outcome = await correctOne(knex, { orderId, parcel, operator: operatorOf(req), now: deps.clock() });
    req.session.adminNotice = correctNotice(outcome, orderId);
    res.redirect(303, `/admin/orders/${orderId}`);
  });

  return router;
}
