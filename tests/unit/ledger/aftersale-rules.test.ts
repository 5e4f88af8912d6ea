import { dueForAutoApproval, decideAfterDelivery, decideWithdraw, type AfterDeliveryDecision, canCancelPaid, cancelAfterClose, decideCancelPaid, decideCancelUnpaid, decideMerchant, decideRecordCancel, type AftersaleOrder, type CancellableOrder, type CancelPaidDecision, type CancelUnpaidDecision, type CloseForCancel, type CancelUnpaidOutcome, type MerchantDecision, type RecordCancelDecision } from '../../../src/ledger';

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

  const request = { kind: 'cancel' as const, status: 'requested' as const, amount_fen: 5000 };
  const merchant: [string, Parameters<typeof decideMerchant>[0], AftersaleOrder, boolean, MerchantDecision][] = [
    ['approve a waiting request: its amount', request, paid({ waiting: true }), true, { kind: 'approve', amountFen: 5000 }],
    ['approve after the admin refunded part: at most what remains', request, paid({ live_refund_fen: 1000 }), true, { kind: 'approve', amountFen: 4000 }],
    ['approve when nothing remains', request, paid({ live_refund_fen: 5000 }), true, { kind: 'nothing_left' }],
    ['approve once refunded in full', request, paid({ status: 'refunded', live_refund_fen: 5000 }), true, { kind: 'nothing_left' }],
    ['approve a cancel whose goods left meanwhile', request, paid({ delivery_status: 'shipped' }), true, { kind: 'shipped' }],
    ['reject a waiting request', request, paid(), false, { kind: 'reject' }],
    ['decide an approved one again', { ...request, status: 'approved' }, paid(), true, { kind: 'not_waiting' }],
    ['decide a rejected one again', { ...request, status: 'rejected' }, paid(), false, { kind: 'not_waiting' }],
    ['decide a withdrawn one', { ...request, status: 'withdrawn' }, paid(), true, { kind: 'not_waiting' }],
    ['approve "refund only" of a shipped order: a refund', { ...request, kind: 'refund_only', amount_fen: 1000 }, paid({ delivery_status: 'completed' }), true, { kind: 'approve', amountFen: 1000 }],
    ['approve "return and refund" of a completed order: a refund', { ...request, kind: 'return_refund' }, paid({ delivery_status: 'completed', live_refund_fen: 500 }), true, { kind: 'approve', amountFen: 4500 }],
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

describe('after delivery: refund only, return and refund, withdraw, the clock', () => {
  const DAY = 24 * 3600 * 1000;
  const now = new Date('2026-12-10T08:00:00Z');
  const order = (o: Partial<AftersaleOrder> = {}): AftersaleOrder => ({ pay_type: 'wxpay', status: 'paid', delivery_status: 'completed', total_fen: 5000, live_refund_fen: 0, waiting: false, ...o });
  const cases: [string, AftersaleOrder, Date | null, number, AfterDeliveryDecision][] = [
    ['on its way: may ask', order({ delivery_status: 'shipped' }), null, 5000, { kind: 'request' }],
    ['completed 6 days ago: may ask', order(), new Date(now.getTime() - 6 * DAY), 5000, { kind: 'request' }],
    ['completed exactly 7 days ago: may still ask', order(), new Date(now.getTime() - 7 * DAY), 100, { kind: 'request' }],
    ['completed 7 days and a second ago: the window is closed', order(), new Date(now.getTime() - 7 * DAY - 1000), 100, { kind: 'window_closed' }],
    ['not shipped: cancel instead', order({ delivery_status: 'pending' }), null, 100, { kind: 'not_shipped' }],
    ['refunded in full', order({ status: 'refunded', live_refund_fen: 5000 }), now, 100, { kind: 'not_paid' }],
    ['cash on delivery', order({ pay_type: 'cod' }), now, 100, { kind: 'not_paid' }],
    ['a request waits', order({ waiting: true }), now, 100, { kind: 'waiting' }],
    ['more than was paid', order(), now, 5001, { kind: 'exceeds', leftFen: 5000 }],
    ['more than is left after a refund', order({ live_refund_fen: 3000 }), now, 2001, { kind: 'exceeds', leftFen: 2000 }],
    ['all that is left after a refund', order({ live_refund_fen: 3000 }), now, 2000, { kind: 'request' }],
  ];
  test.each(cases)('%s', (_name, o, completedAt, amount, expected) => {
    expect(decideAfterDelivery(o, completedAt, now, 7, amount)).toEqual(expected);
  });

  test.each([
    ['requested', 'withdraw'],
    ['approved', 'not_waiting'],
    ['rejected', 'not_waiting'],
    ['withdrawn', 'not_waiting'],
  ] as const)('withdrawing a request that is %s: %s', (status, expected) => {
    expect(decideWithdraw({ status })).toBe(expected);
  });

  const at = new Date(now.getTime() - 48 * 3600 * 1000);
  test.each([
    ['a cancel left 48 hours', { kind: 'cancel', status: 'requested', requested_at: at }, true],
    ['"refund only" left 48 hours', { kind: 'refund_only', status: 'requested', requested_at: at }, true],
    ['"refund only" left 47 hours', { kind: 'refund_only', status: 'requested', requested_at: new Date(at.getTime() + 3600 * 1000) }, false],
    ['a return waits for the merchant', { kind: 'return_refund', status: 'requested', requested_at: at }, false],
    ['decided already', { kind: 'refund_only', status: 'rejected', requested_at: at }, false],
  ] as [string, Parameters<typeof dueForAutoApproval>[0], boolean][])('the clock approves %s: %s', (_name, request, expected) => {
    expect(dueForAutoApproval(request, now, 48)).toBe(expected);
  });
});
