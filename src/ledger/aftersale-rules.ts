import { isOrderPaid, type DeliveryStatus, type OrderStatus, type PayType, type TradeState } from './model';

/**
 * The shopper's side after checkout (issue 24), pure and table-tested
 * (tests/unit/ledger/aftersale-rules.test.ts): cancelling an unpaid checkout.
 */

/** An order as the shopper's cancel reads it. */
export interface CancellableOrder {
  pay_type: PayType;
  status: OrderStatus;
  out_trade_no: string | null;
}

export type CancelUnpaidDecision =
  /** ask WeChat to close the order's payment attempt, then close it here (all the attempt's orders) */
  | 'close'
  /** closed already: nothing to do */
  | 'already_closed'
  /** paid (now or before): the shopper sees the paid page, never an error */
  | 'paid'
  /** cash on delivery, or an order with no attempt: not the shopper's cancel */
  | 'not_cancellable';

/** What a shopper's "cancel" on an order does before WeChat is asked. */
export function decideCancelUnpaid(order: CancellableOrder): CancelUnpaidDecision {
  if (isOrderPaid(order.status)) return 'paid';
  if (order.status === 'closed') return 'already_closed';
  if (order.pay_type !== 'wxpay' || !order.out_trade_no) return 'not_cancellable';
  return 'close';
}

/** What closing the attempt at WeChat and here came to (pay/attempts.ts closeTrade's outcomes). */
export type CloseForCancel = 'closed' | 'already_closed' | 'paid' | 'too_early' | 'paying' | 'unknown_trade' | 'amount_mismatch' | 'provider_failed';

export type CancelUnpaidOutcome =
  | 'cancelled'
  | 'paid'
  /** WeChat cannot close it yet (its first 5 minutes, a payer entering the password, WeChat unreachable): recorded, the sweeper closes it once WeChat allows */
  | 'requested'
  /** WeChat says paid but not as we recorded it: nothing changed, the merchant sees it */
  | 'refused';

/** The shopper's cancel after WeChat was asked to close. */
export function cancelAfterClose(outcome: CloseForCancel): CancelUnpaidOutcome {
  switch (outcome) {
    case 'closed':
    case 'already_closed':
      return 'cancelled';
    case 'paid':
      return 'paid';
    case 'too_early':
    case 'paying':
    case 'provider_failed':
      return 'requested';
    case 'unknown_trade':
    case 'amount_mismatch':
      return 'refused';
  }
}

export type RecordCancelDecision = 'record' | 'already_requested' | 'closed' | 'paid' | 'unknown_trade';

/** The cancel is recorded on an attempt WeChat may still take money for: NOTPAY, and not asked before. */
export function decideRecordCancel(attempt: { trade_state: TradeState; cancel_requested_at: Date | null } | undefined): RecordCancelDecision {
  if (!attempt) return 'unknown_trade';
  if (attempt.trade_state === 'CLOSED') return 'closed';
  if (attempt.trade_state !== 'NOTPAY') return 'paid';
  return attempt.cancel_requested_at ? 'already_requested' : 'record';
}

// ---- a paid order cancelled before it ships ----------------------------------------------------

export const AFTERSALE_KINDS = ['cancel', 'refund_only', 'return_refund'] as const;
export type AftersaleKind = (typeof AFTERSALE_KINDS)[number];
export const AFTERSALE_STATUSES = ['requested', 'approved', 'rejected', 'withdrawn'] as const;
export type AftersaleStatus = (typeof AFTERSALE_STATUSES)[number];

/** A paid order as the after-sales rules read it, locked (its payment attempt locked first). */
export interface AftersaleOrder {
  pay_type: PayType;
  status: OrderStatus;
  delivery_status: DeliveryStatus;
  total_fen: number;
  /** what this order's refunds that may still move money (all but REFUNDCLOSE) hold, fen */
  live_refund_fen: number;
  /** a request of this order waits for the merchant */
  waiting: boolean;
}

export type CancelPaidDecision =
  /** refunded in full at once: an approved request with its refund of `amountFen` */
  | { kind: 'refund'; amountFen: number }
  /** waits for the merchant's approval */
  | { kind: 'request'; amountFen: number }
  | { kind: 'not_paid' }
  /** its goods left (or arrived): a return, not a cancel */
  | { kind: 'shipped' }
  /** a request waits already, or its money is all back or on its way back */
  | { kind: 'already' };

/**
 * A shopper cancels a paid WeChat Pay order whose goods have not left: what remains of its money
 * (its total less its live refunds) comes back, at once (`auto`) or once the merchant approves.
 * Never more than remains, never while a request waits.
 */
