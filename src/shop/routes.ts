import { Router } from 'express';
import { need } from '../admin/permissions';
import { takeNotice } from '../admin/notices';
import type { ResolvedDeps } from '../deps';
import { parseSettingsForm, readShopSettings, saveShopSettings } from './settings';

/** /admin/settings: the shop's name, contact, footer and ICP number (the owner's: `settings`). */
export function shopSettingsRoutes(deps: Pick<ResolvedDeps, 'db'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  router.get('/settings', need('settings'), async (req, res) => {
    res.render('shop/settings', { nav: 'settings', values: await readShopSettings(knex, 0), errors: {}, notice: takeNotice(req) });
  });

  router.post('/settings', need('settings'), async (req, res) => {
    const { settings, errors } = parseSettingsForm(req.body as Record<string, unknown>);
    if (Object.keys(errors).length > 0) return res.status(400).render('shop/settings', { nav: 'settings', values: settings, errors, notice: undefined });
    await saveShopSettings(knex, settings);
    req.session.adminNotice = { tone: 'ok', key: 'settings.notice.saved' };
    res.redirect(303, '/admin/settings');
  });

  return router;
}
