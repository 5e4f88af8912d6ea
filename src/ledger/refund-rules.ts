import { deliveryAfter } from './delivery-rules';
import { isFinalRefund, isPaid, type DeliveryStatus, type OrderStatus, type RefundFlag, type RefundStatus, type TradeState } from './model';

/**
 * The refund decisions, pure and table-tested (tests/unit/ledger/rules.test.ts). A refund returns
 * money of one payment attempt for one of its orders: never more in all than the attempt took,
 * never more for an order than the order cost; an order is refunded when its own amount is back.
 */

// ---- asking for a refund -------------------------------------------------------------------

export type RefundRequestDecision =
  | { kind: 'not_found' }
  /** the order named is not one this attempt was for (or none was named where one must be) */
  | { kind: 'wrong_order' }
  /** the out_refund_no names another refund (another trade, order or amount) */
  | { kind: 'token_used' }
  /** the very same refund was stored already (a double submit) */
  | { kind: 'existing' }
  | { kind: 'not_paid'; state: TradeState }
  /** more than is left: of the attempt, or of the order (the smaller) */
  | { kind: 'exceeds'; leftFen: number }
  | { kind: 'create' };

/** An order of the attempt, with what this attempt's refunds that may still take money (all but REFUNDCLOSE) hold of it. */
export interface RefundableOrder {
  id: number;
  total_fen: number;
  /** the order's live refunds from this attempt, fen */
  liveFen: number;
}

/**
 * Whether a refund may be stored: only of a paid attempt, for one of its orders (an attempt made
 * for no order, by hand, is refunded as a whole), never more in all than the attempt took
 * (`liveFen`: refunds not REFUNDCLOSE) nor more for the order than it cost. Idempotent per
 * out_refund_no.
 */
export function decideRefundRequest(
  attempt: { trade_state: TradeState; total_fee: number } | undefined,
  existing: { out_trade_no: string; order_id: number | null; refund_fee: number } | undefined,
  liveFen: number,
  request: { outTradeNo: string; orderId?: number | undefined; refundFee: number },
  orders: readonly RefundableOrder[],
): RefundRequestDecision {
  if (!attempt) return { kind: 'not_found' };
  if (existing) {
    const same = existing.out_trade_no === request.outTradeNo && existing.refund_fee === request.refundFee && existing.order_id === (request.orderId ?? null);
    return same ? { kind: 'existing' } : { kind: 'token_used' };
  }
  const order = orders.find((o) => o.id === request.orderId);
  if (orders.length > 0 ? !order : request.orderId !== undefined) return { kind: 'wrong_order' };
  if (!isPaid(attempt.trade_state)) return { kind: 'not_paid', state: attempt.trade_state };
  const leftFen = Math.min(attempt.total_fee - liveFen, order ? order.total_fen - order.liveFen : Infinity);
  if (request.refundFee > leftFen) return { kind: 'exceeds', leftFen: Math.max(0, leftFen) };
  return { kind: 'create' };
}

// ---- what WeChat answered ------------------------------------------------------------------

export type RefundAcceptedDecision =
  /** WeChat names another amount than we asked for: kept as an error on the row, nothing else */
  | 'amount_differs'
  /** PENDING -> PROCESSING with its refund_id */
  | 'processing'
  /** further along already (the notify may have settled it): only a missing refund_id is filled */
  | 'fill_refund_id'
  | 'keep';

export function decideRefundAccepted(refund: { refund_fee: number; status: RefundStatus; refund_id: string | null }, answer: { refundFee: number }): RefundAcceptedDecision {
  if (refund.refund_fee !== answer.refundFee) return 'amount_differs';
  if (refund.status === 'PENDING') return 'processing';
  return refund.refund_id === null ? 'fill_refund_id' : 'keep';
}

