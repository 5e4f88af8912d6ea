import type { Knex } from 'knex';
import { Conflict } from '../errors';
import type { ShortLine } from './events';

/**
 * The stock the ledger's orders hold, on the variant sold (product_variants.stock): taken at
 * checkout (never below zero), given back when an order closes unpaid or is cancelled, taken again
 * when a late payment revives one. Every change writes its stock_movements line in the same
 * statement's transaction (stock-movements.ts), so the stock is always the sum of its movements.
 * Run inside the transaction of the state change (index.ts, delivery.ts); variants in id order,
 * one lock order.
 */

type Row = Record<string, unknown>;

/** Why stock changed (stock_movements.reason). */
export const STOCK_REASONS = ['initial', 'sale', 'release', 'cancel', 'retake', 'return', 'count', 'import'] as const;
export type StockReason = (typeof STOCK_REASONS)[number];

/** Who and when, for the movement lines a change writes. */
export interface MovementBy {
  reason: StockReason;
  operator: string;
  at: Date;
}

/** A variant as checkout takes it: locked, with what it sells for and whether it is sold at all. */
export interface SellableVariant {
  id: number;
  productId: number;
  sku: string;
  title: string;
  label: string;
  seller: string;
  priceFen: number;
  stock: number;
  /** on sale (the product) and active (the variant) */
  sellable: boolean;
}

/** "红 / M": a variant's option values as one label ('' for a product without options). */
export function variantLabel(values: unknown): string {
  const list = Array.isArray(values) ? values : typeof values === 'string' ? (JSON.parse(values) as unknown[]) : [];
  return list.map(String).join(' / ');
}

/** The variants, row-locked in id order (the caller passes them sorted), with their product's title and seller. */
export async function lockVariants(trx: Knex.Transaction, variantIds: readonly number[]): Promise<Map<number, SellableVariant>> {
  if (variantIds.length === 0) return new Map();
  const rows = (await trx('product_variants as v')
    .join('products as p', 'p.id', 'v.product_id')
    .whereIn('v.id', [...variantIds])
    .orderBy('v.id')
    .forUpdate('v')
    .select('v.id', 'v.product_id', 'v.sku', 'v.option_values', 'v.price_fen', 'v.stock', 'v.active', 'p.title', 'p.seller', 'p.status')) as Row[];
  return new Map(
    rows.map((r) => [
      Number(r.id),
      {
        id: Number(r.id),
        productId: Number(r.product_id),
        sku: String(r.sku),
        title: String(r.title),
        label: variantLabel(r.option_values),
        seller: String(r.seller),
        priceFen: Number(r.price_fen),
        stock: Number(r.stock),
        sellable: r.active === true && r.status === 'on_sale',
      },
    ]),
  );
}

/**
 * Changes a variant's stock by `delta` and writes its movement line, in one statement: refused
 * (undefined) when it would go below zero. Returns the stock after.
 */
export async function moveStock(trx: Knex.Transaction, variantId: number, delta: number, by: MovementBy, orderId?: number, note?: string): Promise<number | undefined> {
  if (delta === 0) {
    const row = (await trx('product_variants').where({ id: variantId }).first('stock')) as Row | undefined;
    return row ? Number(row.stock) : undefined;
  }
  const { rows } = await trx.raw<{ rows: Row[] }>(
    `WITH changed AS (
       UPDATE product_variants SET stock = stock + :delta, updated_at = :at WHERE id = :variant AND stock + :delta >= 0 RETURNING id, stock
     ), logged AS (
       INSERT INTO stock_movements (variant_id, delta, stock_after, reason, order_id, operator, note, at)
       SELECT id, :delta, stock, :reason, :order, :operator, :note, :at FROM changed
     )
     SELECT stock FROM changed`,
    { delta, at: by.at, variant: variantId, reason: by.reason, order: orderId ?? null, operator: by.operator.slice(0, 64), note: note?.slice(0, 200) ?? null },
  );
  return rows[0] ? Number(rows[0].stock) : undefined;
}

async function itemsOfOrders(trx: Knex.Transaction, orderIds: readonly number[]): Promise<{ id: number; order_id: number; variant_id: number; title: string; quantity: number; stock_short: number }[]> {
  if (orderIds.length === 0) return [];
  const rows = (await trx('order_items').whereIn('order_id', [...orderIds]).orderBy('variant_id').orderBy('id').select('id', 'order_id', 'variant_id', 'title', 'quantity', 'stock_short')) as Row[];
  return rows.map((r) => ({ id: Number(r.id), order_id: Number(r.order_id), variant_id: Number(r.variant_id), title: String(r.title), quantity: Number(r.quantity), stock_short: Number(r.stock_short ?? 0) }));
}

/**
 * The units orders took at checkout: one 'sale' movement per order line (after the orders are
 * written). The variants are locked and their stock checked before; the conditional decrement is
 * the second guard: a line the shelf cannot cover fails the whole checkout (Conflict).
 */
export async function takeForOrder(trx: Knex.Transaction, orderId: number, by: Omit<MovementBy, 'reason'>): Promise<void> {
  for (const item of await itemsOfOrders(trx, [orderId])) {
    if ((await moveStock(trx, item.variant_id, -item.quantity, { ...by, reason: 'sale' }, orderId)) === undefined) {
      throw new Conflict(`${item.title}: ${item.quantity} wanted, not that many left`, 'cart.notEnoughStock', { title: item.title, stock: 0 });
    }
  }
}

/**
 * The units of closed or cancelled orders back on the shelf (variants in id order: one lock
 * order): 'release' for an unpaid checkout that expired or was closed, 'cancel' for an order the
 * merchant cancelled. What a late payment could not take again (stock_short) never left the shelf.
 */
export async function returnStock(trx: Knex.Transaction, orderIds: readonly number[], by: MovementBy = { reason: 'release', operator: 'system', at: new Date() }): Promise<void> {
  for (const item of await itemsOfOrders(trx, orderIds)) {
    const units = item.quantity - item.stock_short;
    if (units > 0) await moveStock(trx, item.variant_id, units, by, item.order_id);
  }
}

/**
 * The units of closed orders taken again (a late payment), as many as the shelf has: what could
 * not be taken (sold meanwhile) is kept on its order line (order_items.stock_short) and returned
 * per order, for the order's stock_short event and the admin, who restocks or refunds.
 */
export async function retakeStock(trx: Knex.Transaction, orderIds: readonly number[], by: Omit<MovementBy, 'reason'> = { operator: 'system', at: new Date() }): Promise<Map<number, ShortLine[]>> {
  const short = new Map<number, ShortLine[]>();
  for (const item of await itemsOfOrders(trx, orderIds)) {
    const row = (await trx('product_variants').where({ id: item.variant_id }).forUpdate().first('stock')) as Row | undefined;
    const taken = Math.min(Number(row?.stock ?? 0), item.quantity);
    if (taken > 0) await moveStock(trx, item.variant_id, -taken, { ...by, reason: 'retake' }, item.order_id);
    const missing = item.quantity - taken;
    if (missing <= 0) continue;
    await trx('order_items').where({ id: item.id }).update({ stock_short: missing });
    short.set(item.order_id, [...(short.get(item.order_id) ?? []), { title: item.title, short: missing }]);
  }
  return short;
}
