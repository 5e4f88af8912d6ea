import type { Knex } from 'knex';
import { imageUrl, likePattern } from '../catalog/service';
import { Conflict, Invalid, NotFound } from '../errors';
import { movementsOfProduct, setStock, variantLabel, type StockMovement } from '../ledger';
import type { ProductInput } from './form';

/**
 * The merchant's products, from the admin: create, edit (with variants), put on or take off sale,
 * archive. Each change is ONE transaction: the product and its variants written here, the stock
 * of a new variant opened through the ledger's setStock (a 'count' movement naming the admin) in
 * that same transaction. A product is never deleted: orders keep what was sold (title, price,
 * variant), and an archived product simply leaves the shop and the default list.
 */

export const PRODUCT_STATUSES = ['on_sale', 'off_sale', 'archived'] as const;
export type ProductStatus = (typeof PRODUCT_STATUSES)[number];
export const ADMIN_PAGE_SIZE = 50;

type Row = Record<string, unknown>;

export interface AdminProductRow {
  id: number;
  sku: string;
  title: string;
  seller: string;
  status: ProductStatus;
  price_fen: number;
  stock: number;
  variants: number;
  category: string | null;
  image: string;
}

export interface AdminVariant {
  id: number;
  sku: string;
  values: string[];
  label: string;
  price_fen: number;
  stock: number;
  active: boolean;
}

export interface AdminProduct {
  id: number;
  sku: string;
  title: string;
  seller: string;
  status: ProductStatus;
  category_id: number | null;
  description: string;
  option_names: string[];
  image: string;
  image_key: string | null;
  variants: AdminVariant[];
  movements: StockMovement[];
}

const json = (v: unknown): unknown[] => (Array.isArray(v) ? v : typeof v === 'string' ? (JSON.parse(v) as unknown[]) : []);

/** The admin's product list: by state (archived only when asked), text in title or SKU code, pages of 50. */
export async function listAdminProducts(knex: Knex, filter: { status?: ProductStatus | undefined; q?: string; page: number }): Promise<{ rows: AdminProductRow[]; hasNext: boolean }> {
  const q = knex('products as p')
    .leftJoin('categories as c', 'c.id', 'p.category_id')
    .select(
      'p.id',
      'p.sku',
      'p.title',
      'p.seller',
      'p.status',
      'p.price_fen',
      'p.image',
      'p.image_key',
      'c.name as category',
      knex.raw('(SELECT coalesce(sum(v.stock), 0)::int FROM product_variants v WHERE v.product_id = p.id AND v.active) AS stock'),
      knex.raw('(SELECT count(*)::int FROM product_variants v WHERE v.product_id = p.id AND v.active) AS variants'),
    )
    .orderBy('p.id', 'desc')
    .limit(ADMIN_PAGE_SIZE + 1)
    .offset((filter.page - 1) * ADMIN_PAGE_SIZE);
  if (filter.status) q.where('p.status', filter.status);
  else q.whereNot('p.status', 'archived');
  if (filter.q) {
    const pattern = likePattern(filter.q);
    q.where((w) =>
      w
        .whereRaw("p.title ILIKE ? ESCAPE '\\'", [pattern])
        .orWhereRaw("p.sku ILIKE ? ESCAPE '\\'", [pattern])
        .orWhereExists(knex('product_variants as sv').select(knex.raw('1')).whereRaw('sv.product_id = p.id').whereRaw("sv.sku ILIKE ? ESCAPE '\\'", [pattern])),
    );
  }
  const rows = (await q) as Row[];
  return {
    rows: rows.slice(0, ADMIN_PAGE_SIZE).map((r) => ({
      id: Number(r.id),
      sku: String(r.sku),
      title: String(r.title),
      seller: String(r.seller),
      status: r.status as ProductStatus,
      price_fen: Number(r.price_fen),
      stock: Number(r.stock),
      variants: Number(r.variants),
      category: r.category === null ? null : String(r.category),
      image: imageUrl(r),
    })),
    hasNext: rows.length > ADMIN_PAGE_SIZE,
  };
}

