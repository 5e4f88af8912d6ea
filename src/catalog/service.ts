import type { Knex } from 'knex';
import { NotFound } from '../errors';
import { variantLabel } from '../ledger';

/**
 * The shopper's catalog, read at any size: a page of products on sale (all, one category, or a
 * search by any part of the title through pg_trgm's index), the product page with its variants,
 * the categories. Each page is ONE statement whose cost does not grow with the catalog: no count
 * of all matches (a page asks for one row more than it shows to know whether there is a next one),
 * stock and "from" price per product on the page only.
 */

export const PAGE_SIZE = 24;
/** the deepest page offered: deeper than this a shopper searches or picks a category */
export const MAX_PAGE = 100;

/** A product as a list shows it. */
export interface CatalogCard {
  id: number;
  sku: string;
  title: string;
  seller: string;
  /** the lowest price of its variants on sale */
  price_fen: number;
  /** units of all its active variants */
  stock: number;
  image: string;
  /** its one variant, when it has no options (the list's "add to cart" buys it); else null */
  single_variant_id: number | null;
  has_options: boolean;
}

export interface CatalogPage {
  products: CatalogCard[];
  page: number;
  hasNext: boolean;
}

export interface Category {
  id: number;
  name: string;
}

export interface ProductVariant {
  id: number;
  sku: string;
  label: string;
  option_values: string[];
  price_fen: number;
  stock: number;
}

export interface ProductPage {
  id: number;
  sku: string;
  title: string;
  seller: string;
  description: string;
  category: Category | null;
  option_names: string[];
  image: string;
  large_image: string;
  variants: ProductVariant[];
}

type Row = Record<string, unknown>;

/** An image the page asks for: an uploaded one at a width (served from /media), or the demo's file. */
export function imageUrl(row: { image_key?: unknown; image?: unknown }, width: 240 | 480 | 960 = 240): string {
  return typeof row.image_key === 'string' && row.image_key !== '' ? `/media/${row.image_key}/w${width}.webp` : String(row.image ?? '');
}

const jsonList = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : typeof value === 'string' ? (JSON.parse(value) as unknown[]).map(String) : []);

