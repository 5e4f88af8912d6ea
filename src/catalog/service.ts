import type { Knex } from 'knex';
import { SEED_PRODUCTS, imagePathFor } from './seed-data';

export interface Product {
  id: number;
  sku: string;
  title: string;
  seller: string;
  price_fen: number;
  stock: number;
  image: string;
}

const PRODUCT_COLUMNS = ['id', 'sku', 'title', 'seller', 'price_fen', 'stock', 'image'] as const;

export async function listProducts(knex: Knex): Promise<Product[]> {
  return knex('products').select(PRODUCT_COLUMNS).orderBy([{ column: 'seller' }, { column: 'id' }]);
}

/**
 * Loads the demo catalog when `products` is empty. Safe when several instances start at once:
 * an advisory lock lets one of them seed and the others see the rows.
 * Returns how many products it inserted (0 when there were products already).
 */
export async function seedCatalogIfEmpty(knex: Knex): Promise<number> {
  return knex.transaction(async (trx) => {
    await trx.raw("select pg_advisory_xact_lock(hashtext('wxpay-checkout:seed-catalog'))");
    const existing = await trx('products').count<{ count: number | string }[]>({ count: '*' });
    if (Number(existing[0]?.count ?? 0) > 0) return 0;
    await trx('products').insert(SEED_PRODUCTS.map((p) => ({ ...p, image: imagePathFor(p.sku) })));
    return SEED_PRODUCTS.length;
  });
}
