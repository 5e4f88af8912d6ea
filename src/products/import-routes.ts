import { Router, type Request } from 'express';
import { need } from '../admin/permissions';
import { writeChunk } from '../admin/csv';
import { operatorOf } from '../admin/http';
import { takeNotice } from '../admin/notices';
import type { ResolvedDeps } from '../deps';
import { Invalid } from '../errors';
import { exportCatalog, CSV_COLUMNS } from './csv';
import { applyImport, previewImport, showImport } from './import';

/**
 * CSV in and out under /admin: `/admin/products.csv` (the whole catalog, one line per variant,
 * streamed), `/admin/products/import` (upload -> preview of every line -> apply).
 */
export function importRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  router.get('/products.csv', need('catalog'), async (req, res) => {
    res.set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="products.csv"' });
    for await (const chunk of exportCatalog(knex)) if (!(await writeChunk(res, chunk))) return;
    res.end();
  });

  router.get('/products/import', need('catalog'), (req, res) => {
    res.render('products/import', { nav: 'products', preview: undefined, columns: CSV_COLUMNS, notice: takeNotice(req) });
  });

  router.post('/products/import/preview', need('catalog'), async (req: Request, res) => {
    const file = (req as Request & { file?: { buffer: Buffer } }).file;
    if (!file || file.buffer.length === 0) throw new Invalid('no file', 'import.error.missing');
    const text = new TextDecoder('utf-8', { fatal: false }).decode(file.buffer);
    if (text.includes('\uFFFD')) throw new Invalid('not UTF-8', 'import.error.encoding');
    const preview = await previewImport(knex, text, { operator: operatorOf(req), now: deps.clock() });
    res.status(preview.counts.error > 0 ? 422 : 200).render('products/import', { nav: 'products', preview, columns: CSV_COLUMNS, notice: undefined });
  });

  router.get('/products/import/:id', need('catalog'), async (req, res) => {
    const preview = await showImport(knex, String(req.params.id));
    res.render('products/import', { nav: 'products', preview, columns: CSV_COLUMNS, notice: takeNotice(req) });
  });

  router.post('/products/import/:id/apply', need('catalog'), async (req, res) => {
    const counts = await applyImport(knex, String(req.params.id), { operator: operatorOf(req), now: deps.clock() });
    req.session.adminNotice = { tone: 'ok', key: 'import.notice.applied', params: { created: counts.create_product + counts.create_variant, updated: counts.update, unchanged: counts.unchanged } };
    res.redirect(303, '/admin/products');
  });

  return router;
}
