import {
  attemptActions,
  checkoutLimitBreach,
  codActionsOf,
  decideClose,
  decideCod,
  decideOffer,
  decidePayment,
  decideRefundAccepted,
  decideRefundFailed,
  decideRefundRequest,
  decideRefundSettle,
  decideRenew,
  fastPathOutcome,
  paymentNeedsAdmin,
  queryIsDue,
  refundActions,
  refundNeedsAdmin,
  shopperOrderAction,
  statusOf,
  type AttemptOrder,
  type RefundNews,
} from '../../../src/ledger';
import { PAYMENT_CASES, newsOf } from '../../helpers/payment-cases';

const SELF = '20261202105600ATTEMPT01';
const NEWER = '20261202110600ATTEMPT02';
const ordersOf = (c: (typeof PAYMENT_CASES)[number]): AttemptOrder[] =>
  c.orders.map((o, i) => ({ id: 100 + i, status: o.status, out_trade_no: o.current === 'self' ? SELF : o.current === 'newer' ? NEWER : null }));

describe('markPaid, decided without a database (the table of tests/helpers/payment-cases.ts)', () => {
  test.each(PAYMENT_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const attempt = c.attempt && { ...c.attempt, out_trade_no: SELF };
    const orders = ordersOf(c);
    const decision = decidePayment(attempt, orders, newsOf(c, SELF));
    expect(decision.outcome).toBe(c.expect.outcome);
    if (decision.outcome === 'paid' || decision.outcome === 'late_payment' || decision.outcome === 'double_payment') {
      expect(decision.flag).toBe(c.expect.flag);
      expect(decision.payOrders).toEqual((c.expect.pays ?? []).map((p) => ({ id: 100 + p.index, from: p.from })));
      expect(decision.retakeStockOf).toEqual((c.expect.retakes ?? []).map((i) => 100 + i));
      expect(decision.wake).toEqual((c.expect.wakes ?? []).map((w) => (w === 'self' ? SELF : NEWER)));
    } else {
      expect(c.expect.pays).toBeUndefined();
    }
    if (decision.outcome === 'conflict') expect(decision.recordConflict).toBe(c.expect.recordConflict);
    expect(fastPathOutcome(attempt, orders, newsOf(c, SELF))).toBe(c.expect.fast);
  });

  test('wherever the fast path decides, it decides as the transaction would', () => {
    for (const c of PAYMENT_CASES) {
      const attempt = c.attempt && { ...c.attempt, out_trade_no: SELF };
      const fast = fastPathOutcome(attempt, ordersOf(c), newsOf(c, SELF));
      const full = decidePayment(attempt, ordersOf(c), newsOf(c, SELF));
      if (fast === undefined) continue;
      expect([c.name, full.outcome]).toEqual([c.name, fast]);
      // the one statement pays every order from unpaid, flags nothing, wakes this attempt alone
      if (full.outcome === 'paid') {
        expect(full.flag).toBeUndefined();
        expect(full.payOrders.every((o) => o.from === 'unpaid')).toBe(true);
        expect(full.payOrders).toHaveLength(c.orders.length);
        expect(full.wake).toEqual([SELF]);
      }
    }
  });
});

describe('closing an attempt', () => {
  const waiting = { trade_state: 'NOTPAY' as const, code_url: null, prepay_id: null };
  test.each([
    ['no such attempt', undefined, {}, 'unknown_trade'],
    ['closed already', { ...waiting, trade_state: 'CLOSED' as const }, {}, 'already_closed'],
    ['paid: stays paid', { ...waiting, trade_state: 'SUCCESS' as const }, {}, 'paid'],
    ['refunded: stays paid', { ...waiting, trade_state: 'REFUND' as const }, {}, 'paid'],
    ['waiting: closed', { ...waiting, code_url: 'weixin://x', prepay_id: 'wx1' }, {}, 'close'],
    ['unknown at WeChat, a QR code drawn since: refused', { ...waiting, code_url: 'weixin://x' }, { onlyIfNeverOrdered: true }, 'ordered_meanwhile'],
    ['unknown at WeChat, an H5 or JSAPI order made since: refused', { ...waiting, prepay_id: 'wx1' }, { onlyIfNeverOrdered: true }, 'ordered_meanwhile'],
    ['unknown at WeChat, never ordered: closed', waiting, { onlyIfNeverOrdered: true }, 'close'],
  ] as const)('%s', (_name, attempt, options, expected) => {
    expect(decideClose(attempt, options)).toBe(expected);
  });
});

