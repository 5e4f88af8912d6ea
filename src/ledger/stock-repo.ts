import type { Knex } from 'knex';
import type { ShortLine } from './events';

/**
 * The stock the ledger's orders hold: taken at checkout (never below zero), given back when an
 * order closes unpaid, taken again when a late payment revives one. Run inside the transaction of
 * the state change (index.ts, delivery.ts); products in id order, one lock order.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

/** Takes `quantity` of a product if there is that much (never below zero); undefined when not. */
export async function reserveStock(trx: Knex.Transaction, productId: number, quantity: number): Promise<{ id: number; title: string; seller: string; priceFen: number } | undefined> {
  const [row] = (await trx('products').where({ id: productId }).andWhere('stock', '>=', quantity).decrement('stock', quantity).returning(['id', 'title', 'seller', 'price_fen'])) as Row[];
  return row ? { id: Number(row.id), title: String(row.title), seller: String(row.seller), priceFen: Number(row.price_fen) } : undefined;
}

export async function stockOf(trx: Knex.Transaction, productId: number): Promise<{ title: string; stock: number } | undefined> {
  const row = (await trx('products').where({ id: productId }).first('title', 'stock')) as Row | undefined;
  return row ? { title: String(row.title), stock: Number(row.stock) } : undefined;
}

async function itemsOfOrders(db: Db, orderIds: readonly number[]): Promise<{ id: number; order_id: number; product_id: number; title: string; quantity: number }[]> {
  if (orderIds.length === 0) return [];
  const rows = (await db('order_items').whereIn('order_id', [...orderIds]).orderBy('product_id').orderBy('id').select('id', 'order_id', 'product_id', 'title', 'quantity')) as Row[];
  return rows.map((r) => ({ id: Number(r.id), order_id: Number(r.order_id), product_id: Number(r.product_id), title: String(r.title), quantity: Number(r.quantity) }));
}

/** The units of closed orders back on the shelf (products in id order: one lock order). */
export async function returnStock(trx: Knex.Transaction, orderIds: readonly number[]): Promise<void> {
  for (const item of await itemsOfOrders(trx, orderIds)) await trx('products').where({ id: item.product_id }).increment('stock', item.quantity);
}

/**
 * The units of closed orders taken again (a late payment), as many as the shelf has: what could
 * not be taken (sold meanwhile) is kept on its order line (order_items.stock_short) and returned
 * per order, for the order's stock_short event and the admin, who restocks or refunds.
 */
export async function retakeStock(trx: Knex.Transaction, orderIds: readonly number[]): Promise<Map<number, ShortLine[]>> {
  const short = new Map<number, ShortLine[]>();
  for (const item of await itemsOfOrders(trx, orderIds)) {
    const { rows } = await trx.raw<{ rows: Row[] }>(
      `WITH shelf AS (SELECT id, stock FROM products WHERE id = :product FOR UPDATE)
       UPDATE products SET stock = products.stock - LEAST(shelf.stock, :quantity) FROM shelf WHERE products.id = shelf.id
       RETURNING LEAST(shelf.stock, :quantity) AS taken`,
      { product: item.product_id, quantity: item.quantity },
    );
    const missing = item.quantity - Number(rows[0]?.taken ?? 0);
    if (missing <= 0) continue;
    await trx('order_items').where({ id: item.id }).update({ stock_short: missing });
    short.set(item.order_id, [...(short.get(item.order_id) ?? []), { title: item.title, short: missing }]);
  }
  return short;
}