/**
 * WeChat refused, or its answer is unknown: only a PENDING refund changes. Refused for good
 * (`final`, a refusal the provider knows to be final) closes it: its amount is free again.
 * Anything else leaves it PENDING: unknown means unknown, so it waits for a query or a retry with
 * the same out_refund_no, and its amount stays held.
 */
export function decideRefundFailed(refund: { status: RefundStatus }, final: boolean): RefundStatus | undefined {
  if (refund.status !== 'PENDING') return undefined;
  return final ? 'REFUNDCLOSE' : 'PENDING';
}

// ---- the outcome ---------------------------------------------------------------------------

export type SettleRefundOutcome =
  /** the refund is SUCCESS now and its amount added to the attempt (and its order) */
  | 'refunded'
  /** the same, and it was the last of the order's money (or, for a refund naming no order, of the attempt's): the order is refunded */
  | 'fully_refunded'
  /** WeChat completed a refund we had closed: recorded and counted after all, flagged for the admin */
  | 'succeeded_after_close'
  | 'closed'
  | 'changed'
  /** already in that state: nothing to do */
  | 'duplicate'
  /** told otherwise than the final state we hold, in a way money cannot have moved (or more than was paid): kept as it was, for an admin */
  | 'conflict'
  /** out_refund_no we never made */
  | 'unknown_refund'
  /** trade, amount, total or ids differ from our records: refused, nothing changed */
  | 'mismatch';

/** Refund outcomes an admin must look at (the money did not come back as asked, or we were told otherwise). */
export function refundNeedsAdmin(outcome: SettleRefundOutcome): boolean {
  return outcome === 'conflict' || outcome === 'changed' || outcome === 'mismatch' || outcome === 'succeeded_after_close';
}

/** WeChat's word on a refund's outcome, as the provider port reads it (notify or query). */
export interface RefundNews {
  outTradeNo: string;
  transactionId?: string | undefined;
  refundId: string;
  refundFee: number;
  /** the trade's total as WeChat knows it */
  totalFee: number;
  status: 'SUCCESS' | 'REFUNDCLOSE' | 'CHANGE';
}

/** The refund's order, locked, when it names one. */
export interface RefundOrder {
  id: number;
  status: OrderStatus;
  total_fen: number;
  refunded_fen: number;
  /** the attempt that paid it (its current one) */
  out_trade_no: string | null;
}

export type RefundSettleDecision =
  | { outcome: 'unknown_refund' | 'mismatch' | 'duplicate' | 'conflict' | 'closed' | 'changed' }
  | {
      outcome: 'refunded' | 'fully_refunded' | 'succeeded_after_close';
      /** the attempt's refunded_fee after */
      refundedFee: number;
      /** the order's refunded_fen after, when the refund names an order this attempt paid */
      orderRefundedFen: number | undefined;
      /** the orders whose money is all back: the refund's order when its own amount is; every order the attempt pays once the attempt's whole amount is */
      refundOrders: 'its_order' | 'all_paid_by_attempt' | 'none';
      flag: RefundFlag | undefined;
    };

/**
 * A refund's outcome, checked against OUR rows: the same trade, amount, total, transaction and
 * refund ids where we know them. SUCCESS adds its amount to the attempt's refunded_fee (and to its
 * order's refunded_fen, when this attempt paid that order) exactly once. A refund we had closed
 * that WeChat reports SUCCESS is recorded and flagged, never dropped: our refunded total always
 * equals WeChat's. Otherwise a final refund never changes again.
 */
