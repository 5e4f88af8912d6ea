import type { PaySource, TradeType } from './model';

/**
 * What happened to an order, as data (Stripe's event objects, Medusa's order change rows): every
 * order_log row the ledger writes carries an event code and its parameters, and the pages render
 * it through the dictionaries (`event.<code>`) in the reader's language. Nothing parses prose back.
 * Rows from before events keep the English remark they were written with.
 *
 * Parameters hold data, never words: numbers, ids, amounts in fen, and a few codes that the
 * renderer translates (a pay source, a trade type, an outcome).
 */

/** A line of an order a late payment could not take from stock again. */
export interface ShortLine {
  title: string;
  /** units not taken */
  short: number;
}

export interface OrderEvents {
  /** the order was placed, paid by WeChat Pay through this attempt */
  checkout_wxpay: { outTradeNo: string };
  checkout_cod: Record<string, never>;
  /** WeChat took the money for it */
  paid: { transactionId: string; source: PaySource };
  /** the same, for an order or attempt we had closed (flagged late_payment) */
  paid_late: { transactionId: string; source: PaySource };
  /** a late payment found these units sold meanwhile: the admin restocks or refunds */
  stock_short: { lines: ShortLine[] };
  /** closed unpaid: its QR code expired, or its orders were paid through another attempt */
  closed_expired: Record<string, never>;
  closed_by_admin: Record<string, never>;
  /** the shopper cancelled it before paying (closed at WeChat first), its stock given back */
  closed_by_shopper: Record<string, never>;
  /** the shopper asked to cancel it while WeChat could not close it yet: the sweeper closes it once WeChat allows */
  cancel_requested: Record<string, never>;
  /** the shopper asked for money back (after-sales request `id`): `approved` when refunded at once */
  aftersale_requested: { id: number; kind: string; amountFen: number; approved: boolean };
  aftersale_approved: { id: number; amountFen: number };
  aftersale_rejected: { id: number; note?: string };
  aftersale_withdrawn: { id: number };
  /** closed because another attempt paid its orders */
  closed_paid_elsewhere: { outTradeNo: string };
  /** "pay again": a new attempt, paid the same way */
  attempt_replaced: { fresh: string; old: string };
  /** switched how to pay: a new attempt of another trade type; the old one closed, or closed once WeChat allows */
  attempt_switched: { fresh: string; old: string; tradeType: TradeType; oldTradeType: TradeType; closeLater: boolean };
  refund_requested: { outRefundNo: string; amountFen: number; reason?: string };
  /** WeChat refused it for good: its amount is free again */
  refund_refused: { outRefundNo: string; error: string };
  /** WeChat did not accept it (yet), or its answer was lost: it waits for a retry or a query */
  refund_not_accepted: { outRefundNo: string; error: string };
  refund_closed: { outRefundNo: string; amountFen: number };
  /** the bank could not pay it back (CHANGE): the merchant handles it in WeChat's platform */
  refund_change: { outRefundNo: string; amountFen: number };
  refund_succeeded: { outRefundNo: string; amountFen: number };
  /** the last of the order's money is back */
  refund_succeeded_all: { outRefundNo: string; amountFen: number };
  /** WeChat completed a refund we had closed: counted after all, flagged */
  refund_succeeded_after_close: { outRefundNo: string; amountFen: number };
  /** paid twice, one payment refunded: the other payment pays the order now, which stays paid */
  paid_by_other_payment: { from: string; to: string };
  cod_accepted: Record<string, never>;
  cod_delivered_paid: Record<string, never>;
  cod_cancelled: Record<string, never>;
  cod_expired: { hours: number };
  /** an admin asked WeChat: what it said (`fact`: paid, unpaid, paying, closed; `state`: WeChat's own word), and what the ledger made of it */
  query_answered: { fact: string; state: string; outcome?: string };
  query_not_found: Record<string, never>;
  query_failed: { error: string };
  close_asked: { outcome: string };
  close_failed: { error: string };
  /** an admin marked the payment's flag handled */
  flag_resolved: { flag: string; note: string };
  refund_flag_resolved: { outRefundNo: string; note: string };
  /** the parcel left: courier (a code of the list, or `other` with its name) and tracking number */
  shipped: { courier: string; courierName?: string; trackingNo: string };
  /** a wrong tracking number (or courier) corrected: what it was, what it is */
  tracking_corrected: { courier: string; courierName?: string; trackingNo: string; oldCourier: string; oldCourierName?: string; oldTrackingNo: string };
  /** the shopper confirmed receipt */
  completed: Record<string, never>;
  /** no word from the shopper this many days after shipment: completed by the clock */
  completed_auto: { days: number };
}

export type OrderEventCode = keyof OrderEvents;

/** One event with its parameters, as a writer hands it to the ledger. */
export type OrderEvent = { [K in OrderEventCode]: { event: K; params: OrderEvents[K] } }[OrderEventCode];

export const ORDER_EVENT_CODES: readonly OrderEventCode[] = [
  'checkout_wxpay',
  'checkout_cod',
  'paid',
  'paid_late',
  'stock_short',
  'closed_expired',
  'closed_by_admin',
  'closed_by_shopper',
  'cancel_requested',
  'aftersale_requested',
  'aftersale_approved',
  'aftersale_rejected',
  'aftersale_withdrawn',
  'closed_paid_elsewhere',
  'attempt_replaced',
  'attempt_switched',
  'refund_requested',
  'refund_refused',
  'refund_not_accepted',
  'refund_closed',
  'refund_change',
  'refund_succeeded',
  'refund_succeeded_all',
  'refund_succeeded_after_close',
  'paid_by_other_payment',
  'cod_accepted',
  'cod_delivered_paid',
  'cod_cancelled',
  'cod_expired',
  'query_answered',
  'query_not_found',
  'query_failed',
  'close_asked',
  'close_failed',
  'flag_resolved',
  'refund_flag_resolved',
  'shipped',
  'tracking_corrected',
  'completed',
  'completed_auto',
];

export function isOrderEventCode(value: unknown): value is OrderEventCode {
  return typeof value === 'string' && (ORDER_EVENT_CODES as readonly string[]).includes(value);
}

/** An event for the writers: `orderEvent('paid', { transactionId, source })`, checked against its parameters. */
export function orderEvent<K extends OrderEventCode>(event: K, params: OrderEvents[K]): OrderEvent {
  return { event, params } as OrderEvent;
}
