import { Router, type RequestHandler } from 'express';
import { requireAdmin } from '../admin/auth';
import { takeNotice } from '../admin/notices';
import type { ResolvedDeps } from '../deps';
import { parseSettingsForm, readShopSettings, saveShopSettings } from './settings';

/**
 * Who may change the shop's settings: the owner. Until admin users and roles land (issue 25, "The
 * team"), every logged-in admin is the owner; the team's role check goes HERE (and answers 403),
 * the routes below already ask for it.
 */
export const requireShopOwner: RequestHandler[] = [requireAdmin];

/** /admin/settings: the shop's name, contact, footer and ICP number. */
export function shopSettingsRoutes(deps: Pick<ResolvedDeps, 'db'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  router.use('/settings', ...requireShopOwner);

  router.get('/settings', async (req, res) => {
    res.render('shop/settings', { nav: 'settings', values: await readShopSettings(knex, 0), errors: {}, notice: takeNotice(req) });
  });

  router.post('/settings', async (req, res) => {
    const { settings, errors } = parseSettingsForm(req.body as Record<string, unknown>);
    if (Object.keys(errors).length > 0) return res.status(400).render('shop/settings', { nav: 'settings', values: settings, errors, notice: undefined });
    await saveShopSettings(knex, settings);
    req.session.adminNotice = { tone: 'ok', key: 'settings.notice.saved' };
    res.redirect(303, '/admin/settings');
  });

  return router;
}
