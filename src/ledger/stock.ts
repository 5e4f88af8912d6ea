import type { Knex } from 'knex';
import { Conflict, NotFound } from '../errors';
import { moveStock, STOCK_REASONS, type MovementBy, type StockReason } from './stock-repo';

/**
 * Stock changes that are not an order's: a manual count, an import, the opening stock of a new
 * variant. Each writes its stock_movements line with the change (the stock is always their sum).
 * `setStock` and `setStocks` run inside the caller's transaction (the catalog's edit or import:
 * one transaction for the whole change); `countStock` is the admin's count, a transaction of its own.
 */

type Row = Record<string, unknown>;

export { STOCK_REASONS, variantLabel, type StockReason } from './stock-repo';

/** Sets a variant's stock to `target` (locked first), writing the difference as one movement. Returns the movement's delta. */
export async function setStock(trx: Knex.Transaction, variantId: number, target: number, by: MovementBy, note?: string): Promise<number> {
  const row = (await trx('product_variants').where({ id: variantId }).forUpdate().first('stock')) as Row | undefined;
  if (!row) throw new NotFound(`variant ${variantId} does not exist`, 'error.productNotFound');
  const delta = target - Number(row.stock);
  if (delta !== 0 && (await moveStock(trx, variantId, delta, by, undefined, note)) === undefined) throw new Conflict(`variant ${variantId} cannot go below zero`, 'products.error.stockNegative');
  return delta;
}

/**
 * Many variants' stock set at once (an import of thousands of lines): the rows locked in id
 * order, then ONE statement updates those that differ and writes their movement lines.
 * Returns how many changed.
 */
export async function setStocks(trx: Knex.Transaction, targets: readonly { variantId: number; stock: number }[], by: MovementBy): Promise<number> {
  if (targets.length === 0) return 0;
  const sorted = [...targets].sort((a, b) => a.variantId - b.variantId);
  let changed = 0;
  for (let start = 0; start < sorted.length; start += 2000) {
    const chunk = sorted.slice(start, start + 2000);
    const json = JSON.stringify(chunk.map((t) => ({ variant_id: t.variantId, stock: t.stock })));
    await trx.raw('SELECT id FROM product_variants WHERE id IN (SELECT (x->>\'variant_id\')::int FROM jsonb_array_elements(?::jsonb) x) ORDER BY id FOR UPDATE', [json]);
    const { rows } = await trx.raw<{ rows: Row[] }>(
      `WITH input AS (SELECT * FROM jsonb_to_recordset(:json::jsonb) AS x(variant_id int, stock int)),
            changed AS (
              UPDATE product_variants v SET stock = input.stock, updated_at = :at
                FROM input, product_variants old
               WHERE v.id = input.variant_id AND old.id = v.id AND old.stock <> input.stock
           RETURNING v.id, v.stock, old.stock AS before
            ),
            logged AS (
              INSERT INTO stock_movements (variant_id, delta, stock_after, reason, operator, at)
              SELECT id, stock - before, stock, :reason, :operator, :at FROM changed
              RETURNING 1
            )
       SELECT count(*)::int AS n FROM logged`,
      { json, at: by.at, reason: by.reason, operator: by.operator.slice(0, 64) },
    );
    changed += Number(rows[0]?.n ?? 0);
  }
  return changed;
}

/** The admin's count of one variant: its stock is now `stock`, with the admin's note. One transaction. */
export async function countStock(knex: Knex, input: { variantId: number; stock: number; operator: string; note?: string; now: Date }): Promise<number> {
  return knex.transaction((trx) => setStock(trx, input.variantId, input.stock, { reason: 'count', operator: input.operator, at: input.now }, input.note));
}

export interface StockMovement {
  id: number;
  variant_id: number;
  sku: string;
  delta: number;
  stock_after: number;
  reason: StockReason;
  order_id: number | null;
  operator: string;
  note: string | null;
  at: Date;
}

/** A product's stock movements, newest first (the admin's product page). */
export async function movementsOfProduct(db: Knex, productId: number, limit = 100): Promise<StockMovement[]> {
  const rows = (await db('stock_movements as m')
    .join('product_variants as v', 'v.id', 'm.variant_id')
    .where('v.product_id', productId)
    .orderBy('m.id', 'desc')
    .limit(limit)
    .select('m.id', 'm.variant_id', 'v.sku', 'm.delta', 'm.stock_after', 'm.reason', 'm.order_id', 'm.operator', 'm.note', 'm.at')) as Row[];
  return rows.map((r) => ({
    id: Number(r.id),
    variant_id: Number(r.variant_id),
    sku: String(r.sku),
    delta: Number(r.delta),
    stock_after: Number(r.stock_after),
    reason: (STOCK_REASONS as readonly string[]).includes(String(r.reason)) ? (r.reason as StockReason) : 'count',
    order_id: r.order_id === null ? null : Number(r.order_id),
    operator: String(r.operator),
    note: r.note === null ? null : String(r.note),
    at: r.at instanceof Date ? r.at : new Date(String(r.at)),
  }));
}