/** A product with every variant (retired ones too) and its latest stock movements. */
export async function adminProduct(knex: Knex, id: number): Promise<AdminProduct> {
  const row = (await knex('products').where({ id }).first('id', 'sku', 'title', 'seller', 'status', 'category_id', 'description', 'option_names', 'image', 'image_key')) as Row | undefined;
  if (!row) throw new NotFound(`product ${id} does not exist`, 'error.productNotFound');
  const variants = (await knex('product_variants').where({ product_id: id }).orderBy('position').orderBy('id').select('id', 'sku', 'option_values', 'price_fen', 'stock', 'active')) as Row[];
  return {
    id: Number(row.id),
    sku: String(row.sku),
    title: String(row.title),
    seller: String(row.seller),
    status: row.status as ProductStatus,
    category_id: row.category_id === null ? null : Number(row.category_id),
    description: String(row.description ?? ''),
    option_names: json(row.option_names).map(String),
    image: imageUrl(row, 240),
    image_key: row.image_key === null ? null : String(row.image_key),
    variants: variants.map((v) => ({
      id: Number(v.id),
      sku: String(v.sku),
      values: json(v.option_values).map(String),
      label: variantLabel(v.option_values),
      price_fen: Number(v.price_fen),
      stock: Number(v.stock),
      active: v.active === true,
    })),
    movements: await movementsOfProduct(knex, id),
  };
}

/** A unique key was taken (a SKU code): a Conflict naming it, instead of a 500. */
function uniqueViolation(err: unknown): Conflict | undefined {
  const e = err as { code?: string; detail?: string; message?: string };
  if (e?.code !== '23505') return undefined;
  const sku = /\(sku\)=\(([^)]*)\)/.exec(e.detail ?? e.message ?? '')?.[1] ?? '';
  return new Conflict(`sku ${sku} is taken`, 'products.error.skuTaken', { sku });
}

async function checkCategory(trx: Knex.Transaction, categoryId: number | null): Promise<void> {
  if (categoryId !== null && !(await trx('categories').where({ id: categoryId }).first('id'))) throw new Invalid(`category ${categoryId} does not exist`, 'products.error.category');
}

/** products.price_fen: the lowest price of its active variants (what lists show, "from"). */
async function refreshFromPrice(trx: Knex.Transaction, productIds: readonly number[]): Promise<void> {
  if (productIds.length === 0) return;
  await trx.raw(
    `UPDATE products p SET price_fen = v.low FROM (SELECT product_id, min(price_fen) AS low FROM product_variants WHERE active AND product_id = ANY(?::int[]) GROUP BY product_id) v WHERE v.product_id = p.id`,
    [`{${productIds.join(',')}}`],
  );
}

async function writeVariants(trx: Knex.Transaction, productId: number, input: ProductInput, by: { operator: string; now: Date }): Promise<void> {
  const existing = new Set(((await trx('product_variants').where({ product_id: productId }).select('id')) as Row[]).map((r) => Number(r.id)));
  for (const [position, v] of input.variants.entries()) {
    const fields = { sku: v.sku, option_values: JSON.stringify(v.values), price_fen: v.priceFen, active: v.active, position, updated_at: by.now };
    if (v.id !== undefined) {
      if (!existing.has(v.id)) throw new Invalid(`variant ${v.id} is not of product ${productId}`, 'products.error.stale');
      await trx('product_variants').where({ id: v.id }).update(fields);
      continue;
    }
    const [row] = (await trx('product_variants')
      .insert({ ...fields, product_id: productId, created_at: by.now })
      .returning('id')) as Row[];
    if (v.stock > 0) await setStock(trx, Number(row?.id), v.stock, { reason: 'count', operator: by.operator, at: by.now }, 'opening stock');
  }
}

