import { cancelAfterClose, decideCancelUnpaid, decideRecordCancel, type CancellableOrder, type CancelUnpaidDecision, type CloseForCancel, type CancelUnpaidOutcome, type RecordCancelDecision } from '../../../src/ledger';

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
