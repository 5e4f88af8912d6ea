import { Router, type Request, type Response } from 'express';
import { need } from '../admin/permissions';
import { auditChange } from '../admin/audit';
import { onlyParams, operatorOf } from '../admin/http';
import { takeNotice } from '../admin/notices';
import type { ResolvedDeps } from '../deps';
import { DomainError, Invalid, NotFound } from '../errors';
import { imageStoreFor, storeUpload } from '../images';
import { countStock } from '../ledger';
import { parseProductForm, type FormError } from './form';
import { importRoutes } from './import-routes';
import { PRODUCT_STATUSES, adminProduct, createCategory, createProduct, listAdminProducts, listAllCategories, setProductImage, setProductStatus, updateProduct, variantOfProduct, type ProductStatus } from './service';

const ID = /^\d{1,9}$/;

function idParam(value: unknown): number {
  if (typeof value !== 'string' || !ID.test(value)) throw new NotFound('no such product', 'error.productNotFound');
  return Number(value);
}

/** A product's money and stock, for the audit log's before and after: each variant's price and stock. */
function moneyAndStock(product: Awaited<ReturnType<typeof adminProduct>>): { variants: { sku: string; price_fen: number; stock: number }[] } {
  return { variants: product.variants.map((v) => ({ sku: v.sku, price_fen: v.price_fen, stock: v.stock })) };
}

function statusParam(value: unknown): ProductStatus | undefined {
  return typeof value === 'string' && (PRODUCT_STATUSES as readonly string[]).includes(value) ? (value as ProductStatus) : undefined;
}

/**
 * The merchant's products under /admin/products: the list (search by title or SKU code, by
 * state), a new product, a product's page (fields, variants, image, stock counts, the stock
 * movements), on / off sale, archive, categories. Routes parse and render; products/service.ts
 * writes, the ledger moves stock.
 */
