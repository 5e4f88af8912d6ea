import type { Knex } from 'knex';
import type { Product } from '../catalog/service';
import { Invalid, NotFound } from '../errors';
import type { Cart } from '../http/shopper';

export const MAX_QUANTITY = 99;

export interface CartLine {
  product: Product;
  quantity: number;
  lineTotalFen: number;
  /** the shop no longer has this many (someone bought them meanwhile) */
  shortOfStock: boolean;
}

export interface SellerGroup {
  seller: string;
  lines: CartLine[];
  subtotalFen: number;
}

export interface CartView {
  groups: SellerGroup[];
  totalFen: number;
  itemCount: number;
  /** product ids in the session that the catalog no longer has (dropped from the view) */
  missing: number[];
  canCheckout: boolean;
}

export function parseQuantity(raw: unknown): number {
  const text = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' ? String(raw) : '';
  if (!/^\d{1,3}$/.test(text)) throw new Invalid(`quantity ${JSON.stringify(raw)} is not a whole number`, 'cart.badQuantity', { max: MAX_QUANTITY });
  const quantity = Number(text);
  if (quantity < 1 || quantity > MAX_QUANTITY) throw new Invalid(`quantity ${quantity} is outside 1..${MAX_QUANTITY}`, 'cart.badQuantity', { max: MAX_QUANTITY });
  return quantity;
}

export function parseProductId(raw: unknown): number {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (!/^\d{1,9}$/.test(text)) throw new NotFound(`product id ${JSON.stringify(raw)} is not an id`, 'error.productNotFound');
  return Number(text);
}

async function productById(knex: Knex, id: number): Promise<Product> {
  const product = (await knex('products').where({ id }).first('id', 'sku', 'title', 'seller', 'price_fen', 'stock', 'image')) as Product | undefined;
  if (!product) throw new NotFound(`product ${id} does not exist`, 'error.productNotFound');
  return product;
}

function checkStock(product: Product, quantity: number): void {
  if (product.stock === 0) throw new Invalid(`${product.sku} is sold out`, 'cart.soldOut', { title: product.title });
  if (quantity > product.stock) {
    throw new Invalid(`${product.sku}: ${quantity} wanted, ${product.stock} in stock`, 'cart.notEnoughStock', { title: product.title, stock: product.stock });
  }
}

/** Adds `quantity` of a product; the line total stays within 1..99 and the stock. Returns a new cart. */
export async function addToCart(knex: Knex, cart: Cart, productId: number, quantity: number): Promise<Cart> {
  const product = await productById(knex, productId);
  const next = (cart[String(productId)] ?? 0) + quantity;
  if (next > MAX_QUANTITY) throw new Invalid(`line would hold ${next}`, 'cart.badQuantity', { max: MAX_QUANTITY });
  checkStock(product, next);
  return { ...cart, [String(productId)]: next };
}

/** Sets a line's quantity (1..99, within stock). Returns a new cart. */
export async function setQuantity(knex: Knex, cart: Cart, productId: number, quantity: number): Promise<Cart> {
  if (!(String(productId) in cart)) throw new NotFound(`product ${productId} is not in the cart`, 'cart.notInCart');
  const product = await productById(knex, productId);
  checkStock(product, quantity);
  return { ...cart, [String(productId)]: quantity };
}

export function removeFromCart(cart: Cart, productId: number): Cart {
  const next = { ...cart };
  delete next[String(productId)];
  return next;
}

/** The cart with today's database prices and stock, grouped by seller; all sums in fen. */
export async function viewCart(knex: Knex, cart: Cart): Promise<CartView> {
  const ids = Object.keys(cart).map(Number);
  const products = ids.length === 0 ? [] : ((await knex('products').whereIn('id', ids).select('id', 'sku', 'title', 'seller', 'price_fen', 'stock', 'image')) as Product[]);
  const byId = new Map(products.map((p) => [p.id, p]));
  const groups = new Map<string, SellerGroup>();
  const missing: number[] = [];
  let totalFen = 0;
  let itemCount = 0;
  for (const id of ids) {
    const product = byId.get(id);
    const quantity = cart[String(id)] ?? 0;
    if (!product) {
      missing.push(id);
      continue;
    }
    const lineTotalFen = product.price_fen * quantity;
    const group = groups.get(product.seller) ?? { seller: product.seller, lines: [], subtotalFen: 0 };
    group.lines.push({ product, quantity, lineTotalFen, shortOfStock: quantity > product.stock });
    group.subtotalFen += lineTotalFen;
    groups.set(product.seller, group);
    totalFen += lineTotalFen;
    itemCount += quantity;
  }
  const list = [...groups.values()];
  return { groups: list, totalFen, itemCount, missing, canCheckout: list.length > 0 && list.every((g) => g.lines.every((l) => !l.shortOfStock)) };
}
