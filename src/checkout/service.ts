import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Cart } from '../cart/service';
import { Conflict, Invalid } from '../errors';
import { formatBeijingTime } from '../wechatpay/time';

export type PayType = 'wxpay' | 'cod';

export interface Receiver {
  name: string;
  mobile: string;
  address: string;
}

export interface CheckoutInput {
  shopperId: string;
  cart: Cart;
  receiver: Receiver;
  payType: PayType;
  /** one per rendered checkout form: a double submit finds the first result */
  checkoutToken: string;
  /** the shopper's network address, for the per-address limits */
  clientIp: string;
  now: Date;
  limits: CheckoutLimits;
}

/**
 * What one session (shopper) and one network address may hold at once in open checkouts: orders
 * still unpaid (a cash-on-delivery order the merchant accepted no longer counts). Unpaid WeChat Pay
 * orders give their stock back when their QR code expires (PAY_QR_TTL_SECONDS), so the bound is
 * both on how much and for how long an anonymous visitor holds goods.
 */
export interface CheckoutLimits {
  openPerSession: number;
  unitsPerSession: number;
  openPerAddress: number;
  unitsPerAddress: number;
}

export interface CheckoutResult {
  orderIds: number[];
  /** the payment attempt to pay (WeChat Pay); undefined for cash on delivery */
  outTradeNo: string | undefined;
  totalFen: number;
  /** false when this token had already checked out (a double submit): nothing new was made */
  created: boolean;
}

export const CHECKOUT_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
const MOBILE_PATTERN = /^1[3-9]\d{9}$/;

export interface ReceiverErrors {
  /** a mistake of the whole order (stock, a stale form), not of one field */
  form?: { key: string; params: Record<string, string | number> };
  name?: string;
  mobile?: string;
  address?: string;
  payType?: string;
}

/** A mainland mobile number as people type it: "+86 138-0013-8000", "0086 13800138000", "(138) 0013 8000" -> "13800138000". */
export function normalizeMobile(raw: unknown): string {
  const text = typeof raw === 'string' ? raw.trim() : '';
  return text.replace(/[\s\-()（）]/g, '').replace(/^(\+86|0086)/, '');
}

/** Checks the checkout form; returns the clean values, or the message key for each bad field. */
export function validateCheckoutForm(body: Record<string, unknown>): { receiver: Receiver; payType: PayType } | { errors: ReceiverErrors } {
  const text = (v: unknown) => (typeof v === 'string' ? v.trim().replace(/\s+/g, ' ') : '');
  const name = text(body.receiver_name);
  const mobile = normalizeMobile(body.receiver_mobile);
  const address = text(body.receiver_address);
  const payType = text(body.pay_type);
  const errors: ReceiverErrors = {};
  if ([...name].length < 1 || [...name].length > 50) errors.name = 'checkout.error.name';
  if (!MOBILE_PATTERN.test(mobile)) errors.mobile = 'checkout.error.mobile';
  if ([...address].length < 5 || [...address].length > 200) errors.address = 'checkout.error.address';
  if (payType !== 'wxpay' && payType !== 'cod') errors.payType = 'checkout.error.payType';
  if (Object.keys(errors).length > 0) return { errors };
  return { receiver: { name, mobile, address }, payType: payType as PayType };
}

/** A fresh out_trade_no: Beijing time to the second + 10 random digits (24 digits, unique by key). */
export function newOutTradeNo(now: Date): string {
  const random = crypto.randomInt(0, 10_000_000_000).toString().padStart(10, '0');
  return `${formatBeijingTime(now)}${random}`;
}

async function existingCheckout(knex: Knex, shopperId: string, checkoutToken: string): Promise<CheckoutResult | undefined> {
  const orders = (await knex('orders').where({ checkout_token: checkoutToken }).orderBy('id').select('id', 'shopper_id', 'total_fen', 'out_trade_no')) as {
    id: number;
    shopper_id: string;
    total_fen: number;
    out_trade_no: string | null;
  }[];
  if (orders.length === 0) return undefined;
  if (orders.some((o) => o.shopper_id !== shopperId)) throw new Conflict('checkout token belongs to another shopper', 'checkout.error.stale');
  return {
    orderIds: orders.map((o) => o.id),
    outTradeNo: orders[0]?.out_trade_no ?? undefined,
    totalFen: orders.reduce((sum, o) => sum + o.total_fen, 0),
    created: false,
  };
}

