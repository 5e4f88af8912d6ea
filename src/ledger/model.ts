import crypto from 'node:crypto';
import { formatBeijingTime } from '../wechatpay/time';

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

/** orders.status: unpaid -> paid | closed; paid -> refunded (when fully refunded). */
export const ORDER_STATUSES = ['unpaid', 'paid', 'closed', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

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

/** Where news of a payment came from. */
export type PaySource = 'notify' | 'query' | 'sweeper' | 'admin' | 'unifiedorder';

/** The money was taken: SUCCESS, or SUCCESS and then (partly) refunded. */
export function isPaid(state: TradeState): boolean {
  return state === 'SUCCESS' || state === 'REFUND';
}

/** The order was paid (and may have been refunded since). */
export function isOrderPaid(status: OrderStatus): boolean {
  return status === 'paid' || status === 'refunded';
}

/** A refund that never changes again. */
export function isFinalRefund(status: RefundStatus): boolean {
  return status === 'SUCCESS' || status === 'REFUNDCLOSE';
}

// ---- numbers -------------------------------------------------------------------------------

/** A fresh out_trade_no: Beijing time to the second + 10 random digits (24 digits, unique by key). */
export function newOutTradeNo(now: Date): string {
  const random = crypto.randomInt(0, 10_000_000_000).toString().padStart(10, '0');
  return `${formatBeijingTime(now)}${random}`;
}

/** 'R' + Beijing time to the second + 12 random digits: 27 characters, unique by key. */
export function newOutRefundNo(now: Date): string {
  return `R${formatBeijingTime(now)}${crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')}${crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')}`;
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
}

/** WeChat has been asked to take the money for it (a code_url or a prepay_id came back). */
export function orderedAtWechat(attempt: { code_url: string | null; prepay_id: string | null }): boolean {
  return attempt.code_url !== null || attempt.prepay_id !== null;
}

export interface OrderItem {
  product_id: number;
  title: string;
  unit_price_fen: number;
  quantity: number;
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
  accepted_at: Date | null;
}

export type OrderWithItems = Order & { items: OrderItem[] };

export interface Refund {
  out_refund_no: string;
  out_trade_no: string;
  refund_fee: number;
  reason: string | null;
  status: RefundStatus;
  refund_id: string | null;
  operator: string;
  last_error: string | null;
  created_at: Date;
  success_time: Date | null;
  updated_at: Date;
}

// ---- from database rows --------------------------------------------------------------------

type Row = Record<string, unknown>;

function oneOf<T extends string>(allowed: readonly T[], value: unknown, what: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TypeError(`${what} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

export const orderStatusOf = (value: unknown): OrderStatus => oneOf(ORDER_STATUSES, value, 'order status');

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
  'accepted_at',
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
    accepted_at: instantOrNull(row.accepted_at),
  };
}

export function orderItemOf(row: Row): OrderItem {
  return { product_id: Number(row.product_id), title: text(row.title), unit_price_fen: fen(row.unit_price_fen), quantity: Number(row.quantity) };
}

export function refundOf(row: Row): Refund {
  return {
    out_refund_no: text(row.out_refund_no),
    out_trade_no: text(row.out_trade_no),
    refund_fee: fen(row.refund_fee),
    reason: textOrNull(row.reason),
    status: oneOf(REFUND_STATUSES, row.status, 'refund status'),
    refund_id: textOrNull(row.refund_id),
    operator: text(row.operator),
    last_error: textOrNull(row.last_error),
    created_at: instant(row.created_at),
    success_time: instantOrNull(row.success_time),
    updated_at: instant(row.updated_at),
  };
}
