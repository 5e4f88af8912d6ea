import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { Conflict, Invalid, NotFound } from '../errors';
import { setStocks } from '../ledger';
import { parseCatalogCsv, type ImportLine, type LineError } from './csv';

/**
 * A CSV import in two steps: the file is kept and previewed (what each line will do: create,
 * update, unchanged, or its error), then applied as previewed in ONE transaction, only when no line
 * is wrong. Idempotent by SKU code: a variant is found by its SKU, so the same file applied again
 * changes nothing, and an applied import cannot be applied twice. Written in bulk (a statement per
 * 2,000 lines), so 10,000 lines take seconds; stock changes are 'import' movements naming the admin.
 */

export type LineOutcome = 'create_product' | 'create_variant' | 'update' | 'unchanged';

export interface PreviewLine {
  line: number;
  sku: string;
  outcome: LineOutcome | 'error';
  changes: string[];
  errors: LineError[];
}

export interface ImportPreview {
  id: string;
  lines: number;
  counts: Record<LineOutcome | 'error', number>;
  /** the lines to show: every error, and the first lines of the rest */
  shown: PreviewLine[];
  applied: boolean;
}

type Row = Record<string, unknown>;
const CHUNK = 2000;
const SHOWN = 300;

interface Existing {
  variants: Map<string, Row>;
  products: Map<string, Row>;
}

