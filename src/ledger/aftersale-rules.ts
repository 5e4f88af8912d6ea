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

export const AFTERSALE_KINDS = ['cancel'] as const;
export type AftersaleKind = (typeof AFTERSALE_KINDS)[number];
export const AFTERSALE_STATUSES = ['requested', 'approved', 'rejected'] as const;
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
export function decideMerchant(request: { status: AftersaleStatus; amount_fen: number } | undefined, order: Omit<AftersaleOrder, 'waiting'>, approve: boolean): MerchantDecision {
  if (!request || request.status !== 'requested') return { kind: 'not_waiting' };
  if (!approve) return { kind: 'reject' };
  if (order.delivery_status === 'shipped' || order.delivery_status === 'completed') return { kind: 'shipped' };
  const left = Math.min(request.amount_fen, order.total_fen - order.live_refund_fen);
  if (order.status !== 'paid' || left <= 0) return { kind: 'nothing_left' };
  return { kind: 'approve', amountFen: left };
}

/** What the shopper may do with a paid order now: cancel it while its goods have not left (the page's button; decideCancelPaid decides under lock). */
export function canCancelPaid(order: { pay_type: PayType; status: OrderStatus; delivery_status: DeliveryStatus }, waitingOrRefunding: boolean): boolean {
  return order.pay_type === 'wxpay' && order.status === 'paid' && order.delivery_status === 'pending' && !waitingOrRefunding;
}