describe('what the pay page offers', () => {
  const created = new Date('2026-12-02T02:00:00Z');
  const ttl = 900;
  const at = (minutes: number) => new Date(created.getTime() + minutes * 60_000);
  const attempt = { trade_state: 'NOTPAY' as const, trade_type: 'NATIVE' as const, code_url: null, code_url_expires_at: null, prepay_id: null, create_time: created, paid_by: null, superseded_by: null };
  const live = { ...attempt, code_url: 'weixin://wxpay/bizpayurl?pr=abcdefg', prepay_id: 'wx02100000', code_url_expires_at: at(15) };
  const h5 = { ...attempt, trade_type: 'MWEB' as const };
  const jsapiOrdered = { ...attempt, trade_type: 'JSAPI' as const, prepay_id: 'wx02100001', code_url_expires_at: at(15) };

  test.each([
    ['paid', { ...live, trade_state: 'SUCCESS' as const }, at(1), { kind: 'paid' }],
    ['paid through another attempt', { ...live, paid_by: 'OTHER000001' }, at(1), { kind: 'paid_elsewhere', paidBy: 'OTHER000001' }],
    ['its orders moved on to a newer attempt (another way to pay)', { ...live, superseded_by: 'NEWER00001' }, at(1), { kind: 'moved', to: 'NEWER00001' }],
    ['closed', { ...live, trade_state: 'CLOSED' as const }, at(1), { kind: 'closed' }],
    ['a live code: offered again', live, at(14), { kind: 'qr', codeUrl: live.code_url, expiresAt: at(15) }],
    ['a code at its very second of expiry: expired', live, at(15), { kind: 'expired' }],
    ['a QR code from before trade types (no prepay_id kept): offered again', { ...live, prepay_id: null }, at(14), { kind: 'qr', codeUrl: live.code_url, expiresAt: at(15) }],
    ['no code yet, 10 minutes left: ask WeChat for one that ends at creation + TTL', attempt, at(5), { kind: 'order', expiresAt: at(15) }],
    ['no code yet, under 5 minutes left: expired (WeChat refuses so short a time_expire)', attempt, at(10.5), { kind: 'expired' }],
    ['H5, not ordered yet: the Pay button, WeChat asked when it is pressed', h5, at(5), { kind: 'button', expiresAt: at(15) }],
    ['H5, under 5 minutes left before ordering: expired', h5, at(11), { kind: 'expired' }],
    ['JSAPI ordered: the button again until its time is up', jsapiOrdered, at(14), { kind: 'button', expiresAt: at(15) }],
    ['JSAPI ordered, time up: expired', jsapiOrdered, at(15), { kind: 'expired' }],
  ] as const)('%s', (_name, a, now, expected) => {
    expect(decideOffer(a, now, ttl)).toEqual(expected);
  });

  test.each([
    ['waiting', live, at(1), 'NOTPAY'],
    ['expired', live, at(15), 'EXPIRED'],
    ['paid', { ...live, trade_state: 'REFUND' as const }, at(30), 'SUCCESS'],
    ['paid elsewhere', { ...live, paid_by: 'OTHER000001' }, at(30), 'SUCCESS'],
    ['moved on to another attempt', { ...live, superseded_by: 'NEWER00001' }, at(1), 'MOVED'],
    ['closed', { ...live, trade_state: 'CLOSED' as const }, at(1), 'CLOSED'],
  ] as const)('the poll says %s', (_name, a, now, expected) => {
    expect(statusOf(a, now)).toBe(expected);
  });

  test('WeChat is asked once the attempt has been ordered there for queryAfterSeconds, never for a settled or unordered one', () => {
    const rules = { qrTtlSeconds: ttl, queryAfterSeconds: 60 };
    const issued = { ...live, code_url_expires_at: at(15) }; // issued at(0)
    expect(queryIsDue(issued, at(0.9), rules)).toBe(false);
    expect(queryIsDue(issued, at(1), rules)).toBe(true);
    expect(queryIsDue(jsapiOrdered, at(1), rules)).toBe(true);
    expect(queryIsDue({ ...issued, trade_state: 'SUCCESS' }, at(5), rules)).toBe(false);
    expect(queryIsDue(attempt, at(5), rules)).toBe(false);
    expect(queryIsDue(h5, at(5), rules)).toBe(false);
  });
});

