import { yuanStringToFen } from '../money';

/**
 * The admin's product form, read and checked: every mistake is named (a message key and its
 * parameters, shown in the admin's language next to the form), nothing is written until the whole
 * form is right. Prices are typed in yuan and kept in fen.
 */

export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_OPTIONS = 3;
export const MAX_VARIANTS = 100;
export const MAX_STOCK = 999_999;

export interface VariantInput {
  /** an existing variant of this product; undefined for a new one */
  id: number | undefined;
  sku: string;
  values: string[];
  priceFen: number;
  active: boolean;
  /** a new variant's opening stock (an existing one's stock changes by a count) */
  stock: number;
}

export interface ProductInput {
  title: string;
  seller: string;
  sku: string;
  categoryId: number | null;
  description: string;
  optionNames: string[];
  variants: VariantInput[];
}

export interface FormError {
  key: string;
  params?: Record<string, string | number>;
}

type Body = Record<string, unknown>;

const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : '')) : typeof v === 'string' ? [v] : []);
/** "颜色, 尺码" or "颜色，尺码" (a Chinese comma) or "颜色/尺码" -> ["颜色", "尺码"] */
export const splitValues = (v: string): string[] =>
  v
    .split(/[,，/、]/)
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .filter((s) => s !== '');

/** Plain text with line breaks: \r\n -> \n, no control characters but the line break, at most 5000 characters. */
export function cleanDescription(raw: unknown): string {
  return typeof raw === 'string' ? raw.replace(/\r\n?/g, '\n').trim() : '';
}

/** Reads the form (the variant rows come as repeated fields v_id, v_sku, v_values, v_price, v_active, v_stock). */
export function parseProductForm(body: Body): { input: ProductInput; errors: FormError[] } {
  const errors: FormError[] = [];
  const title = text(body.title).replace(/\s+/g, ' ');
  const seller = text(body.seller).replace(/\s+/g, ' ');
  const sku = text(body.sku);
  const description = cleanDescription(body.description);
  const categoryRaw = text(body.category_id);
  const optionNames = splitValues(text(body.option_names));
  if ([...title].length < 1 || [...title].length > 100) errors.push({ key: 'products.error.title' });
  if ([...seller].length < 1 || [...seller].length > 64) errors.push({ key: 'products.error.seller' });
  if (!SKU_PATTERN.test(sku) || sku.length > 32) errors.push({ key: 'products.error.sku', params: { sku } });
  if ([...description].length > 5000) errors.push({ key: 'products.error.description' });
  if (categoryRaw !== '' && !/^\d{1,9}$/.test(categoryRaw)) errors.push({ key: 'products.error.category' });
  if (optionNames.length > MAX_OPTIONS || optionNames.some((n) => [...n].length > 20) || new Set(optionNames).size !== optionNames.length) errors.push({ key: 'products.error.optionNames', params: { max: MAX_OPTIONS } });

  const ids = list(body.v_id);
  const skus = list(body.v_sku);
  const values = list(body.v_values);
  const prices = list(body.v_price);
  const actives = list(body.v_active);
  const stocks = list(body.v_stock);
  const variants: VariantInput[] = [];
  const rows = Math.max(ids.length, skus.length, values.length, prices.length);
  for (let i = 0; i < rows; i += 1) {
    const row = { id: text(ids[i]), sku: text(skus[i]), values: text(values[i]), price: text(prices[i]), stock: text(stocks[i]) };
    // a blank new row is the form's "add a variant" line left empty
    if (row.id === '' && row.sku === '' && row.values === '' && row.price === '') continue;
    const line = i + 1;
    const id = /^\d{1,9}$/.test(row.id) ? Number(row.id) : undefined;
    const vals = splitValues(row.values);
    const priceFen = yuanStringToFen(row.price);
    const stock = row.stock === '' ? 0 : /^\d{1,6}$/.test(row.stock) ? Number(row.stock) : -1;
    if (!SKU_PATTERN.test(row.sku)) errors.push({ key: 'products.error.variantSku', params: { line, sku: row.sku } });
    if (vals.length !== optionNames.length || vals.some((v) => [...v].length > 20)) errors.push({ key: 'products.error.variantValues', params: { line, count: optionNames.length } });
    if (priceFen === undefined || priceFen <= 0 || priceFen > 99_999_999) errors.push({ key: 'products.error.price', params: { line, price: row.price } });
    if (stock < 0 || stock > MAX_STOCK) errors.push({ key: 'products.error.stock', params: { line, max: MAX_STOCK } });
    variants.push({ id, sku: row.sku, values: vals, priceFen: priceFen ?? 0, active: text(actives[i]) !== 'no', stock: Math.max(0, stock) });
  }
  if (variants.length === 0 || !variants.some((v) => v.active)) errors.push({ key: 'products.error.noVariant' });
  if (variants.length > MAX_VARIANTS) errors.push({ key: 'products.error.tooManyVariants', params: { max: MAX_VARIANTS } });
  if (optionNames.length === 0 && variants.filter((v) => v.active).length > 1) errors.push({ key: 'products.error.needOptions' });
  const seenSku = new Set<string>();
  const seenCombo = new Set<string>();
  for (const v of variants) {
    if (seenSku.has(v.sku.toUpperCase())) errors.push({ key: 'products.error.duplicateSku', params: { sku: v.sku } });
    seenSku.add(v.sku.toUpperCase());
    const combo = JSON.stringify(v.values);
    if (v.active && seenCombo.has(combo)) errors.push({ key: 'products.error.duplicateCombo', params: { values: v.values.join(' / ') } });
    if (v.active) seenCombo.add(combo);
  }
  return { input: { title, seller, sku, categoryId: categoryRaw === '' ? null : Number(categoryRaw), description, optionNames, variants }, errors };
}
