import { parse } from 'csv-parse/sync';
import type { Knex } from 'knex';
import { csvLine, UTF8_BOM } from '../admin/csv';
import { Invalid } from '../errors';
import { variantLabel } from '../ledger';
import { fenToYuanString, yuanStringToFen } from '../money';
import { cleanDescription, MAX_OPTIONS, MAX_STOCK, SKU_PATTERN, splitValues } from './form';

/**
 * Products and variants as a spreadsheet: ONE LINE PER VARIANT (a product without options is one
 * line whose variant SKU is the product's), the product's own columns repeated on each of its
 * lines. UTF-8 with a BOM, Excel-safe cells (admin/csv.ts); an import reads back what an export
 * wrote (the apostrophe that guards a formula-like cell is taken off again).
 */

export const CSV_COLUMNS = ['product_sku', 'title', 'seller', 'category', 'status', 'option_names', 'variant_sku', 'option_values', 'price_yuan', 'stock', 'variant_active', 'description'] as const;
export const MAX_IMPORT_LINES = 20_000;

type Row = Record<string, unknown>;

/** The whole catalog (archived products too), in product then variant order, as CSV text chunks. */
export async function* exportCatalog(knex: Knex): AsyncGenerator<string> {
  yield UTF8_BOM + csvLine(CSV_COLUMNS);
  let after = 0;
  for (;;) {
    const rows = (await knex('product_variants as v')
      .join('products as p', 'p.id', 'v.product_id')
      .leftJoin('categories as c', 'c.id', 'p.category_id')
      .where('v.id', '>', after)
      .orderBy('v.id')
      .limit(2000)
      .select('v.id', 'p.sku as product_sku', 'p.title', 'p.seller', 'c.name as category', 'p.status', 'p.option_names', 'v.sku as variant_sku', 'v.option_values', 'v.price_fen', 'v.stock', 'v.active', 'p.description')) as Row[];
    if (rows.length === 0) return;
    let chunk = '';
    for (const r of rows) {
      chunk += csvLine([
        String(r.product_sku),
        String(r.title),
        String(r.seller),
        r.category === null ? '' : String(r.category),
        String(r.status),
        variantLabel(r.option_names).replace(/ \/ /g, ','),
        String(r.variant_sku),
        variantLabel(r.option_values).replace(/ \/ /g, ','),
        fenToYuanString(Number(r.price_fen)),
        Number(r.stock),
        r.active === true ? 'yes' : 'no',
        String(r.description ?? ''),
      ]);
    }
    yield chunk;
    after = Number(rows[rows.length - 1]?.id);
  }
}

export interface ImportLine {
  /** the line number in the file (the header is line 1) */
  line: number;
  productSku: string;
  title: string;
  seller: string;
  category: string;
  status: 'on_sale' | 'off_sale' | 'archived';
  optionNames: string[];
  variantSku: string;
  values: string[];
  priceFen: number;
  stock: number;
  active: boolean;
  description: string;
}

export interface LineError {
  line: number;
  key: string;
  params?: Record<string, string | number>;
}

/** a cell an export guarded with an apostrophe (a formula-like text) back as it was */
const unguard = (cell: unknown): string => {
  const text = typeof cell === 'string' ? cell : '';
  return /^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text.trim();
};

