import type { Knex } from 'knex';
import { MAX_QUANTITY } from '../cart/service';
import type { Cart } from '../http/shopper';
import { normalizeMobile } from '../checkout/service';
import { orderIdByMobile, ordersOfSession as ordersOfSessionInLedger, unpaidCountOf, type OrderItem, type OrderWithItems } from '../ledger';

/** How many orders "my orders" lists at most (newest first after the unpaid ones). */
export const MY_ORDERS_LIMIT = 50;

/**
 * The orders this session may see: those its shopper placed, and those it found by number and
 * mobile (`foundOrderIds`). Unpaid WeChat Pay orders first (they wait for the shopper), then the
 * newest. Nobody else's.
 */
export function ordersOfSession(knex: Knex, shopperId: string | undefined, foundOrderIds: readonly number[] = []): Promise<OrderWithItems[]> {
  return ordersOfSessionInLedger(knex, shopperId, foundOrderIds, MY_ORDERS_LIMIT);
}

export { unpaidCountOf };

/** "138****8000": enough for the shopper to recognise, not enough to call. */
export function maskMobile(mobile: string): string {
  return mobile.length >= 7 ? `${mobile.slice(0, 3)}****${mobile.slice(-4)}` : '****';
}

/**
 * The order with this number whose receiver's mobile is `mobile`, or undefined: a wrong number
 * and a wrong mobile look the same to the caller (no enumeration of order numbers).
 */
export async function findOrderByMobile(knex: Knex, orderIdRaw: unknown, mobileRaw: unknown): Promise<number | undefined> {
  const id = parseOrderNumber(orderIdRaw);
  const mobile = normalizeMobile(mobileRaw);
  if (id === undefined || !/^1\d{10}$/.test(mobile)) return undefined;
  return orderIdByMobile(knex, id, mobile);
}

/**
 * An order number as people type it ("12", "#12", "012", " 12 ") -> 12; undefined when it is not
 * one. The one reading of it: the lookup's counter is keyed on it too, so that "1", "01" and "#1"
 * are one order's budget, not three.
 */
export function parseOrderNumber(raw: unknown): number | undefined {
  const idText = typeof raw === 'string' ? raw.trim().replace(/^#/, '') : '';
  if (!/^\d{1,12}$/.test(idText)) return undefined;
  const id = Number(idText);
  return Number.isSafeInteger(id) ? id : undefined;
}

export interface BuyAgainResult {
  cart: Cart;
  /** variants put in the cart (with the quantity added) */
  added: number;
  /** lines left out: the product is gone or sold out */
  skipped: number;
}

/**
 * "Buy these again": the items of closed orders back in the cart, as much of each as the shop
 * has now (never more than its stock, never over the cart's 99 per line); what is gone or sold
 * out is left out and counted. Nothing is reserved: the cart is only a wish list until checkout.
 */
export async function buyAgain(knex: Knex, cart: Cart, items: readonly Pick<OrderItem, 'variant_id' | 'quantity'>[]): Promise<BuyAgainResult> {
  const ids = [...new Set(items.map((i) => i.variant_id))];
  // what the shop still sells (product on sale, variant active) and has
  const stock = new Map(
    (
      (ids.length === 0
        ? []
        : await knex('product_variants as v').join('products as p', 'p.id', 'v.product_id').whereIn('v.id', ids).andWhere('v.active', true).andWhere('p.status', 'on_sale').select('v.id', 'v.stock')) as {
        id: number;
        stock: number;
      }[]
    ).map((p) => [Number(p.id), Number(p.stock)]),
  );
  const next: Cart = { ...cart };
  let added = 0;
  let skipped = 0;
  for (const item of items) {
    const key = String(item.variant_id);
    const inCart = next[key] ?? 0;
    const room = Math.min(stock.get(item.variant_id) ?? 0, MAX_QUANTITY) - inCart;
    const quantity = Math.min(item.quantity, room);
    if (quantity <= 0) {
      skipped += 1;
      continue;
    }
    next[key] = inCart + quantity;
    added += 1;
  }
  return { cart: next, added, skipped };
}