async function existingFor(db: Knex | Knex.Transaction, lines: readonly ImportLine[]): Promise<Existing> {
  const variants = new Map<string, Row>();
  const products = new Map<string, Row>();
  const variantSkus = [...new Set(lines.map((l) => l.variantSku))];
  const productSkus = [...new Set(lines.map((l) => l.productSku))];
  for (let i = 0; i < variantSkus.length; i += CHUNK) {
    const rows = (await db('product_variants as v')
      .join('products as p', 'p.id', 'v.product_id')
      .whereIn('v.sku', variantSkus.slice(i, i + CHUNK))
      .select('v.sku', 'v.price_fen', 'v.stock', 'v.active', 'v.option_values', 'p.sku as product_sku')) as Row[];
    for (const r of rows) variants.set(String(r.sku), r);
  }
  for (let i = 0; i < productSkus.length; i += CHUNK) {
    const rows = (await db('products as p')
      .leftJoin('categories as c', 'c.id', 'p.category_id')
      .whereIn('p.sku', productSkus.slice(i, i + CHUNK))
      .select('p.sku', 'p.title', 'p.seller', 'p.status', 'p.description', 'p.option_names', 'c.name as category')) as Row[];
    for (const r of rows) products.set(String(r.sku), r);
  }
  return { variants, products };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(typeof b === 'string' && b.startsWith('[') ? JSON.parse(b) : b);

/** What each line will do against the catalog as it is now. */
function plan(lines: readonly ImportLine[], existing: Existing): PreviewLine[] {
  const firstOfProduct = new Set<string>();
  return lines.map((l) => {
    const variant = existing.variants.get(l.variantSku);
    const product = existing.products.get(l.productSku);
    if (variant && String(variant.product_sku) !== l.productSku) {
      return { line: l.line, sku: l.variantSku, outcome: 'error', changes: [], errors: [{ line: l.line, key: 'import.error.otherProduct', params: { sku: l.variantSku, product: String(variant.product_sku) } }] };
    }
    const changes: string[] = [];
    const productLine = !firstOfProduct.has(l.productSku);
    firstOfProduct.add(l.productSku);
    if (product && productLine) {
      if (product.title !== l.title) changes.push('title');
      if (product.seller !== l.seller) changes.push('seller');
      if ((product.category ?? '') !== l.category) changes.push('category');
      if (product.status !== l.status) changes.push('status');
      if ((product.description ?? '') !== l.description) changes.push('description');
      if (!same(l.optionNames, product.option_names)) changes.push('option_names');
    }
    if (!variant) return { line: l.line, sku: l.variantSku, outcome: product || !productLine ? 'create_variant' : 'create_product', changes, errors: [] };
    if (Number(variant.price_fen) !== l.priceFen) changes.push('price');
    if (Number(variant.stock) !== l.stock) changes.push('stock');
    if ((variant.active === true) !== l.active) changes.push('active');
    if (!same(l.values, variant.option_values)) changes.push('option_values');
    return { line: l.line, sku: l.variantSku, outcome: changes.length > 0 ? 'update' : 'unchanged', changes, errors: [] };
  });
}

function previewOf(id: string, total: number, planned: PreviewLine[], errors: LineError[], applied: boolean): ImportPreview {
  const counts: ImportPreview['counts'] = { create_product: 0, create_variant: 0, update: 0, unchanged: 0, error: 0 };
  const byLine = new Map<number, PreviewLine>();
  for (const e of errors) {
    const line = byLine.get(e.line) ?? { line: e.line, sku: '', outcome: 'error' as const, changes: [], errors: [] };
    line.errors.push(e);
    byLine.set(e.line, line);
  }
  for (const p of planned) {
    if (p.outcome === 'error') byLine.set(p.line, { ...p, errors: [...(byLine.get(p.line)?.errors ?? []), ...p.errors] });
    else if (!byLine.has(p.line)) byLine.set(p.line, p);
  }
  const all = [...byLine.values()].sort((a, b) => a.line - b.line);
  for (const p of all) counts[p.outcome] += 1;
  const shown = [...all.filter((p) => p.outcome === 'error'), ...all.filter((p) => p.outcome !== 'error').slice(0, SHOWN)].sort((a, b) => a.line - b.line);
  return { id, lines: total, counts, shown, applied };
}

/** Keeps the uploaded file and previews it; nothing in the catalog changes. */
export async function previewImport(knex: Knex, csv: string, by: { operator: string; now: Date }): Promise<ImportPreview> {
  const { lines, errors } = parseCatalogCsv(csv);
  const planned = plan(lines, await existingFor(knex, lines));
  const id = crypto.randomBytes(12).toString('hex');
  await knex('catalog_imports').insert({ id, operator: by.operator.slice(0, 64), csv, lines: lines.length + new Set(errors.map((e) => e.line)).size, created_at: by.now });
  return previewOf(id, lines.length + new Set(errors.map((e) => e.line)).size, planned, errors, false);
}

async function importRow(db: Knex | Knex.Transaction, id: string): Promise<Row> {
  if (!/^[0-9a-f]{24}$/.test(id)) throw new NotFound('no such import', 'import.error.notFound');
  const row = (await db('catalog_imports').where({ id }).first('id', 'csv', 'lines', 'applied_at')) as Row | undefined;
  if (!row) throw new NotFound('no such import', 'import.error.notFound');
  return row;
}

/** A kept import previewed again (against the catalog as it is now). */
export async function showImport(knex: Knex, id: string): Promise<ImportPreview> {
  const row = await importRow(knex, id);
  const { lines, errors } = parseCatalogCsv(String(row.csv));
  return previewOf(id, Number(row.lines), plan(lines, await existingFor(knex, lines)), errors, row.applied_at !== null);
}

const json = (rows: unknown[]) => JSON.stringify(rows);

/** Applies a previewed import in one transaction; refused (nothing changed) when any line is wrong or it was applied already. */
export async function applyImport(knex: Knex, id: string, by: { operator: string; now: Date }): Promise<ImportPreview['counts']> {
  return knex.transaction(async (trx) => {
    await trx.raw("SELECT pg_advisory_xact_lock(hashtext('wxpay-checkout:catalog-import'))");
    const row = await importRow(trx, id);
    if (row.applied_at !== null) throw new Conflict(`import ${id} was applied already`, 'import.error.applied');
    await trx('catalog_imports').where({ id }).update({ applied_at: by.now });
    const { lines, errors } = parseCatalogCsv(String(row.csv));
    const planned = plan(lines, await existingFor(trx, lines));
    const wrong = errors.length + planned.filter((p) => p.outcome === 'error').length;
    if (wrong > 0) throw new Invalid(`${wrong} bad lines`, 'import.error.hasErrors', { count: wrong });
    const counts = previewOf(id, lines.length, planned, [], true).counts;

    // categories by name, made when new
    const names = [...new Set(lines.map((l) => l.category).filter((n) => n !== ''))];
    if (names.length > 0) {
      await trx.raw(`INSERT INTO categories (name, position) SELECT n, 0 FROM jsonb_array_elements_text(?::jsonb) n ON CONFLICT (name) DO NOTHING`, [JSON.stringify(names)]);
    }
    // products: the first line of each decides its own columns
    const products = new Map<string, ImportLine>();
    const low = new Map<string, number>();
    for (const l of lines) {
      if (!products.has(l.productSku)) products.set(l.productSku, l);
      low.set(l.productSku, Math.min(low.get(l.productSku) ?? l.priceFen, l.priceFen));
    }
    const productRows = [...products.values()].map((l) => ({ sku: l.productSku, title: l.title, seller: l.seller, category: l.category, status: l.status, option_names: l.optionNames, description: l.description, price_fen: low.get(l.productSku) }));
    const productIds = new Map<string, number>();
    for (let i = 0; i < productRows.length; i += CHUNK) {
      const { rows } = await trx.raw<{ rows: Row[] }>(
        `INSERT INTO products (sku, title, seller, category_id, status, option_names, description, price_fen, image, created_at, updated_at)
         SELECT x.sku, x.title, x.seller, c.id, x.status, x.option_names, x.description, x.price_fen, '/img/placeholder.svg', :now, :now
           FROM jsonb_to_recordset(:rows::jsonb) AS x(sku text, title text, seller text, category text, status text, option_names jsonb, description text, price_fen bigint)
           LEFT JOIN categories c ON c.name = x.category
         ON CONFLICT (sku) DO UPDATE SET title = EXCLUDED.title, seller = EXCLUDED.seller, category_id = EXCLUDED.category_id, status = EXCLUDED.status,
           option_names = EXCLUDED.option_names, description = EXCLUDED.description, updated_at = EXCLUDED.updated_at
         RETURNING id, sku`,
        { rows: json(productRows.slice(i, i + CHUNK)), now: by.now },
      );
      for (const r of rows) productIds.set(String(r.sku), Number(r.id));
    }
    // variants by SKU (never moved to another product: the plan refused that)
    const variantRows = lines.map((l, position) => ({ product_id: productIds.get(l.productSku), sku: l.variantSku, option_values: l.values, price_fen: l.priceFen, active: l.active, position }));
    const targets: { variantId: number; stock: number }[] = [];
    const stockBySku = new Map(lines.map((l) => [l.variantSku, l.stock]));
    for (let i = 0; i < variantRows.length; i += CHUNK) {
      const { rows } = await trx.raw<{ rows: Row[] }>(
        `INSERT INTO product_variants (product_id, sku, option_values, price_fen, active, position, created_at, updated_at)
         SELECT x.product_id, x.sku, x.option_values, x.price_fen, x.active, x.position, :now, :now
           FROM jsonb_to_recordset(:rows::jsonb) AS x(product_id int, sku text, option_values jsonb, price_fen bigint, active boolean, position int)
         ON CONFLICT (sku) DO UPDATE SET option_values = EXCLUDED.option_values, price_fen = EXCLUDED.price_fen, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at
           WHERE product_variants.product_id = EXCLUDED.product_id
         RETURNING id, sku`,
        { rows: json(variantRows.slice(i, i + CHUNK)), now: by.now },
      );
      for (const r of rows) targets.push({ variantId: Number(r.id), stock: stockBySku.get(String(r.sku)) ?? 0 });
    }
    await setStocks(trx, targets, { reason: 'import', operator: by.operator, at: by.now });
    // the list's "from" price: the lowest of each product's active variants
    await trx.raw(
      `UPDATE products p SET price_fen = v.low FROM (SELECT product_id, min(price_fen) AS low FROM product_variants WHERE active AND product_id = ANY(?::int[]) GROUP BY product_id) v WHERE v.product_id = p.id`,
      [`{${[...productIds.values()].join(',')}}`],
    );
    return counts;
  });
}
