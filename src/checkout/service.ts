import type { Knex } from 'knex';
import type { Cart } from '../http/shopper';
import { Conflict, Invalid } from '../errors';
import { placeOrders, type CheckoutLimits, type CheckoutResult, type PayType, type PlaceOrdersInput } from '../ledger';

export type { CheckoutLimits, CheckoutResult, PayType };

export interface Receiver {
  name: string;
  mobile: string;
  address: string;
}

/** what placeOrders takes, with the cart as the shopper's session holds it (checked here first) */
export interface CheckoutInput extends Omit<PlaceOrdersInput, 'lines' | 'receiver'> {
  cart: Cart;
  receiver: Receiver;
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

/**
 * Turns the cart into one order per seller (the ledger's placeOrders: one transaction, limits,
 * stock, the paylog row). Lines the cart could not hold (not a product id, a quantity outside
 * 1..99) are left out here. The cart's keys are variant ids. Idempotent per checkout token.
 */
export async function checkout(knex: Knex, input: CheckoutInput): Promise<CheckoutResult> {
  if (!CHECKOUT_TOKEN_PATTERN.test(input.checkoutToken)) throw new Invalid('bad checkout token', 'checkout.error.stale');
  const lines = Object.entries(input.cart)
    .map(([id, quantity]) => ({ variantId: Number(id), quantity }))
    .filter((l) => Number.isSafeInteger(l.variantId) && Number.isInteger(l.quantity) && l.quantity >= 1 && l.quantity <= 99);
  const units = lines.reduce((sum, l) => sum + l.quantity, 0);
  // an order bigger than the per-session bound can never be placed, however much is held: say so
  // as what it is (the ledger would answer "your unpaid orders hold too many items")
  if (units > input.limits.unitsPerSession) throw new Invalid(`${units} units in one checkout`, 'checkout.error.orderTooLarge', { units, max: input.limits.unitsPerSession });
  const { cart: _cart, ...rest } = input;
  try {
    return await placeOrders(knex, { ...rest, lines });
  } catch (err) {
    throw explainLimit(err, units, input.limits);
  }
}

/**
 * The ledger's checkout-limit refusals, told as the limit they are: this browser's (session) or
 * this network's (address), open checkouts or units, each with what the shopper can do about it.
 * The ledger says the bound (`max`); which of the two it is follows from the configured bounds
 * (both the same number: the message names both). Anything else is passed on as it is.
 */
export function explainLimit(err: unknown, units: number, limits: CheckoutLimits): unknown {
  if (!(err instanceof Conflict) || (err.messageKey !== 'checkout.error.tooManyOpen' && err.messageKey !== 'checkout.error.tooManyUnits')) return err;
  const open = err.messageKey === 'checkout.error.tooManyOpen';
  const max = Number(err.params.max);
  const [sessionMax, addressMax] = open ? [limits.openPerSession, limits.openPerAddress] : [limits.unitsPerSession, limits.unitsPerAddress];
  const whose = sessionMax === addressMax ? 'either' : max === sessionMax ? 'session' : max === addressMax ? 'address' : undefined;
  if (whose === undefined) return err;
  return new Conflict(err.message, `${err.messageKey}.${whose}`, { ...err.params, units });
}