describe('"pay again" and "pay another way"', () => {
  const created = new Date('2026-12-02T02:00:00Z');
  const at = (minutes: number) => new Date(created.getTime() + minutes * 60_000);
  const old = { out_trade_no: 'OLD0000001', trade_state: 'NOTPAY' as const, trade_type: 'NATIVE' as const, code_url: 'weixin://x', prepay_id: 'wx1', code_url_expires_at: at(15), create_time: created };
  const unpaid = (id: number, current = 'OLD0000001') => ({ id, status: 'unpaid' as const, out_trade_no: current, total_fen: 600 });
  const same = { tradeType: 'NATIVE' as const, closedAtWechat: true };

  test.each([
    ['paid: nothing new', { ...old, trade_state: 'SUCCESS' as const }, [unpaid(1)], at(20), same, { kind: 'paid', outTradeNo: 'OLD0000001' }],
    ['its code still live: keep it', old, [unpaid(1)], at(14), same, { kind: 'current' }],
    ['no code yet and room for one: keep it', { ...old, code_url: null, prepay_id: null, code_url_expires_at: null }, [unpaid(1)], at(9), same, { kind: 'current' }],
    ['paid through a newer attempt: that one', old, [{ ...unpaid(1, 'NEW0000002'), status: 'paid' as const }], at(20), same, { kind: 'paid', outTradeNo: 'NEW0000002' }],
    ['a second click: the attempt the first made', old, [unpaid(1, 'NEW0000002')], at(20), same, { kind: 'renewed', outTradeNo: 'NEW0000002' }],
    ['orders closed by the sweeper', { ...old, trade_state: 'CLOSED' as const }, [{ ...unpaid(1), status: 'closed' as const }], at(20), same, { kind: 'orders_closed' }],
    ['no orders at all', old, [], at(20), same, { kind: 'orders_closed' }],
    ['expired: a new attempt for both orders, the old one closed', old, [unpaid(1), unpaid(2)], at(20), same, { kind: 'replace', closeOld: true, tradeType: 'NATIVE', totalFee: 1200, orderIds: [1, 2], offeredUntil: undefined }],
    ['closed already: a new attempt, nothing to close', { ...old, trade_state: 'CLOSED' as const }, [unpaid(1)], at(20), same, { kind: 'replace', closeOld: false, tradeType: 'NATIVE', totalFee: 600, orderIds: [1], offeredUntil: undefined }],
    [
      'a live QR code switched to H5, closed at WeChat: a new H5 attempt, the old one closed',
      old,
      [unpaid(1)],
      at(6),
      { tradeType: 'MWEB' as const, closedAtWechat: true },
      { kind: 'replace', closeOld: true, tradeType: 'MWEB', totalFee: 600, orderIds: [1], offeredUntil: at(15) },
    ],
    [
      'switched in its first 5 minutes (WeChat would refuse closeorder): the old one stays open for the sweeper',
      old,
      [unpaid(1)],
      at(2),
      { tradeType: 'MWEB' as const, closedAtWechat: false },
      { kind: 'replace', closeOld: false, tradeType: 'MWEB', totalFee: 600, orderIds: [1], offeredUntil: at(15) },
    ],
    [
      'switched before WeChat ever had it: kept open, superseded (a Pay pressed just before may be asking WeChat now)',
      { ...old, trade_type: 'MWEB' as const, code_url: null, prepay_id: null, code_url_expires_at: null },
      [unpaid(1)],
      at(1),
      { tradeType: 'NATIVE' as const, closedAtWechat: true },
      { kind: 'replace', closeOld: false, tradeType: 'NATIVE', totalFee: 600, orderIds: [1], offeredUntil: at(15) },
    ],
    [
      'the 10th attempt for the same orders: no more (switching back and forth must end)',
      old,
      [unpaid(1)],
      at(20),
      { tradeType: 'NATIVE' as const, closedAtWechat: true, attempts: 10 },
      { kind: 'too_many_attempts' },
    ],
    [
      'the 9th: still made',
      old,
      [unpaid(1)],
      at(20),
      { tradeType: 'NATIVE' as const, closedAtWechat: true, attempts: 9 },
      { kind: 'replace', closeOld: true, tradeType: 'NATIVE', totalFee: 600, orderIds: [1], offeredUntil: undefined },
    ],
  ] as const)('%s', (_name, attempt, orders, now, want, expected) => {
    expect(decideRenew(attempt, orders, now, 900, want)).toEqual(expected);
  });
});

