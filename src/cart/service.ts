import type { Knex } from 'knex';
import { imageUrl } from '../catalog/service';
import { Invalid, NotFound } from '../errors';
import type { Cart } from '../http/shopper';
import { variantLabel } from '../ledger';

export const MAX_QUANTITY = 99;

/** What a cart line buys: one variant of a product (a product without options has one). */
export interface CartItem {
  /** the variant's id: the cart's key */
  id: number;
  product_id: number;
  sku: string;
  /** the product's title with the variant's options ("纯棉圆领T恤 (黑色 / M)") */
  title: string;
  seller: string;
  price_fen: number;
  stock: number;
  image: string;
}

export interface CartLine {
  product: CartItem;
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
  /** variant ids in the session that the shop no longer sells (dropped from the view) */
  missing: number[];
  canCheckout: boolean;
}

type Row = Record<string, unknown>;

export function parseQuantity(raw: unknown): number {
  const text = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' ? String(raw) : '';
  if (!/^\d{1,3}$/.test(text)) throw new Invalid(`quantity ${JSON.stringify(raw)} is not a whole number`, 'cart.badQuantity', { max: MAX_QUANTITY });
  const quantity = Number(text);
  if (quantity < 1 || quantity > MAX_QUANTITY) throw new Invalid(`quantity ${quantity} is outside 1..${MAX_QUANTITY}`, 'cart.badQuantity', { max: MAX_QUANTITY });
  return quantity;
}

export function parseId(raw: unknown): number {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (!/^\d{1,9}$/.test(text)) throw new NotFound(`id ${JSON.stringify(raw)} is not an id`, 'error.productNotFound');
  return Number(text);
}

/** @deprecated the name before variants: a product's or a variant's id, parsed the same way */
export const parseProductId = parseId;

const ITEM_COLUMNS = ['v.id', 'v.product_id', 'v.sku', 'v.option_values', 'v.price_fen', 'v.stock', 'p.title', 'p.seller', 'p.image', 'p.image_key'] as const;

function itemOf(r: Row): CartItem {
  const label = variantLabel(r.option_values);
  return {
    id: Number(r.id),
    product_id: Number(r.product_id),
    sku: String(r.sku),
    title: label ? `${String(r.title)} (${label})` : String(r.title),
    seller: String(r.seller),
    price_fen: Number(r.price_fen),
    stock: Number(r.stock),
    image: imageUrl(r),
  };
}

/** The variants the shop sells now (product on sale, variant active), by id. */
async function sellable(knex: Knex, variantIds: readonly number[]): Promise<Map<number, CartItem>> {
  if (variantIds.length === 0) return new Map();
  const rows = (await knex('product_variants as v')
    .join('products as p', 'p.id', 'v.product_id')
    .whereIn('v.id', [...variantIds])
    .andWhere('v.active', true)
    .andWhere('p.status', 'on_sale')
    .select(ITEM_COLUMNS)) as Row[];
  return new Map(rows.map((r) => [Number(r.id), itemOf(r)]));
}

/**
 * What the shopper picked: a variant (`variant_id`, the product page and the cart), or a product
 * without options (`product_id`, the list's "add to cart": its one variant). A product with
 * options asks for its size first (400, naming the product).
 */
export async function variantToAdd(knex: Knex, form: { variant_id?: unknown; product_id?: unknown }): Promise<number> {
  if (form.variant_id !== undefined && form.variant_id !== '') return parseId(form.variant_id);
  const productId = parseId(form.product_id);
  const rows = (await knex('product_variants as v')
    .join('products as p', 'p.id', 'v.product_id')
    .where('v.product_id', productId)
    .andWhere('v.active', true)
    .andWhere('p.status', 'on_sale')
    .select('v.id', 'p.title')) as Row[];
  if (rows.length === 0) throw new NotFound(`product ${productId} is not sold`, 'error.productNotFound');
  if (rows.length > 1) throw new Invalid(`product ${productId} has options`, 'cart.chooseOption', { title: String(rows[0]?.title) });
  return Number(rows[0]?.id);
}

async function itemById(knex: Knex, id: number): Promise<CartItem> {
  const item = (await sellable(knex, [id])).get(id);
  if (!item) throw new NotFound(`variant ${id} is not sold`, 'error.productNotFound');
  return item;
}

function checkStock(item: CartItem, quantity: number): void {
  if (item.stock === 0) throw new Invalid(`${item.sku} is sold out`, 'cart.soldOut', { title: item.title });
  if (quantity > item.stock) throw new Invalid(`${item.sku}: ${quantity} wanted, ${item.stock} in stock`, 'cart.notEnoughStock', { title: item.title, stock: item.stock });
}

/** Adds `quantity` of a variant; the line total stays within 1..99 and the stock. Returns a new cart. */
export async function addToCart(knex: Knex, cart: Cart, variantId: number, quantity: number): Promise<Cart> {
  const item = await itemById(knex, variantId);
  const next = (cart[String(variantId)] ?? 0) + quantity;
  if (next > MAX_QUANTITY) throw new Invalid(`line would hold ${next}`, 'cart.badQuantity', { max: MAX_QUANTITY });
  checkStock(item, next);
  return { ...cart, [String(variantId)]: next };
}

/**
 * The cart line a form names: `variant_id` (the cart's own forms), or the `product_id` of a
 * product without options that is in the cart.
 */
export async function lineOf(knex: Knex, cart: Cart, form: { variant_id?: unknown; product_id?: unknown }): Promise<number> {
  if (form.variant_id !== undefined && form.variant_id !== '') return parseId(form.variant_id);
  const productId = parseId(form.product_id);
  const ids = Object.keys(cart).map(Number);
  if (ids.length === 0) return productId;
  const row = (await knex('product_variants').whereIn('id', ids).andWhere('product_id', productId).first('id')) as Row | undefined;
  return row ? Number(row.id) : productId;
}

/** Sets a line's quantity (1..99, within stock). Returns a new cart. */
export async function setQuantity(knex: Knex, cart: Cart, variantId: number, quantity: number): Promise<Cart> {
  if (!(String(variantId) in cart)) throw new NotFound(`variant ${variantId} is not in the cart`, 'cart.notInCart');
  checkStock(await itemById(knex, variantId), quantity);
  return { ...cart, [String(variantId)]: quantity };
}

export function removeFromCart(cart: Cart, variantId: number): Cart {
  const next = { ...cart };
  delete next[String(variantId)];
  return next;
}

/** The cart with today's database prices and stock, grouped by seller; all sums in fen. */
export async function viewCart(knex: Knex, cart: Cart): Promise<CartView> {
  const ids = Object.keys(cart).map(Number);
  const byId = await sellable(knex, ids);
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