export function decideCancelPaid(order: AftersaleOrder, approval: 'auto' | 'merchant'): CancelPaidDecision {
  if (order.pay_type !== 'wxpay' || !isOrderPaid(order.status)) return { kind: 'not_paid' };
  if (order.delivery_status === 'shipped' || order.delivery_status === 'completed') return { kind: 'shipped' };
  const left = order.total_fen - order.live_refund_fen;
  if (order.status === 'refunded' || order.waiting || left <= 0 || order.delivery_status !== 'pending') return { kind: 'already' };
  return approval === 'auto' ? { kind: 'refund', amountFen: left } : { kind: 'request', amountFen: left };
}

export type MerchantDecision =
  | { kind: 'approve'; amountFen: number }
  | { kind: 'reject' }
  /** decided already (or withdrawn): nothing changes */
  | { kind: 'not_waiting' }
  /** approve a cancel whose goods left meanwhile: refused, the merchant rejects it (the shopper asks for a return) */
  | { kind: 'shipped' }
  /** approve, but nothing is left to refund (refunded meanwhile by the admin): refused, the merchant rejects it */
  | { kind: 'nothing_left' };

/** The merchant approves (refund of what was asked, at most what remains) or rejects a waiting request. */
export function decideMerchant(request: { kind: AftersaleKind; status: AftersaleStatus; amount_fen: number } | undefined, order: Omit<AftersaleOrder, 'waiting'>, approve: boolean): MerchantDecision {
  if (!request || request.status !== 'requested') return { kind: 'not_waiting' };
  if (!approve) return { kind: 'reject' };
  if (request.kind === 'cancel' && (order.delivery_status === 'shipped' || order.delivery_status === 'completed')) return { kind: 'shipped' };
  const left = Math.min(request.amount_fen, order.total_fen - order.live_refund_fen);
  if (order.status !== 'paid' || left <= 0) return { kind: 'nothing_left' };
  return { kind: 'approve', amountFen: left };
}

/** What the shopper may do with a paid order now: cancel it while its goods have not left (the page's button; decideCancelPaid decides under lock). */
export function canCancelPaid(order: { pay_type: PayType; status: OrderStatus; delivery_status: DeliveryStatus }, waitingOrRefunding: boolean): boolean {
  return order.pay_type === 'wxpay' && order.status === 'paid' && order.delivery_status === 'pending' && !waitingOrRefunding;
}

// ---- after delivery: refund only, return and refund --------------------------------------------

export const AFTERSALE_REASONS = ['not_as_described', 'damaged', 'wrong_item', 'quality', 'no_reason', 'other'] as const;
export type AftersaleReason = (typeof AFTERSALE_REASONS)[number];
export const MAX_NOTE_LENGTH = 200;

export type AfterDeliveryDecision =
  | { kind: 'request' }
  | { kind: 'not_paid' }
  /** its goods have not left: cancel instead */
  | { kind: 'not_shipped' }
  /** the return window (`days` after completion) is over */
  | { kind: 'window_closed' }
  | { kind: 'waiting' }
  /** more than was paid for the order less what its refunds hold */
  | { kind: 'exceeds'; leftFen: number };

/** When an order's return window closes: `days` after completion (receipt confirmed, or by the clock); open while it is on its way. */
export function returnWindowEndsAt(completedAt: Date | null, days: number): Date | undefined {
  return completedAt ? new Date(completedAt.getTime() + days * 24 * 3600 * 1000) : undefined;
}

/**
 * A shopper asks for "refund only" or "return and refund" after shipment: a paid WeChat Pay order
 * whose goods left, within `days` of completion, none waiting, for at most what was paid for the
 * order less what its refunds hold (amountFen > 0 is checked before).
 */
export function decideAfterDelivery(order: AftersaleOrder, completedAt: Date | null, now: Date, days: number, amountFen: number): AfterDeliveryDecision {
  if (order.pay_type !== 'wxpay' || order.status !== 'paid') return { kind: 'not_paid' };
  if (order.delivery_status !== 'shipped' && order.delivery_status !== 'completed') return { kind: 'not_shipped' };
  const ends = returnWindowEndsAt(order.delivery_status === 'completed' ? completedAt : null, days);
  if (ends && now.getTime() > ends.getTime()) return { kind: 'window_closed' };
  if (order.waiting) return { kind: 'waiting' };
  const left = order.total_fen - order.live_refund_fen;
  if (amountFen > left) return { kind: 'exceeds', leftFen: Math.max(0, left) };
  return { kind: 'request' };
}

/** The shopper withdraws their own request while it waits; a decided one stays as it is. */
export function decideWithdraw(request: { status: AftersaleStatus } | undefined): 'withdraw' | 'not_waiting' {
  return request?.status === 'requested' ? 'withdraw' : 'not_waiting';
}

/** The clock approves a request the merchant left undecided `hours` after it was made: a cancel or "refund only" (a return waits for the goods, so for the merchant). */
export function dueForAutoApproval(request: { kind: AftersaleKind; status: AftersaleStatus; requested_at: Date }, now: Date, hours: number): boolean {
  return request.status === 'requested' && request.kind !== 'return_refund' && now.getTime() >= request.requested_at.getTime() + hours * 3600 * 1000;
}