describe('refunds', () => {
  const paid = { trade_state: 'SUCCESS' as const, total_fee: 1000 };
  test.each([
    ['no attempt', undefined, undefined, 0, 100, { kind: 'not_found' }],
    ['the same refund again (a double submit)', paid, { out_trade_no: 'T1', refund_fee: 100 }, 100, 100, { kind: 'existing' }],
    ['its number used for another amount', paid, { out_trade_no: 'T1', refund_fee: 200 }, 200, 100, { kind: 'token_used' }],
    ['its number used for another trade', paid, { out_trade_no: 'T2', refund_fee: 100 }, 100, 100, { kind: 'token_used' }],
    ['an unpaid attempt', { ...paid, trade_state: 'NOTPAY' as const }, undefined, 0, 100, { kind: 'not_paid', state: 'NOTPAY' }],
    ['within what is left', paid, undefined, 900, 100, { kind: 'create' }],
    ['one fen more than is left', paid, undefined, 900, 101, { kind: 'exceeds', leftFen: 100 }],
    ['a partly refunded attempt, the rest', { ...paid, trade_state: 'REFUND' as const }, undefined, 400, 600, { kind: 'create' }],
  ] as const)('a request: %s', (_name, attempt, existing, liveFen, refundFee, expected) => {
    expect(decideRefundRequest(attempt, existing, liveFen, { outTradeNo: 'T1', refundFee })).toEqual(expected);
  });

  test.each([
    ['PENDING, accepted', { refund_fee: 100, status: 'PENDING' as const, refund_id: null }, 100, 'processing'],
    ['WeChat names another amount', { refund_fee: 100, status: 'PENDING' as const, refund_id: null }, 90, 'amount_differs'],
    ['settled by the notify first: only the id is filled', { refund_fee: 100, status: 'SUCCESS' as const, refund_id: null }, 100, 'fill_refund_id'],
    ['settled, id known: nothing', { refund_fee: 100, status: 'SUCCESS' as const, refund_id: 'R1' }, 100, 'keep'],
  ] as const)('an acceptance: %s', (_name, refund, refundFee, expected) => {
    expect(decideRefundAccepted(refund, { refundFee })).toBe(expected);
  });

  test('a failure closes a PENDING refund only when final, and never touches one WeChat accepted', () => {
    expect(decideRefundFailed({ status: 'PENDING' }, true)).toBe('REFUNDCLOSE');
    expect(decideRefundFailed({ status: 'PENDING' }, false)).toBe('PENDING');
    expect(decideRefundFailed({ status: 'PROCESSING' }, true)).toBeUndefined();
  });

  const attempt = { out_trade_no: 'T1', total_fee: 1000, refunded_fee: 300, transaction_id: 'W1' };
  const refund = { out_trade_no: 'T1', refund_fee: 200, status: 'PROCESSING' as const, refund_id: 'RF1' };
  const news: RefundNews = { outTradeNo: 'T1', transactionId: 'W1', refundId: 'RF1', refundFee: 200, totalFee: 1000, status: 'SUCCESS' };
  test.each([
    ['not ours', undefined, news, { outcome: 'unknown_refund' }],
    ['another trade', refund, { ...news, outTradeNo: 'T2' }, { outcome: 'mismatch' }],
    ['another amount', refund, { ...news, refundFee: 201 }, { outcome: 'mismatch' }],
    ['another total', refund, { ...news, totalFee: 999 }, { outcome: 'mismatch' }],
    ['another transaction', refund, { ...news, transactionId: 'W2' }, { outcome: 'mismatch' }],
    ['another refund id', refund, { ...news, refundId: 'RF2' }, { outcome: 'mismatch' }],
    ['SUCCESS: its amount added once', refund, news, { outcome: 'refunded', refundedFee: 500 }],
    ['SUCCESS of the last of the money', { ...refund, refund_fee: 700 }, { ...news, refundFee: 700 }, { outcome: 'fully_refunded', refundedFee: 1000 }],
    ['SUCCESS again', { ...refund, status: 'SUCCESS' as const }, news, { outcome: 'duplicate' }],
    ['SUCCESS told REFUNDCLOSE later: kept', { ...refund, status: 'SUCCESS' as const }, { ...news, status: 'REFUNDCLOSE' as const }, { outcome: 'conflict' }],
    ['closed by WeChat', refund, { ...news, status: 'REFUNDCLOSE' as const }, { outcome: 'closed' }],
    ['failed at the bank', refund, { ...news, status: 'CHANGE' as const }, { outcome: 'changed' }],
    ['more than was paid in all', { ...refund, refund_fee: 800 }, { ...news, refundFee: 800 }, { outcome: 'conflict' }],
  ] as const)('an outcome: %s', (_name, r, n, expected) => {
    expect(decideRefundSettle(attempt, r, n)).toEqual(expected);
  });
});