export function productAdminRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'config'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const images = imageStoreFor(deps.config.images, knex);
  const maxMb = Math.round(deps.config.images.maxBytes / 1024 / 1024);
  router.use(importRoutes(deps));

  const renderForm = async (res: Response, product: Awaited<ReturnType<typeof adminProduct>> | undefined, values: Record<string, unknown>, errors: FormError[], status = 200) => {
    res.status(status).render('products/edit', { nav: 'products', product, values, errors, maxMb, categories: await listAllCategories(knex), notice: undefined });
  };

  /** a form error the service found (a SKU taken, a stale variant): shown on the form, 4xx */
  const refused = (err: unknown): FormError | undefined => (err instanceof DomainError && (err.kind === 'invalid' || err.kind === 'conflict') ? { key: err.messageKey, params: err.params } : undefined);

  router.get('/products', need('catalog'), async (req, res) => {
    onlyParams(req, ['q', 'status', 'page']);
    const page = /^\d{1,3}$/.test(String(req.query.page ?? '1')) ? Math.max(1, Number(req.query.page ?? 1)) : 1;
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 40) : '';
    const status = statusParam(req.query.status);
    const list = await listAdminProducts(knex, { q, status, page });
    res.render('products/list', { nav: 'products', list, q, status, page, statuses: PRODUCT_STATUSES, categories: await listAllCategories(knex), notice: takeNotice(req) });
  });

  router.get('/products/new', need('catalog'), async (_req, res) => {
    await renderForm(res, undefined, { v_sku: [''], status: 'on_sale' }, []);
  });

  router.post('/products', need('catalog'), async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const { input, errors } = parseProductForm(body);
    if (errors.length > 0) return renderForm(res, undefined, body, errors, 400);
    let id: number;
    try {
      id = await createProduct(knex, input, { operator: operatorOf(req), now: deps.clock(), status: body.status === 'on_sale' ? 'on_sale' : 'off_sale' });
    } catch (err) {
      const error = refused(err);
      if (!error) throw err;
      return renderForm(res, undefined, body, [error], err instanceof DomainError && err.kind === 'conflict' ? 409 : 400);
    }
    req.session.adminNotice = { tone: 'ok', key: 'products.notice.created', params: { title: input.title } };
    res.redirect(303, `/admin/products/${id}`);
  });

  router.get('/products/:id', need('catalog'), async (req, res) => {
    onlyParams(req, []);
    const product = await adminProduct(knex, idParam(req.params.id));
    res.render('products/edit', { nav: 'products', product, values: undefined, errors: [], maxMb, categories: await listAllCategories(knex), notice: takeNotice(req) });
  });

  router.post('/products/:id', need('catalog'), async (req, res) => {
    const id = idParam(req.params.id);
    const body = req.body as Record<string, unknown>;
    const { input, errors } = parseProductForm(body);
    if (errors.length > 0) return renderForm(res, await adminProduct(knex, id), body, errors, 400);
    const before = moneyAndStock(await adminProduct(knex, id));
    try {
      await updateProduct(knex, id, input, { operator: operatorOf(req), now: deps.clock() });
    } catch (err) {
      const error = refused(err);
      if (!error) throw err;
      return renderForm(res, await adminProduct(knex, id), body, [error], err instanceof DomainError && err.kind === 'conflict' ? 409 : 400);
    }
    auditChange(res, { before, after: moneyAndStock(await adminProduct(knex, id)) });
    req.session.adminNotice = { tone: 'ok', key: 'products.notice.saved', params: { title: input.title } };
    res.redirect(303, `/admin/products/${id}`);
  });

  router.post('/products/:id/status', need('catalog'), async (req, res) => {
    const id = idParam(req.params.id);
    const status = statusParam((req.body as Record<string, unknown>).status);
    if (!status) throw new NotFound('no such state', 'products.error.status');
    await setProductStatus(knex, id, status, deps.clock());
    req.session.adminNotice = { tone: 'ok', key: `products.notice.status.${status}` };
    res.redirect(303, `/admin/products/${id}`);
  });

  // a count: the variant's stock is now what the merchant counted, one 'count' movement with their note
  router.post('/products/:id/variants/:variantId/count', need('catalog'), async (req: Request, res) => {
    const id = idParam(req.params.id);
    const variant = await variantOfProduct(knex, id, idParam(req.params.variantId));
    const body = req.body as Record<string, unknown>;
    const raw = typeof body.stock === 'string' ? body.stock.trim() : '';
    const note = typeof body.note === 'string' ? body.note.trim().slice(0, 200) : '';
    if (!/^\d{1,6}$/.test(raw)) throw new Invalid(`bad count ${JSON.stringify(raw)}`, 'products.error.countStock');
    await countStock(knex, { variantId: variant.id, stock: Number(raw), operator: operatorOf(req), note: note || undefined, now: deps.clock() });
    auditChange(res, { before: { variant: variant.id, stock: variant.stock }, after: { variant: variant.id, stock: Number(raw) } });
    req.session.adminNotice = { tone: 'ok', key: 'products.notice.counted', params: { before: variant.stock, after: Number(raw) } };
    res.redirect(303, `/admin/products/${id}#stock`);
  });

  // the image: checked by its content, EXIF stripped, resized, stored for every instance (src/images)
  router.post('/products/:id/image', need('catalog'), async (req, res) => {
    const id = idParam(req.params.id);
    await adminProduct(knex, id);
    const file = (req as Request & { file?: { buffer: Buffer } }).file;
    if (!file || file.buffer.length === 0) throw new Invalid('no file', 'media.error.missing');
    const key = await storeUpload(images, file.buffer);
    await setProductImage(knex, id, key, deps.clock());
    req.session.adminNotice = { tone: 'ok', key: 'media.notice.uploaded' };
    res.redirect(303, `/admin/products/${id}`);
  });

  router.post('/categories', need('catalog'), async (req, res) => {
    const name = typeof (req.body as Record<string, unknown>).name === 'string' ? String((req.body as Record<string, unknown>).name) : '';
    try {
      await createCategory(knex, name);
      req.session.adminNotice = { tone: 'ok', key: 'products.notice.categoryCreated', params: { name: name.trim() } };
    } catch (err) {
      const error = refused(err);
      if (!error) throw err;
      req.session.adminNotice = { tone: 'error', key: error.key, params: error.params ?? {} };
    }
    res.redirect(303, '/admin/products');
  });

  return router;
}
