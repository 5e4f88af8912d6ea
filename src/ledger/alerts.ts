import type { PayType } from './model';

/**
 * The events a merchant must see (the outbox's vocabulary), as data: a type and its parameters,
 * the orders they are about, and where the admin looks. The ledger writes them (outbox-repo.ts) in
 * the transaction of the change that causes them; src/outbox delivers them afterwards, at least
 * once, in order per order, and renders them for each channel in the shop's language. The `data`
 * is what a merchant's own webhook receives, so its names are snake_case and stable.
 */

export const ALERT_TYPES = ['order.paid', 'payment.needs_attention', 'order.shipped', 'order.completed', 'reconcile.mismatch', 'aftersale.requested', 'aftersale.decided'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** Why a payment or a refund needs the merchant: the money did not go as it should. */
export const ATTENTION_REASONS = ['late_payment', 'double_payment', 'conflict', 'amount_mismatch', 'refund_refused', 'refund_closed', 'refund_change', 'refund_succeeded_after_close'] as const;
export type AttentionReason = (typeof ATTENTION_REASONS)[number];

export interface AlertOrder {
  id: number;
  amount_fen: number;
}

export interface AlertData {
  'order.paid': { orders: AlertOrder[]; amount_fen: number; pay_type: PayType; out_trade_no: string | null; transaction_id: string | null; late: boolean };
  'payment.needs_attention': { reason: AttentionReason; out_trade_no: string; amount_fen: number; orders: AlertOrder[]; transaction_id?: string; out_refund_no?: string };
  'order.shipped': { orders: AlertOrder[]; amount_fen: number; pay_type: PayType; courier: string; courier_name: string | null; tracking_no: string };
  'order.completed': { orders: AlertOrder[]; amount_fen: number; pay_type: PayType; by: 'shopper' | 'clock' | 'cash_on_delivery' };
  /** a day's bill against our records: how many differences, by kind */
  'reconcile.mismatch': { date: string; differences: number; kinds: Record<string, number> };
  /** a shopper asked for money back (issue 24): `amount_fen` is what they asked for */
  'aftersale.requested': { orders: AlertOrder[]; amount_fen: number; aftersale_id: number; kind: string };
  /** a request was decided: by the merchant, the clock, at once (`auto`), or withdrawn by its shopper */
  'aftersale.decided': { orders: AlertOrder[]; amount_fen: number; aftersale_id: number; kind: string; decision: 'approved' | 'rejected' | 'withdrawn'; by: 'merchant' | 'clock' | 'auto' | 'shopper' };
}

/** One event as the ledger hands it to the outbox. */
export type AlertEvent = {
  [K in AlertType]: { type: K; data: AlertData[K]; /** the same news is one event (a WeChat retry, the same day's bill again) */ dedupeKey?: string };
}[AlertType];

export function isAlertType(value: unknown): value is AlertType {
  return typeof value === 'string' && (ALERT_TYPES as readonly string[]).includes(value);
}

/** The orders an event is about (delivery goes in order per order). */
export function ordersOfAlert(event: AlertEvent): number[] {
  return 'orders' in event.data ? event.data.orders.map((o) => o.id) : [];
}

const one = (order: { id: number; total_fen: number }): AlertOrder[] => [{ id: order.id, amount_fen: order.total_fen }];

export function orderPaidAlert(order: { id: number; total_fen: number; pay_type: PayType }, payment: { outTradeNo: string | null; transactionId: string | null; late: boolean }): AlertEvent {
  return {
    type: 'order.paid',
    data: { orders: one(order), amount_fen: order.total_fen, pay_type: order.pay_type, out_trade_no: payment.outTradeNo, transaction_id: payment.transactionId, late: payment.late },
  };
}

export function needsAttentionAlert(input: {
  reason: AttentionReason;
  outTradeNo: string;
  amountFen: number;
  orders: readonly { id: number; total_fen: number }[];
  transactionId?: string | undefined;
  outRefundNo?: string | undefined;
  dedupeKey?: string;
}): AlertEvent {
  return {
    type: 'payment.needs_attention',
    data: {
      reason: input.reason,
      out_trade_no: input.outTradeNo,
      amount_fen: input.amountFen,
      orders: input.orders.map((o) => ({ id: o.id, amount_fen: o.total_fen })),
      ...(input.transactionId ? { transaction_id: input.transactionId } : {}),
      ...(input.outRefundNo ? { out_refund_no: input.outRefundNo } : {}),
    },
    ...(input.dedupeKey ? { dedupeKey: input.dedupeKey } : {}),
  };
}

export function orderShippedAlert(order: { id: number; total_fen: number; pay_type: PayType }, parcel: { courier: string; courierName: string | null; trackingNo: string }): AlertEvent {
  return {
    type: 'order.shipped',
    data: { orders: one(order), amount_fen: order.total_fen, pay_type: order.pay_type, courier: parcel.courier, courier_name: parcel.courierName, tracking_no: parcel.trackingNo },
  };
}

export function orderCompletedAlert(order: { id: number; total_fen: number; pay_type: PayType }, by: AlertData['order.completed']['by']): AlertEvent {
  return { type: 'order.completed', data: { orders: one(order), amount_fen: order.total_fen, pay_type: order.pay_type, by } };
}

export function reconcileMismatchAlert(date: string, kinds: Record<string, number>): AlertEvent {
  const differences = Object.values(kinds).reduce((a, b) => a + b, 0);
  const fingerprint = Object.entries(kinds)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return { type: 'reconcile.mismatch', data: { date, differences, kinds }, dedupeKey: `reconcile.mismatch:${date}:${fingerprint}`.slice(0, 160) };
}

/** The admin page an event points at (channels make it a link with the shop's address). */
export function adminPathOf(type: AlertType, data: Record<string, unknown>): string {
  if (type === 'payment.needs_attention') return `/admin/paylog/${encodeURIComponent(String(data.out_trade_no))}`;
  if (type === 'reconcile.mismatch') return `/admin/reconcile?date=${encodeURIComponent(String(data.date))}`;
  const orders = Array.isArray(data.orders) ? (data.orders as AlertOrder[]) : [];
  return orders[0] ? `/admin/orders/${orders[0].id}` : '/admin/orders';
}

export function aftersaleRequestedAlert(order: { id: number; total_fen: number }, request: { id: number; kind: string; amountFen: number }): AlertEvent {
  return { type: 'aftersale.requested', data: { orders: one(order), amount_fen: request.amountFen, aftersale_id: request.id, kind: request.kind } };
}

export function aftersaleDecidedAlert(
  order: { id: number; total_fen: number },
  request: { id: number; kind: string; amountFen: number },
  decision: AlertData['aftersale.decided']['decision'],
  by: AlertData['aftersale.decided']['by'],
): AlertEvent {
  return { type: 'aftersale.decided', data: { orders: one(order), amount_fen: request.amountFen, aftersale_id: request.id, kind: request.kind, decision, by } };
}