/** Reads the file: every line checked on its own; the lines that are right, and an error per bad one. */
export function parseCatalogCsv(text: string): { lines: ImportLine[]; errors: LineError[] } {
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw new Invalid(`not CSV: ${(err as Error).message}`, 'import.error.notCsv', { reason: ((err as Error).message ?? '').slice(0, 120) });
  }
  const header = (records[0] ?? []).map((h) => h.trim().toLowerCase());
  const missing = CSV_COLUMNS.filter((c) => c !== 'description' && c !== 'variant_active' && !header.includes(c));
  if (records.length === 0 || missing.length > 0) throw new Invalid('missing columns', 'import.error.columns', { columns: missing.join(', ') || CSV_COLUMNS.join(', ') });
  if (records.length - 1 > MAX_IMPORT_LINES) throw new Invalid('too many lines', 'import.error.tooManyLines', { max: MAX_IMPORT_LINES });
  const at = Object.fromEntries(header.map((h, i) => [h, i])) as Record<string, number>;
  const lines: ImportLine[] = [];
  const errors: LineError[] = [];
  records.slice(1).forEach((cells, index) => {
    const line = index + 2;
    const cell = (name: string) => (at[name] === undefined ? '' : unguard(cells[at[name] as number]));
    const bad = (key: string, params?: Record<string, string | number>) => errors.push({ line, key, ...(params ? { params } : {}) });
    const before = errors.length;
    const productSku = cell('product_sku');
    const variantSku = cell('variant_sku') || productSku;
    const title = cell('title').replace(/\s+/g, ' ');
    const seller = cell('seller').replace(/\s+/g, ' ');
    const category = cell('category').replace(/\s+/g, ' ');
    const statusRaw = cell('status') || 'on_sale';
    const optionNames = splitValues(cell('option_names'));
    const values = splitValues(cell('option_values'));
    const priceFen = yuanStringToFen(cell('price_yuan'));
    const stockRaw = cell('stock');
    const activeRaw = (cell('variant_active') || 'yes').toLowerCase();
    const description = cleanDescription(at.description === undefined ? '' : String(cells[at.description] ?? ''));
    if (!SKU_PATTERN.test(productSku) || productSku.length > 32) bad('import.error.productSku', { sku: productSku });
    if (!SKU_PATTERN.test(variantSku)) bad('import.error.variantSku', { sku: variantSku });
    if ([...title].length < 1 || [...title].length > 100) bad('products.error.title');
    if ([...seller].length < 1 || [...seller].length > 64) bad('products.error.seller');
    if ([...category].length > 40) bad('products.error.categoryName');
    if (!['on_sale', 'off_sale', 'archived'].includes(statusRaw)) bad('import.error.status', { status: statusRaw });
    if (optionNames.length > MAX_OPTIONS || new Set(optionNames).size !== optionNames.length) bad('products.error.optionNames', { max: MAX_OPTIONS });
    if (values.length !== optionNames.length) bad('import.error.values', { count: optionNames.length });
    if (priceFen === undefined || priceFen <= 0 || priceFen > 99_999_999) bad('import.error.price', { price: cell('price_yuan') });
    if (!/^\d{1,6}$/.test(stockRaw) || Number(stockRaw) > MAX_STOCK) bad('import.error.stock', { stock: stockRaw, max: MAX_STOCK });
    if (!['yes', 'no'].includes(activeRaw)) bad('import.error.active', { value: activeRaw });
    if ([...description].length > 5000) bad('products.error.description');
    if (errors.length > before) return;
    lines.push({ line, productSku, title, seller, category, status: statusRaw as ImportLine['status'], optionNames, variantSku, values, priceFen: priceFen ?? 0, stock: Number(stockRaw), active: activeRaw === 'yes', description });
  });
  // across lines: a variant once; a product's lines agree on its option names
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  for (const l of lines) {
    const key = l.variantSku.toUpperCase();
    if (seen.has(key)) errors.push({ line: l.line, key: 'import.error.repeated', params: { sku: l.variantSku, first: seen.get(key) ?? 0 } });
    else seen.set(key, l.line);
    const optionKey = JSON.stringify(l.optionNames);
    if ((names.get(l.productSku) ?? optionKey) !== optionKey) errors.push({ line: l.line, key: 'import.error.optionNamesDiffer', params: { sku: l.productSku } });
    names.set(l.productSku, names.get(l.productSku) ?? optionKey);
  }
  const badLines = new Set(errors.map((e) => e.line));
  return { lines: lines.filter((l) => !badLines.has(l.line)), errors: errors.sort((a, b) => a.line - b.line) };
}