export function decideRefundSettle(
  attempt: { out_trade_no: string; total_fee: number; refunded_fee: number; transaction_id: string | null } | undefined,
  refund: { out_trade_no: string; refund_fee: number; status: RefundStatus; refund_id: string | null; order_id: number | null } | undefined,
  order: RefundOrder | undefined,
  news: RefundNews,
): RefundSettleDecision {
  if (!attempt || !refund) return { outcome: 'unknown_refund' };
  if (
    refund.out_trade_no !== news.outTradeNo ||
    refund.refund_fee !== news.refundFee ||
    attempt.total_fee !== news.totalFee ||
    (news.transactionId !== undefined && attempt.transaction_id !== null && news.transactionId !== attempt.transaction_id) ||
    (refund.refund_id !== null && refund.refund_id !== news.refundId)
  ) {
    return { outcome: 'mismatch' };
  }
  if (refund.status === news.status) return { outcome: 'duplicate' };
  const afterClose = refund.status === 'REFUNDCLOSE' && news.status === 'SUCCESS';
  if (isFinalRefund(refund.status) && !afterClose) return { outcome: 'conflict' };
  if (news.status === 'REFUNDCLOSE') return { outcome: 'closed' };
  if (news.status === 'CHANGE') return { outcome: 'changed' };
  const refundedFee = attempt.refunded_fee + refund.refund_fee;
  // WeChat never gives back more than it took: if our sums say so, our records are wrong
  if (refundedFee > attempt.total_fee) return { outcome: 'conflict' };
  const ownOrder = order !== undefined && refund.order_id === order.id && order.out_trade_no === attempt.out_trade_no ? order : undefined;
  // (after a close the same money may have been asked again for the order: it never counts past its total; the ledger check reports the excess)
  const orderRefundedFen = ownOrder ? Math.min(ownOrder.total_fen, ownOrder.refunded_fen + refund.refund_fee) : undefined;
  // the whole payment back: every order it still pays is refunded, whatever the refund named (refunds
  // from before they named orders, or an order over-refunded after a close, would leave one behind)
  const refundOrders =
    refundedFee === attempt.total_fee ? 'all_paid_by_attempt' : ownOrder && orderRefundedFen === ownOrder.total_fen && ownOrder.status === 'paid' ? 'its_order' : 'none';
  return {
    outcome: afterClose ? 'succeeded_after_close' : refundOrders === 'none' ? 'refunded' : 'fully_refunded',
    refundedFee,
    orderRefundedFen,
    refundOrders,
    flag: afterClose ? 'succeeded_after_close' : undefined,
  };
}

/** Another payment of an order that still stands for it (paid, and not all of the order's share refunded from it). */
export interface StandingPayment {
  out_trade_no: string;
  /** what that payment's own refunds naming the order gave back, fen */
  refundedFen: number;
}

export type OrderAfterFullRefund =
  /** its money is all back: refunded, and its goods never sent if they had not left */
  | { kind: 'refunded'; delivery: DeliveryStatus }
  /** the shopper paid it twice and one payment is back: the other pays it now, and it stays paid */
  | { kind: 'paid_by'; outTradeNo: string; refundedFen: number };

/**
 * An order whose payment is all back. Paid twice (the second payment kept and flagged for a
 * refund), refunding either payment leaves it paid by the other: it moves to that payment instead
 * of being refunded, so that a shopper who paid twice and got one payment back still gets the goods.
 */
export function orderAfterFullRefund(order: { delivery_status: DeliveryStatus; total_fen: number }, standing: StandingPayment | undefined): OrderAfterFullRefund {
  if (standing && standing.refundedFen < order.total_fen) return { kind: 'paid_by', outTradeNo: standing.out_trade_no, refundedFen: standing.refundedFen };
  return { kind: 'refunded', delivery: deliveryAfter(order.delivery_status, 'refunded_in_full') };
}

// ---- what an admin may do with a refund ----------------------------------------------------

export interface RefundActions {
  /** never accepted by WeChat: send it again with the same out_refund_no */
  canRetry: boolean;
  /** not final: ask WeChat how it stands */
  canSync: boolean;
  /** never accepted by WeChat: give it up once WeChat says it has no such refund */
  canAbandon: boolean;
}

export function refundActions(refund: { status: RefundStatus }): RefundActions {
  return { canRetry: refund.status === 'PENDING', canSync: !isFinalRefund(refund.status), canAbandon: refund.status === 'PENDING' };
}
