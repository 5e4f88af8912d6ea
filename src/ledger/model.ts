import crypto from 'node:crypto';
import { beijingStamp } from '../beijing-time';

/**
 * The ledger's vocabulary, said once: the states of a payment attempt (paylog), of an order and
 * of a refund, the names of what brought news of a payment, the row types of the ledger's tables
 * and the mapping from a database row to them. Pure: no database, no HTTP.
 */

export { OUT_TRADE_NO, OUT_REFUND_NO, isOutTradeNo, isOutRefundNo } from '../wechatpay/ids';

// ---- states --------------------------------------------------------------------------------

/** paylog.trade_state: NOTPAY -> SUCCESS | CLOSED; SUCCESS -> REFUND (partly or fully refunded). */
export const TRADE_STATES = ['NOTPAY', 'SUCCESS', 'CLOSED', 'REFUND'] as const;
export type TradeState = (typeof TRADE_STATES)[number];

/** orders.status is money only: unpaid -> paid | closed; paid -> refunded (when its own amount is all back). */
export const ORDER_STATUSES = ['unpaid', 'paid', 'closed', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * orders.delivery_status is the goods only: pending (to be shipped, or waiting for its payment),
 * accepted (cash on delivery: the merchant took it on), shipped, completed (delivered),
 * cancelled (never to be shipped: closed unpaid, or refunded before it left).
 */
export const DELIVERY_STATUSES = ['pending', 'accepted', 'shipped', 'completed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const PAY_TYPES = ['wxpay', 'cod'] as const;
export type PayType = (typeof PAY_TYPES)[number];

/**
 * How an attempt is paid (paylog.trade_type): NATIVE, a QR code the payer scans; MWEB, H5 payment
 * from a phone's browser (WeChat's cashier opens, then returns to the shop); JSAPI, inside WeChat's
 * own browser (the page calls WeixinJSBridge with a second signature).
 */
export const TRADE_TYPES = ['NATIVE', 'MWEB', 'JSAPI'] as const;
export type TradeType = (typeof TRADE_TYPES)[number];

/** refunds.status: PENDING (stored, not yet accepted) -> PROCESSING -> SUCCESS | CHANGE | REFUNDCLOSE. */
export const REFUND_STATUSES = ['PENDING', 'PROCESSING', 'SUCCESS', 'CHANGE', 'REFUNDCLOSE'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** A payment the admin must look at: paid after we closed it, paid twice, or a second transaction id. */
export const PAYLOG_FLAGS = ['late_payment', 'double_payment', 'conflict'] as const;
export type PaylogFlag = (typeof PAYLOG_FLAGS)[number];

/** A refund the admin must look at: WeChat completed it after we had closed it (its amount counted again). */
export const REFUND_FLAGS = ['succeeded_after_close'] as const;
export type RefundFlag = (typeof REFUND_FLAGS)[number];

/** Where news of a payment came from. */
export type PaySource = 'notify' | 'query' | 'sweeper' | 'admin' | 'ordering';

/** The money was taken: SUCCESS, or SUCCESS and then (partly) refunded. */
export function isPaid(state: TradeState): boolean {
  return state === 'SUCCESS' || state === 'REFUND';
}

/** The order was paid (and may have been refunded since). */
export function isOrderPaid(status: OrderStatus): boolean {
  return status === 'paid' || status === 'refunded';
}

/** A refund that never changes again by itself (a SUCCESS WeChat reports for a closed one is still recorded, flagged). */
export function isFinalRefund(status: RefundStatus): boolean {
  return status === 'SUCCESS' || status === 'REFUNDCLOSE';
}

/** What WeChat says was paid for an attempt, as every source gives it (notify, query, sweeper, admin). */
export interface PaidNews {
  outTradeNo: string;
  transactionId: string;
  /** integer fen */
  totalFee: number;
  paidAt: Date;
}

// ---- numbers -------------------------------------------------------------------------------

/** A fresh out_trade_no: Beijing time to the second + 10 random digits (24 digits, unique by key). */
export function newOutTradeNo(now: Date): string {
  const random = crypto.randomInt(0, 10_000_000_000).toString().padStart(10, '0');
  return `${beijingStamp(now)}${random}`;
}

/** 'R' + Beijing time to the second + 12 random digits: 27 characters, unique by key. */
export function newOutRefundNo(now: Date): string {
  return `R${beijingStamp(now)}${crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')}${crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')}`;
}

// ---- rows ----------------------------------------------------------------------------------

/** One payment attempt (a paylog row). */
export interface Paylog {
  out_trade_no: string;
  shopper_id: string;
  total_fee: number;
  refunded_fee: number;
  trade_state: TradeState;
  trade_type: TradeType;
  body: string | null;
  /** NATIVE's weixin:// code, once WeChat gave one */
  code_url: string | null;
  /** until when the attempt is offered (fixed at creation: time_expire), once WeChat has it */
  code_url_expires_at: Date | null;
  /** WeChat's prepay_id, once it has the trade (any trade type; rows from before trade types have only a code_url) */
  prepay_id: string | null;
  /** JSAPI: the payer's openid the trade was made for */
  openid: string | null;
  transaction_id: string | null;
  conflict_transaction_id: string | null;
  flag: PaylogFlag | null;
  create_time: Date;
  pay_time: Date | null;
  closed_at: Date | null;
  updated_at: Date;
  /**
   * another attempt that paid this attempt's orders (a late payment of an older one): this one
   * must no longer be offered, and its pay page shows the paid state. Null when none did.
   */
  paid_by: string | null;
  /**
   * a newer attempt its unpaid orders moved on to (the shopper switched how to pay before WeChat
   * allowed this one to be closed): not offered any more; the sweeper closes it. Null when none.
   */
  superseded_by: string | null;
  /** the admin marked the flag handled: when, who, and their note */
  flag_resolved_at: Date | null;
  flag_resolved_by: string | null;
  flag_note: string | null;
  /** the shopper asked to cancel it (issue 24): the sweeper closes it as soon as WeChat allows */
  cancel_requested_at: Date | null;
}

/** WeChat has been asked to take the money for it (a code_url or a prepay_id came back). */
export function orderedAtWechat(attempt: { code_url: string | null; prepay_id: string | null }): boolean {
  return attempt.code_url !== null || attempt.prepay_id !== null;
}

export interface OrderItem {
  product_id: number;
  /** the variant sold (a product without options has one) */
  variant_id: number;
  /** the variant's SKU code and option label as sold ('' for a product without options) */
  sku: string | null;
  variant_label: string;
  title: string;
  unit_price_fen: number;
  quantity: number;
  /** units a late payment could not take from stock again (sold meanwhile): the admin restocks or refunds */
  stock_short: number;
}

export interface Order {
  id: number;
  shopper_id: string;
  seller: string;
  status: OrderStatus;
  pay_type: PayType;
  total_fen: number;
  receiver_name: string;
  receiver_mobile: string;
  receiver_address: string;
  /** the payment attempt now offered for it (WeChat Pay), null for cash on delivery */
  out_trade_no: string | null;
  created_at: Date;
  paid_at: Date | null;
  delivery_status: DeliveryStatus;
  /** when the delivery status last changed */
  delivery_at: Date | null;
  /** what came back of this order's own payment (refunds that name it), fen */
  refunded_fen: number;
}

export type OrderWithItems = Order & { items: OrderItem[] };

export interface Refund {
  out_refund_no: string;
  out_trade_no: string;
  /** the order it returns money for (null: a refund from before refunds named orders, or of an attempt without orders) */
  order_id: number | null;
  refund_fee: number;
  reason: string | null;
  status: RefundStatus;
  refund_id: string | null;
  operator: string;
  last_error: string | null;
  created_at: Date;
  success_time: Date | null;
  updated_at: Date;
  flag: RefundFlag | null;
  flag_resolved_at: Date | null;
  flag_resolved_by: string | null;
  flag_note: string | null;
}

// ---- from database rows --------------------------------------------------------------------

type Row = Record<string, unknown>;

function oneOf<T extends string>(allowed: readonly T[], value: unknown, what: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TypeError(`${what} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

export const orderStatusOf = (value: unknown): OrderStatus => oneOf(ORDER_STATUSES, value, 'order status');
export const deliveryStatusOf = (value: unknown): DeliveryStatus => oneOf(DELIVERY_STATUSES, value, 'delivery_status');

const text = (value: unknown): string => String(value);
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const fen = (value: unknown): number => Number(value);
/** timestamptz columns arrive as Date; JSON built in SQL carries them as ISO strings */
const instant = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const instantOrNull = (value: unknown): Date | null => (value === null || value === undefined ? null : instant(value));

export const PAYLOG_COLUMNS = [
  'out_trade_no',
  'shopper_id',
  'total_fee',
  'refunded_fee',
  'trade_state',
  'trade_type',
  'body',
  'code_url',
  'code_url_expires_at',
  'prepay_id',
  'openid',
  'transaction_id',
  'conflict_transaction_id',
  'flag',
  'create_time',
  'pay_time',
  'closed_at',
  'updated_at',
  'flag_resolved_at',
  'flag_resolved_by',
  'flag_note',
  'cancel_requested_at',
] as const;

export function paylogOf(row: Row): Paylog {
  return {
    out_trade_no: text(row.out_trade_no),
    shopper_id: text(row.shopper_id),
    total_fee: fen(row.total_fee),
    refunded_fee: fen(row.refunded_fee ?? 0),
    trade_state: oneOf(TRADE_STATES, row.trade_state, 'trade_state'),
    trade_type: oneOf(TRADE_TYPES, row.trade_type ?? 'NATIVE', 'trade_type'),
    body: textOrNull(row.body),
    code_url: textOrNull(row.code_url),
    code_url_expires_at: instantOrNull(row.code_url_expires_at),
    prepay_id: textOrNull(row.prepay_id),
    openid: textOrNull(row.openid),
    transaction_id: textOrNull(row.transaction_id),
    conflict_transaction_id: textOrNull(row.conflict_transaction_id),
    flag: row.flag === null || row.flag === undefined ? null : oneOf(PAYLOG_FLAGS, row.flag, 'flag'),
    create_time: instant(row.create_time),
    pay_time: instantOrNull(row.pay_time),
    closed_at: instantOrNull(row.closed_at),
    updated_at: instant(row.updated_at),
    paid_by: textOrNull(row.paid_by),
    superseded_by: textOrNull(row.superseded_by),
    flag_resolved_at: instantOrNull(row.flag_resolved_at),
    flag_resolved_by: textOrNull(row.flag_resolved_by),
    flag_note: textOrNull(row.flag_note),
    cancel_requested_at: instantOrNull(row.cancel_requested_at),
  };
}

export const ORDER_COLUMNS = [
  'id',
  'shopper_id',
  'seller',
  'status',
  'pay_type',
  'total_fen',
  'receiver_name',
  'receiver_mobile',
  'receiver_address',
  'out_trade_no',
  'created_at',
  'paid_at',
  'delivery_status',
  'delivery_at',
  'refunded_fen',
] as const;

export function orderOf(row: Row): Order {
  return {
    id: Number(row.id),
    shopper_id: text(row.shopper_id),
    seller: text(row.seller),
    status: orderStatusOf(row.status),
    pay_type: oneOf(PAY_TYPES, row.pay_type, 'pay_type'),
    total_fen: fen(row.total_fen),
    receiver_name: text(row.receiver_name),
    receiver_mobile: text(row.receiver_mobile),
    receiver_address: text(row.receiver_address),
    out_trade_no: textOrNull(row.out_trade_no),
    created_at: instant(row.created_at),
    paid_at: instantOrNull(row.paid_at),
    delivery_status: deliveryStatusOf(row.delivery_status),
    delivery_at: instantOrNull(row.delivery_at),
    refunded_fen: fen(row.refunded_fen ?? 0),
  };
}

export function orderItemOf(row: Row): OrderItem {
  return {
    product_id: Number(row.product_id),
    variant_id: Number(row.variant_id ?? row.product_id),
    sku: textOrNull(row.sku),
    variant_label: row.variant_label === null || row.variant_label === undefined ? '' : String(row.variant_label),
    title: text(row.title), unit_price_fen: fen(row.unit_price_fen), quantity: Number(row.quantity), stock_short: Number(row.stock_short ?? 0) };
}

export function refundOf(row: Row): Refund {
  return {
    out_refund_no: text(row.out_refund_no),
    out_trade_no: text(row.out_trade_no),
    order_id: row.order_id === null || row.order_id === undefined ? null : Number(row.order_id),
    refund_fee: fen(row.refund_fee),
    reason: textOrNull(row.reason),
    status: oneOf(REFUND_STATUSES, row.status, 'refund status'),
    refund_id: textOrNull(row.refund_id),
    operator: text(row.operator),
    last_error: textOrNull(row.last_error),
    created_at: instant(row.created_at),
    success_time: instantOrNull(row.success_time),
    updated_at: instant(row.updated_at),
    flag: row.flag === null || row.flag === undefined ? null : oneOf(REFUND_FLAGS, row.flag, 'refund flag'),
    flag_resolved_at: instantOrNull(row.flag_resolved_at),
    flag_resolved_by: textOrNull(row.flag_resolved_by),
    flag_note: textOrNull(row.flag_note),
  };
}