/**
 * Refuses a checkout that would take the shopper or the address past its open checkouts or units.
 * Inside the checkout's transaction, after a transaction-scoped lock per shopper and per address,
 * so two checkouts submitted at once from one session cannot both slip under the bound.
 */
async function enforceLimits(trx: Knex.Transaction, input: CheckoutInput, units: number): Promise<void> {
  const { limits } = input;
  const ip = input.clientIp.slice(0, 64);
  // a fixed order (shopper, then address) so that two checkouts cannot deadlock on these locks
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext('checkout:shopper:' || ?))", [input.shopperId]);
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext('checkout:ip:' || ?))", [ip]);
  const { rows } = (await trx.raw(
    `SELECT
       count(DISTINCT o.checkout_token) FILTER (WHERE o.shopper_id = :shopper) AS open_by_shopper,
       coalesce(sum(i.quantity) FILTER (WHERE o.shopper_id = :shopper), 0) AS units_by_shopper,
       count(DISTINCT o.checkout_token) FILTER (WHERE o.client_ip = :ip) AS open_by_ip,
       coalesce(sum(i.quantity) FILTER (WHERE o.client_ip = :ip), 0) AS units_by_ip
     FROM orders o JOIN order_items i ON i.order_id = o.id
     WHERE o.status = 'unpaid' AND o.accepted_at IS NULL AND (o.shopper_id = :shopper OR o.client_ip = :ip)`,
    { shopper: input.shopperId, ip },
  )) as { rows: { open_by_shopper: string | number; units_by_shopper: string | number; open_by_ip: string | number; units_by_ip: string | number }[] };
  const held = rows[0];
  const openByShopper = Number(held?.open_by_shopper ?? 0);
  const openByIp = Number(held?.open_by_ip ?? 0);
  if (openByShopper >= limits.openPerSession) {
    throw new Conflict(`shopper holds ${openByShopper} open checkouts`, 'checkout.error.tooManyOpen', { count: openByShopper, max: limits.openPerSession });
  }
  if (openByIp >= limits.openPerAddress) {
    throw new Conflict(`address ${ip} holds ${openByIp} open checkouts`, 'checkout.error.tooManyOpen', { count: openByIp, max: limits.openPerAddress });
  }
  if (Number(held?.units_by_shopper ?? 0) + units > limits.unitsPerSession) {
    throw new Conflict(`shopper would hold more than ${limits.unitsPerSession} units`, 'checkout.error.tooManyUnits', { max: limits.unitsPerSession });
  }
  if (Number(held?.units_by_ip ?? 0) + units > limits.unitsPerAddress) {
    throw new Conflict(`address ${ip} would hold more than ${limits.unitsPerAddress} units`, 'checkout.error.tooManyUnits', { max: limits.unitsPerAddress });
  }
}

/**
 * Turns the cart into one order per seller, in ONE transaction: items at the database's prices
 * (never the form's), stock reserved by conditional decrement (never below zero), a paylog row
 * (NOTPAY, total_fee = sum of the orders) for WeChat Pay, and order_log rows.
 * Idempotent per checkout token: a second call with the same token returns the first result.
 */