/** A new product with its variants and their opening stock, in one transaction. Returns its id. */
export async function createProduct(knex: Knex, input: ProductInput, by: { operator: string; now: Date; status?: ProductStatus }): Promise<number> {
  try {
    return await knex.transaction(async (trx) => {
      await checkCategory(trx, input.categoryId);
      if (input.variants.some((v) => v.id !== undefined)) throw new Invalid('a new product has no variants yet', 'products.error.stale');
      const [row] = (await trx('products')
        .insert({
          sku: input.sku,
          title: input.title,
          seller: input.seller,
          category_id: input.categoryId,
          description: input.description,
          option_names: JSON.stringify(input.optionNames),
          price_fen: Math.min(...input.variants.filter((v) => v.active).map((v) => v.priceFen)),
          image: '/img/placeholder.svg',
          status: by.status ?? 'off_sale',
          created_at: by.now,
          updated_at: by.now,
        })
        .returning('id')) as Row[];
      const id = Number(row?.id);
      await writeVariants(trx, id, input, by);
      await refreshFromPrice(trx, [id]);
      return id;
    });
  } catch (err) {
    throw uniqueViolation(err) ?? err;
  }
}

/** The product's fields and variants as the form says (the product row locked first), in one transaction. */
export async function updateProduct(knex: Knex, id: number, input: ProductInput, by: { operator: string; now: Date }): Promise<void> {
  try {
    await knex.transaction(async (trx) => {
      const current = (await trx('products').where({ id }).forUpdate().first('id')) as Row | undefined;
      if (!current) throw new NotFound(`product ${id} does not exist`, 'error.productNotFound');
      await checkCategory(trx, input.categoryId);
      await trx('products').where({ id }).update({
        sku: input.sku,
        title: input.title,
        seller: input.seller,
        category_id: input.categoryId,
        description: input.description,
        option_names: JSON.stringify(input.optionNames),
        updated_at: by.now,
      });
      await writeVariants(trx, id, input, by);
      // every variant of the product must match its option names (a retired one keeps its old values)
      await refreshFromPrice(trx, [id]);
    });
  } catch (err) {
    throw uniqueViolation(err) ?? err;
  }
}

/** On sale, off sale or archived (never deleted). Idempotent. */
export async function setProductStatus(knex: Knex, id: number, status: ProductStatus, now: Date): Promise<void> {
  const changed = await knex('products').where({ id }).update({ status, updated_at: now });
  if (changed === 0) throw new NotFound(`product ${id} does not exist`, 'error.productNotFound');
}

/** A variant of this product, for a stock count (its product checked, so a URL cannot count another's). */
export async function variantOfProduct(knex: Knex, productId: number, variantId: number): Promise<{ id: number; stock: number }> {
  const row = (await knex('product_variants').where({ id: variantId, product_id: productId }).first('id', 'stock')) as Row | undefined;
  if (!row) throw new NotFound(`variant ${variantId} is not of product ${productId}`, 'error.productNotFound');
  return { id: Number(row.id), stock: Number(row.stock) };
}

export async function listAllCategories(knex: Knex): Promise<{ id: number; name: string; products: number }[]> {
  const rows = (await knex('categories as c')
    .orderBy('c.position')
    .orderBy('c.id')
    .select('c.id', 'c.name', knex.raw("(SELECT count(*)::int FROM products p WHERE p.category_id = c.id AND p.status <> 'archived') AS products"))) as Row[];
  return rows.map((r) => ({ id: Number(r.id), name: String(r.name), products: Number(r.products) }));
}

/** A new category (names are unique: the same name again is a Conflict naming it). */
export async function createCategory(knex: Knex, name: string): Promise<number> {
  const clean = name.trim().replace(/\s+/g, ' ');
  if ([...clean].length < 1 || [...clean].length > 40) throw new Invalid('bad category name', 'products.error.categoryName');
  const existing = (await knex('categories').where({ name: clean }).first('id')) as Row | undefined;
  if (existing) throw new Conflict(`category ${clean} exists`, 'products.error.categoryTaken', { name: clean });
  const [row] = (await knex('categories')
    .insert({ name: clean, position: knex.raw('(SELECT coalesce(max(position), 0) + 1 FROM categories)') })
    .returning('id')) as Row[];
  return Number(row?.id);
}

/** The product's image is now the stored upload `key` (src/images keeps the files). */
export async function setProductImage(knex: Knex, id: number, key: string, now: Date): Promise<void> {
  const changed = await knex('products').where({ id }).update({ image_key: key, updated_at: now });
  if (changed === 0) throw new NotFound(`product ${id} does not exist`, 'error.productNotFound');
}
