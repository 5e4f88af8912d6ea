import { canCancelPaid, cancelAfterClose, decideCancelPaid, decideCancelUnpaid, decideMerchant, decideRecordCancel, type AftersaleOrder, type CancellableOrder, type CancelPaidDecision, type CancelUnpaidDecision, type CloseForCancel, type CancelUnpaidOutcome, type MerchantDecision, type RecordCancelDecision } from '../../../src/ledger';

/** The shopper's cancel of an unpaid checkout (src/ledger/aftersale-rules.ts), as a table. */
describe('the shopper cancels an unpaid checkout: the rules', () => {
  const order = (o: Partial<CancellableOrder>): CancellableOrder => ({ pay_type: 'wxpay', status: 'unpaid', out_trade_no: '202612071030001234567890', ...o });
  const before: [string, CancellableOrder, CancelUnpaidDecision][] = [
    ['an unpaid WeChat Pay order: its attempt is closed at WeChat, then here', order({}), 'close'],
    ['a paid order: the paid page', order({ status: 'paid' }), 'paid'],
    ['a refunded order: the paid page (it was paid)', order({ status: 'refunded' }), 'paid'],
    ['a closed order: nothing to do', order({ status: 'closed' }), 'already_closed'],
    ['cash on delivery: not this cancel', order({ pay_type: 'cod', out_trade_no: null }), 'not_cancellable'],
    ['a WeChat Pay order with no attempt', order({ out_trade_no: null }), 'not_cancellable'],
  ];
  test.each(before)('%s', (_name, o, expected) => {
    expect(decideCancelUnpaid(o)).toBe(expected);
  });

  const after: [CloseForCancel, CancelUnpaidOutcome][] = [
    ['closed', 'cancelled'],
    ['already_closed', 'cancelled'],
    ['paid', 'paid'],
    ['too_early', 'requested'],
    ['paying', 'requested'],
    ['provider_failed', 'requested'],
    ['unknown_trade', 'refused'],
    ['amount_mismatch', 'refused'],
  ];
  test.each(after)('WeChat\'s close came to %s: the cancel is %s', (closed, expected) => {
    expect(cancelAfterClose(closed)).toBe(expected);
  });

  const record: [string, Parameters<typeof decideRecordCancel>[0], RecordCancelDecision][] = [
    ['NOTPAY, not asked: recorded', { trade_state: 'NOTPAY', cancel_requested_at: null }, 'record'],
    ['NOTPAY, asked before: no-op', { trade_state: 'NOTPAY', cancel_requested_at: new Date() }, 'already_requested'],
    ['paid meanwhile: the paid page', { trade_state: 'SUCCESS', cancel_requested_at: null }, 'paid'],
    ['refunded: paid', { trade_state: 'REFUND', cancel_requested_at: null }, 'paid'],
    ['closed meanwhile', { trade_state: 'CLOSED', cancel_requested_at: null }, 'closed'],
    ['no such attempt', undefined, 'unknown_trade'],
  ];
  test.each(record)('recording a cancel: %s', (_name, attempt, expected) => {
    expect(decideRecordCancel(attempt)).toBe(expected);
  });
});

describe('the shopper cancels a paid order before it ships: the rules', () => {
  const paid = (o: Partial<AftersaleOrder> = {}): AftersaleOrder => ({ pay_type: 'wxpay', status: 'paid', delivery_status: 'pending', total_fen: 5000, live_refund_fen: 0, waiting: false, ...o });
  const cases: [string, AftersaleOrder, 'auto' | 'merchant', CancelPaidDecision][] = [
    ['paid, not shipped, auto: all of it refunded at once', paid(), 'auto', { kind: 'refund', amountFen: 5000 }],
    ['paid, not shipped, merchant: a request for all of it', paid(), 'merchant', { kind: 'request', amountFen: 5000 }],
    ['partly refunded by the admin: the rest', paid({ live_refund_fen: 1200 }), 'auto', { kind: 'refund', amountFen: 3800 }],
    ['its money all on its way back already', paid({ live_refund_fen: 5000 }), 'auto', { kind: 'already' }],
    ['a request waits already', paid({ waiting: true }), 'auto', { kind: 'already' }],
    ['refunded in full', paid({ status: 'refunded', delivery_status: 'cancelled', live_refund_fen: 5000 }), 'auto', { kind: 'already' }],
    ['shipped: a return, not a cancel', paid({ delivery_status: 'shipped' }), 'auto', { kind: 'shipped' }],
    ['completed', paid({ delivery_status: 'completed' }), 'merchant', { kind: 'shipped' }],
    ['unpaid', paid({ status: 'unpaid' }), 'auto', { kind: 'not_paid' }],
    ['closed', paid({ status: 'closed', delivery_status: 'cancelled' }), 'auto', { kind: 'not_paid' }],
    ['cash on delivery', paid({ pay_type: 'cod', status: 'unpaid' }), 'auto', { kind: 'not_paid' }],
  ];
  test.each(cases)('%s', (_name, order, approval, expected) => {
    expect(decideCancelPaid(order, approval)).toEqual(expected);
  });

  const request = { status: 'requested' as const, amount_fen: 5000 };
  const merchant: [string, Parameters<typeof decideMerchant>[0], AftersaleOrder, boolean, MerchantDecision][] = [
    ['approve a waiting request: its amount', request, paid({ waiting: true }), true, { kind: 'approve', amountFen: 5000 }],
    ['approve after the admin refunded part: at most what remains', request, paid({ live_refund_fen: 1000 }), true, { kind: 'approve', amountFen: 4000 }],
    ['approve when nothing remains', request, paid({ live_refund_fen: 5000 }), true, { kind: 'nothing_left' }],
    ['approve once refunded in full', request, paid({ status: 'refunded', live_refund_fen: 5000 }), true, { kind: 'nothing_left' }],
    ['approve a cancel whose goods left meanwhile', request, paid({ delivery_status: 'shipped' }), true, { kind: 'shipped' }],
    ['reject a waiting request', request, paid(), false, { kind: 'reject' }],
    ['decide an approved one again', { status: 'approved', amount_fen: 5000 }, paid(), true, { kind: 'not_waiting' }],
    ['decide a rejected one again', { status: 'rejected', amount_fen: 5000 }, paid(), false, { kind: 'not_waiting' }],
    ['no such request', undefined, paid(), true, { kind: 'not_waiting' }],
  ];
  test.each(merchant)('the merchant: %s', (_name, req, order, approve, expected) => {
    expect(decideMerchant(req, order, approve)).toEqual(expected);
  });

  test.each([
    ['paid, pending, nothing in progress', paid(), false, true],
    ['a refund or request in progress', paid(), true, false],
    ['shipped', paid({ delivery_status: 'shipped' }), false, false],
    ['unpaid', paid({ status: 'unpaid' }), false, false],
  ] as [string, AftersaleOrder, boolean, boolean][])('the page offers "cancel and refund": %s', (_name, order, busy, expected) => {
    expect(canCancelPaid(order, busy)).toBe(expected);
  });
});