export async function checkout(knex: Knex, input: CheckoutInput): Promise<CheckoutResult> {
  if (!CHECKOUT_TOKEN_PATTERN.test(input.checkoutToken)) throw new Invalid('bad checkout token', 'checkout.error.stale');
  const already = await existingCheckout(knex, input.shopperId, input.checkoutToken);
  if (already) return already;

  const lines = Object.entries(input.cart)
    .map(([id, quantity]) => ({ productId: Number(id), quantity }))
    .filter((l) => Number.isSafeInteger(l.productId) && Number.isInteger(l.quantity) && l.quantity >= 1 && l.quantity <= 99)
    // a fixed lock order, so two checkouts of the same products cannot deadlock
    .sort((a, b) => a.productId - b.productId);
  if (lines.length === 0) throw new Invalid('the cart is empty', 'checkout.error.emptyCart');

  const units = lines.reduce((sum, l) => sum + l.quantity, 0);
  try {
    return await knex.transaction(async (trx) => {
      await enforceLimits(trx, input, units);
      const bySeller = new Map<string, { productId: number; title: string; unitPriceFen: number; quantity: number }[]>();
      for (const line of lines) {
        const [reserved] = (await trx('products')
          .where({ id: line.productId })
          .andWhere('stock', '>=', line.quantity)
          .decrement('stock', line.quantity)
          .returning(['id', 'title', 'seller', 'price_fen'])) as { id: number; title: string; seller: string; price_fen: number }[];
        if (!reserved) {
          const product = (await trx('products').where({ id: line.productId }).first('title', 'stock')) as { title: string; stock: number } | undefined;
          if (!product) throw new Conflict(`product ${line.productId} is gone`, 'checkout.error.productGone');
          throw new Conflict(`${product.title}: ${line.quantity} wanted, ${product.stock} left`, 'cart.notEnoughStock', { title: product.title, stock: product.stock });
        }
        const items = bySeller.get(reserved.seller) ?? [];
        items.push({ productId: reserved.id, title: reserved.title, unitPriceFen: reserved.price_fen, quantity: line.quantity });
        bySeller.set(reserved.seller, items);
      }

      const sellers = [...bySeller.keys()].sort();
      const totals = sellers.map((seller) => (bySeller.get(seller) ?? []).reduce((sum, i) => sum + i.unitPriceFen * i.quantity, 0));
      const totalFen = totals.reduce((a, b) => a + b, 0);

      let outTradeNo: string | undefined;
      if (input.payType === 'wxpay') {
        outTradeNo = newOutTradeNo(input.now);
        await trx('paylog').insert({
          out_trade_no: outTradeNo,
          shopper_id: input.shopperId,
          total_fee: totalFen,
          trade_state: 'NOTPAY',
          create_time: input.now,
          updated_at: input.now,
        });
      }

      const orderIds: number[] = [];
      for (const [index, seller] of sellers.entries()) {
        const [order] = (await trx('orders')
          .insert({
            shopper_id: input.shopperId,
            seller,
            status: 'unpaid',
            pay_type: input.payType,
            total_fen: totals[index],
            receiver_name: input.receiver.name,
            receiver_mobile: input.receiver.mobile,
            receiver_address: input.receiver.address,
            out_trade_no: outTradeNo ?? null,
            checkout_token: input.checkoutToken,
            client_ip: input.clientIp.slice(0, 64),
            created_at: input.now,
            updated_at: input.now,
          })
          .returning('id')) as { id: number }[];
        if (!order) throw new Error('insert into orders returned no id');
        orderIds.push(order.id);
        await trx('order_items').insert(
          (bySeller.get(seller) ?? []).map((i) => ({ order_id: order.id, product_id: i.productId, title: i.title, unit_price_fen: i.unitPriceFen, quantity: i.quantity })),
        );
      }
      if (outTradeNo) await trx('paylog_orders').insert(orderIds.map((id) => ({ out_trade_no: outTradeNo, order_id: id })));
      await trx('order_log').insert(
        orderIds.map((id) => ({
          order_id: id,
          from_status: null,
          to_status: 'unpaid',
          operator: `shopper:${input.shopperId}`,
          remark: outTradeNo ? `checkout, WeChat Pay ${outTradeNo}` : 'checkout, cash on delivery',
          at: input.now,
        })),
      );
      return { orderIds, outTradeNo, totalFen, created: true };
    });
  } catch (err) {
    // the same token submitted twice at once: the other submit won (by the unique key, or by
    // taking the last units first, so that this one saw no stock); return its result
    const winner = await existingCheckout(knex, input.shopperId, input.checkoutToken);
    if (winner) return winner;
    throw err;
  }
}
