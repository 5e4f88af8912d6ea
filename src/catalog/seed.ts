import type { Knex } from 'knex';
import { setStocks } from '../ledger';
import { SEED_CATEGORIES, SEED_PRODUCTS, imagePathFor } from './seed-data';

type Row = Record<string, unknown>;

/**
 * Loads the demo catalog (categories, products, their variants, each variant's opening stock as an
 * 'initial' stock movement) when `products` is empty, in one transaction. Called only in simulator
 * mode: a live shop starts empty and the merchant adds or imports their own products. Safe when
 * several instances start at once: an advisory lock lets one of them seed and the others see the
 * rows. Returns how many products it inserted (0 when there were products already).
 */
export async function seedCatalogIfEmpty(knex: Knex, now: Date = new Date()): Promise<number> {
  return knex.transaction(async (trx) => {
    await trx.raw("select pg_advisory_xact_lock(hashtext('wxpay-checkout:seed-catalog'))");
    const existing = await trx('products').count<{ count: number | string }[]>({ count: '*' });
    if (Number(existing[0]?.count ?? 0) > 0) return 0;
    await trx('categories')
      .insert(SEED_CATEGORIES.map((name, position) => ({ name, position })))
      .onConflict('name')
      .ignore();
    const categories = new Map(((await trx('categories').select('id', 'name')) as Row[]).map((r) => [String(r.name), Number(r.id)]));
    const stocks: { variantId: number; stock: number }[] = [];
    for (const p of SEED_PRODUCTS) {
      const [product] = (await trx('products')
        .insert({
          sku: p.sku,
          title: p.title,
          seller: p.seller,
          price_fen: Math.min(p.price_fen, ...(p.options?.variants.map((v) => v.price_fen) ?? [])),
          image: imagePathFor(p.sku),
          category_id: categories.get(p.category) ?? null,
          description: p.description ?? '',
          option_names: JSON.stringify(p.options?.names ?? []),
          status: 'on_sale',
        })
        .returning('id')) as Row[];
      const variants = p.options?.variants ?? [{ sku: p.sku, values: [], price_fen: p.price_fen, stock: p.stock }];
      const ids = (await trx('product_variants')
        .insert(variants.map((v, position) => ({ product_id: Number(product?.id), sku: v.sku, option_values: JSON.stringify(v.values), price_fen: v.price_fen, position })))
        .returning('id')) as Row[];
      ids.forEach((row, i) => stocks.push({ variantId: Number(row.id), stock: variants[i]?.stock ?? 0 }));
    }
    await setStocks(trx, stocks, { reason: 'initial', operator: 'system', at: now });
    return SEED_PRODUCTS.length;
  });
}