describe('what may be done, decided once (the views read these)', () => {
  test('an admin closes an unpaid attempt and refunds a paid one while money is left', () => {
    expect(attemptActions({ trade_state: 'NOTPAY' }, 0)).toEqual({ canClose: true, canRefund: false, refundBlocked: 'not_paid' });
    expect(attemptActions({ trade_state: 'SUCCESS' }, 100)).toEqual({ canClose: false, canRefund: true, refundBlocked: undefined });
    expect(attemptActions({ trade_state: 'REFUND' }, 0)).toEqual({ canClose: false, canRefund: false, refundBlocked: 'nothing_left' });
    expect(attemptActions({ trade_state: 'CLOSED' }, 0)).toEqual({ canClose: false, canRefund: false, refundBlocked: 'not_paid' });
  });

  test('a refund is retried while WeChat never accepted it, synced until final', () => {
    expect(refundActions({ status: 'PENDING' })).toEqual({ canRetry: true, canSync: true });
    expect(refundActions({ status: 'PROCESSING' })).toEqual({ canRetry: false, canSync: true });
    expect(refundActions({ status: 'CHANGE' })).toEqual({ canRetry: false, canSync: true });
    expect(refundActions({ status: 'SUCCESS' })).toEqual({ canRetry: false, canSync: false });
    expect(refundActions({ status: 'REFUNDCLOSE' })).toEqual({ canRetry: false, canSync: false });
  });

  test('a shopper pays an unpaid order, buys a closed one again, reads a paid one', () => {
    expect(shopperOrderAction({ pay_type: 'wxpay', status: 'unpaid', out_trade_no: 'T1' })).toEqual({ kind: 'pay', outTradeNo: 'T1' });
    expect(shopperOrderAction({ pay_type: 'cod', status: 'unpaid', out_trade_no: null })).toEqual({ kind: 'none' });
    expect(shopperOrderAction({ pay_type: 'wxpay', status: 'closed', out_trade_no: 'T1' })).toEqual({ kind: 'buy_again' });
    expect(shopperOrderAction({ pay_type: 'wxpay', status: 'refunded', out_trade_no: 'T1' })).toEqual({ kind: 'view_payment', outTradeNo: 'T1' });
  });

  test('a notify an admin must look at: money kept that no order needed, told otherwise, or not as we asked', () => {
    const payments = ['paid', 'late_payment', 'double_payment', 'duplicate', 'conflict', 'amount_mismatch', 'unknown_trade'] as const;
    expect(payments.filter(paymentNeedsAdmin)).toEqual(['late_payment', 'double_payment', 'conflict']);
    const refunds = ['refunded', 'fully_refunded', 'closed', 'changed', 'duplicate', 'conflict', 'unknown_refund', 'mismatch'] as const;
    expect(refunds.filter(refundNeedsAdmin)).toEqual(['changed', 'conflict', 'mismatch']);
  });
});