/** `%`, `_` and `\` are LIKE's own: a shopper searching "100%" means the characters. */
export function likePattern(query: string): string {
  return `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** What a shopper typed in the search box, tidied: spaces collapsed, at most 40 characters; '' for none. */
export function searchQuery(raw: unknown): string {
  return typeof raw === 'string' ? [...raw.trim().replace(/\s+/g, ' ')].slice(0, 40).join('') : '';
}

const CARD_SQL = `p.id, p.sku, p.title, p.seller, p.price_fen, p.image, p.image_key,
  (SELECT coalesce(sum(v.stock), 0)::int FROM product_variants v WHERE v.product_id = p.id AND v.active) AS stock,
  (SELECT CASE WHEN count(*) = 1 AND max(jsonb_array_length(v.option_values)) = 0 THEN min(v.id) END FROM product_variants v WHERE v.product_id = p.id AND v.active) AS single_variant_id`;

function cardOf(r: Row): CatalogCard {
  return {
    id: Number(r.id),
    sku: String(r.sku),
    title: String(r.title),
    seller: String(r.seller),
    price_fen: Number(r.price_fen),
    stock: Number(r.stock ?? 0),
    image: imageUrl(r),
    single_variant_id: r.single_variant_id === null || r.single_variant_id === undefined ? null : Number(r.single_variant_id),
    has_options: r.single_variant_id === null || r.single_variant_id === undefined,
  };
}

/**
 * A page of the products on sale, oldest first: all of them, one category's, or those whose title
 * contains `query` (ILIKE, served by the trigram index from three characters on).
 */
export async function listCatalog(knex: Knex, options: { page: number; categoryId?: number | undefined; query?: string | undefined }): Promise<CatalogPage> {
  const page = Math.min(Math.max(1, Math.trunc(options.page) || 1), MAX_PAGE);
  // the page's rows first (an index walk in id order, or the trigram index), then stock and the
  // single variant for those 25 rows only: the subqueries never run for every match
  const inner = knex('products as p')
    .select('p.id', 'p.sku', 'p.title', 'p.seller', 'p.price_fen', 'p.image', 'p.image_key')
    .where('p.status', 'on_sale')
    .orderBy('p.id')
    .limit(PAGE_SIZE + 1)
    .offset((page - 1) * PAGE_SIZE);
  if (options.categoryId !== undefined) inner.where('p.category_id', options.categoryId);
  if (options.query) {
    inner.whereRaw("p.title ILIKE ? ESCAPE '\\'", [likePattern(options.query)]);
    // order by an expression, not the primary key: walking the key in order and testing every title
    // until 25 match costs more the bigger the catalog; the trigram index finds the matches at once
    inner.clearOrder().orderByRaw('p.id + 0');
  }
  const q = knex.select(knex.raw(CARD_SQL)).from(inner.as('p')).orderBy('p.id');
  const rows = (await q) as Row[];
  return { products: rows.slice(0, PAGE_SIZE).map(cardOf), page, hasNext: rows.length > PAGE_SIZE };
}

const CATEGORIES_CACHE_MS = 5000;
const categoriesCache = new WeakMap<Knex, { at: number; value: Promise<Category[]> }>();

/**
 * Every category, in the merchant's order. The menu of every catalog page: read through a
 * per-instance cache of a few seconds (a new category shows on every instance within that), so a
 * page is one statement.
 */
export function listCategories(knex: Knex, now = Date.now()): Promise<Category[]> {
  const hit = categoriesCache.get(knex);
  if (hit && now - hit.at < CATEGORIES_CACHE_MS) return hit.value;
  const value = knex('categories')
    .orderBy('position')
    .orderBy('id')
    .select('id', 'name')
    .then((rows: Row[]) => rows.map((r) => ({ id: Number(r.id), name: String(r.name) })));
  value.catch(() => categoriesCache.delete(knex));
  categoriesCache.set(knex, { at: now, value });
  return value;
}

/** A product on sale with its active variants, in one statement; NotFound for one off sale or archived. */
export async function productPage(knex: Knex, id: number): Promise<ProductPage> {
  const row = (await knex('products as p')
    .leftJoin('categories as c', 'c.id', 'p.category_id')
    .where('p.id', id)
    .andWhere('p.status', 'on_sale')
    .first(
      'p.id',
      'p.sku',
      'p.title',
      'p.seller',
      'p.description',
      'p.option_names',
      'p.image',
      'p.image_key',
      'c.id as category_id',
      'c.name as category_name',
      knex.raw(`(SELECT coalesce(json_agg(json_build_object('id', v.id, 'sku', v.sku, 'option_values', v.option_values, 'price_fen', v.price_fen, 'stock', v.stock) ORDER BY v.position, v.id), '[]'::json)
                   FROM product_variants v WHERE v.product_id = p.id AND v.active) AS variants`),
    )) as Row | undefined;
  if (!row) throw new NotFound(`product ${id} is not on sale`, 'error.productNotFound');
  const variants = (typeof row.variants === 'string' ? (JSON.parse(row.variants) as Row[]) : (row.variants as Row[])).map((v) => ({
    id: Number(v.id),
    sku: String(v.sku),
    option_values: jsonList(v.option_values),
    label: variantLabel(v.option_values),
    price_fen: Number(v.price_fen),
    stock: Number(v.stock),
  }));
  return {
    id: Number(row.id),
    sku: String(row.sku),
    title: String(row.title),
    seller: String(row.seller),
    description: String(row.description ?? ''),
    category: row.category_id === null ? null : { id: Number(row.category_id), name: String(row.category_name) },
    option_names: jsonList(row.option_names),
    image: imageUrl(row, 480),
    large_image: imageUrl(row, 960),
    variants,
  };
}

export { seedCatalogIfEmpty } from './seed';

export interface CatalogView extends CatalogPage {
  categories: Category[];
  /** the category shown, when one is */
  category: Category | undefined;
  /** the search, when there is one */
  query: string;
  /** the page's own address without ?page (links to the next and previous pages add it) */
  basePath: string;
}

/** What the catalog's pages draw: a page of products, the categories for the menu. */
export async function catalogView(knex: Knex, options: { page: number; categoryId?: number; query?: string }): Promise<CatalogView> {
  const [page, categories] = await Promise.all([listCatalog(knex, options), listCategories(knex)]);
  const category = options.categoryId === undefined ? undefined : categories.find((c) => c.id === options.categoryId);
  if (options.categoryId !== undefined && !category) throw new NotFound(`category ${options.categoryId} does not exist`, 'catalog.error.noCategory');
  const query = options.query ?? '';
  const basePath = category ? `/category/${category.id}` : query ? `/search?q=${encodeURIComponent(query)}` : '/';
  return { ...page, categories, category, query, basePath };
}

/** ?page=N as a page number (1 when absent); anything else is a 404, as a page that is not there. */
export function pageNumber(raw: unknown): number {
  if (raw === undefined || raw === '') return 1;
  const text = typeof raw === 'string' ? raw : '';
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PAGE) throw new NotFound(`no page ${JSON.stringify(raw)}`, 'catalog.error.noPage');
  return Number(text);
}
