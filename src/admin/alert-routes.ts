import { Router } from 'express';
import type { ResolvedDeps } from '../deps';
import { Invalid, NotFound } from '../errors';
import { CHANNELS, MAX_ATTEMPTS, deliveryTrouble, listDeliveries, sendAgain, type DeliveryFilter } from '../outbox';
import { onlyParams } from './http';
import { takeNotice } from './notices';
import { need } from './permissions';

const FILTERS: readonly DeliveryFilter[] = ['failing', 'given_up', 'delivered'];

/**
 * The merchant's alerts as the admin checks them (/admin/alerts): deliveries still failing (each
 * try with its answer), those given up after the last retry, and the latest delivered; "send
 * again" starts a failing or given-up delivery's schedule over, due now.
 */
export function adminAlertRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  router.get('/alerts', need('view'), async (req, res) => {
    onlyParams(req, ['show']);
    const show = (typeof req.query.show === 'string' && req.query.show !== '' ? req.query.show : 'failing') as DeliveryFilter;
    if (!FILTERS.includes(show)) throw new Invalid(`bad show ${show}`, 'admin.error.badParam', { name: 'show' });
    const [rows, trouble] = await Promise.all([listDeliveries(knex, show), deliveryTrouble(knex)]);
    res.render('admin/alerts', { nav: 'alerts', show, filters: FILTERS, rows, trouble, maxAttempts: MAX_ATTEMPTS, notice: takeNotice(req) });
  });

  router.post('/alerts/:outboxId/:channel/resend', need('orders'), async (req, res) => {
    const id = String(req.params.outboxId ?? '');
    const channel = String(req.params.channel ?? '');
    if (!/^\d{1,15}$/.test(id) || !(CHANNELS as readonly string[]).includes(channel)) throw new NotFound('no such delivery', 'alerts.notFound');
    const again = await sendAgain(knex, Number(id), channel, deps.clock());
    req.session.adminNotice = again ? { tone: 'ok', key: 'alerts.notice.again' } : { tone: 'warn', key: 'alerts.notice.notAgain' };
    res.redirect(303, `/admin/alerts?show=${req.body?.show === 'given_up' ? 'given_up' : 'failing'}`);
  });

  return router;
}