describe('cash on delivery', () => {
  const open = { pay_type: 'cod' as const, status: 'unpaid' as const, accepted_at: null };
  const accepted = { ...open, accepted_at: new Date() };
  test.each([
    ['no order', undefined, 'accept', { outcome: 'unknown_order' }],
    ['a WeChat Pay order is never settled by hand', { ...open, pay_type: 'wxpay' as const }, 'paid', { outcome: 'not_cod' }],
    ['a cancelled order', { ...open, status: 'closed' as const }, 'paid', { outcome: 'not_open' }],
    ['accepted', open, 'accept', { outcome: 'done', to: 'unpaid', remark: 'cash on delivery: accepted for delivery' }],
    ['accepted twice', accepted, 'accept', { outcome: 'already' }],
    ['delivered and paid', accepted, 'paid', { outcome: 'done', to: 'paid', remark: 'cash on delivery: delivered and paid' }],
    ['cancelled', open, 'cancel', { outcome: 'done', to: 'closed', remark: 'cash on delivery: cancelled, stock returned' }],
  ] as const)('%s', (_name, order, action, expected) => {
    expect(decideCod(order, action)).toEqual(expected);
  });

  test('the actions offered follow the same rule', () => {
    expect(codActionsOf(open)).toEqual(['accept', 'paid', 'cancel']);
    expect(codActionsOf(accepted)).toEqual(['paid', 'cancel']);
    expect(codActionsOf({ ...open, status: 'paid' })).toEqual([]);
    expect(codActionsOf({ ...open, pay_type: 'wxpay' })).toEqual([]);
    for (const order of [open, accepted]) for (const action of codActionsOf(order)) expect(decideCod(order, action).outcome).toBe('done');
  });
});

describe('checkout limits', () => {
  const limits = { openPerSession: 3, unitsPerSession: 30, openPerAddress: 20, unitsPerAddress: 200 };
  const none = { openByShopper: 0, unitsByShopper: 0, openByAddress: 0, unitsByAddress: 0 };
  test.each([
    ['nothing held', none, 5, undefined],
    ['the third checkout of a session', { ...none, openByShopper: 2 }, 1, undefined],
    ['a fourth', { ...none, openByShopper: 3 }, 1, { kind: 'open', by: 'shopper', count: 3, max: 3 }],
    ['an address full of open checkouts', { ...none, openByAddress: 20 }, 1, { kind: 'open', by: 'address', count: 20, max: 20 }],
    ['exactly the units a session may hold', { ...none, unitsByShopper: 25 }, 5, undefined],
    ['one unit more', { ...none, unitsByShopper: 25 }, 6, { kind: 'units', by: 'shopper', max: 30 }],
    ['an address over its units', { ...none, unitsByAddress: 199 }, 2, { kind: 'units', by: 'address', max: 200 }],
  ] as const)('%s', (_name, held, units, expected) => {
    expect(checkoutLimitBreach(held, units, limits)).toEqual(expected);
  });
});
