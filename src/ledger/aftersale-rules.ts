import { isOrderPaid, type OrderStatus, type PayType, type TradeState } from './model';

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
