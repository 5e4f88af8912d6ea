import type { Knex } from 'knex';
import { countStock } from '../../src/ledger';

/**
 * A variant's stock by SKU code (a product without options has one variant with the product's
 * SKU), and setting it as a merchant's count would: through the ledger, with its stock movement,
 * so the ledger check's conservation still holds.
 */
export async function stockOf(knex: Knex, sku: string): Promise<number> {
  const row = (await knex('product_variants').where({ sku }).first('stock')) as { stock: number } | undefined;
  if (!row) throw new Error(`no variant ${sku}`);
  return Number(row.stock);
}

export async function setStockOf(knex: Knex, sku: string, stock: number, now = new Date()): Promise<void> {
  const row = (await knex('product_variants').where({ sku }).first('id')) as { id: number } | undefined;
  if (!row) throw new Error(`no variant ${sku}`);
  await countStock(knex, { variantId: Number(row.id), stock, operator: 'test', now });
}
