import type { AttemptOrder, AttemptState, PaylogFlag, PaymentNews } from '../../src/ledger';

/**
 * markPaid's table: the attempt and its orders as they stand, the news, and what must happen.
 * tests/unit/ledger/rules.test.ts runs it through rules.decidePayment and rules.fastPathOutcome
 * without a database; tests/integration/ledger/mark-paid-table.test.ts builds each case in a real
 * database and runs it through the one-statement fast path and the whole markPaid.
 */
export interface PaymentCase {
  name: string;
  /** undefined: no such attempt */
  attempt: Omit<AttemptState, 'out_trade_no'> | undefined;
  /** the attempt's orders; `current` names the attempt each one offers now ('self', 'newer' or null) */
  orders: { status: AttemptOrder['status']; current: 'self' | 'newer' | null }[];
  news: { totalFee: number; transactionId: string };
  expect: {
    outcome: string;
    flag?: PaylogFlag | undefined;
    /** index into `orders` of those that become paid, with the state each came from */
    pays?: { index: number; from: AttemptOrder['status'] }[];
    /** index into `orders` of those whose stock is taken again */
    retakes?: number[];
    /** which attempts wake ('self', 'newer') */
    wakes?: ('self' | 'newer')[];
    /** conflict: the transaction id kept beside the first (undefined: one is kept already) */
    recordConflict?: string | undefined;
    /** what the one-statement fast path answers (undefined: it leaves the case to the transaction) */
    fast: 'paid' | 'duplicate' | undefined;
  };
}

const TXN = '4200000000202612020000000001';
const OTHER = '4200000000202612020000000002';
const THIRD = '4200000000202612020000000003';

const notpay = { total_fee: 1200, trade_state: 'NOTPAY' as const, transaction_id: null, conflict_transaction_id: null };
const success = { total_fee: 1200, trade_state: 'SUCCESS' as const, transaction_id: TXN, conflict_transaction_id: null };
const closed = { total_fee: 1200, trade_state: 'CLOSED' as const, transaction_id: null, conflict_transaction_id: null };
const right = { totalFee: 1200, transactionId: TXN };

export const PAYMENT_CASES: readonly PaymentCase[] = [
  { name: 'an attempt we never made', attempt: undefined, orders: [], news: right, expect: { outcome: 'unknown_trade', fast: undefined } },
  { name: 'the wrong amount for a waiting attempt', attempt: notpay, orders: [{ status: 'unpaid', current: 'self' }], news: { ...right, totalFee: 1199 }, expect: { outcome: 'amount_mismatch', fast: undefined } },
  {
    name: 'NOTPAY with both orders waiting for it: paid, in one statement',
    attempt: notpay,
    orders: [
      { status: 'unpaid', current: 'self' },
      { status: 'unpaid', current: 'self' },
    ],
    news: right,
    expect: { outcome: 'paid', flag: undefined, pays: [{ index: 0, from: 'unpaid' }, { index: 1, from: 'unpaid' }], retakes: [], wakes: ['self'], fast: 'paid' },
  },
  { name: "WeChat's retry of a paid attempt: a duplicate, in one statement", attempt: success, orders: [{ status: 'paid', current: 'self' }], news: right, expect: { outcome: 'duplicate', fast: 'duplicate' } },
  { name: 'a retry after a partial refund: still a duplicate', attempt: { ...success, trade_state: 'REFUND' }, orders: [{ status: 'paid', current: 'self' }], news: right, expect: { outcome: 'duplicate', fast: 'duplicate' } },
  { name: 'a retry with the wrong amount for a paid attempt: refused', attempt: success, orders: [{ status: 'paid', current: 'self' }], news: { ...right, totalFee: 1 }, expect: { outcome: 'amount_mismatch', fast: undefined } },
  {
    name: 'a second transaction id for a paid attempt: kept beside the first',
    attempt: success,
    orders: [{ status: 'paid', current: 'self' }],
    news: { ...right, transactionId: OTHER },
    expect: { outcome: 'conflict', recordConflict: OTHER, fast: undefined },
  },
  {
    name: 'a third transaction id: the first conflict stays',
    attempt: { ...success, conflict_transaction_id: OTHER },
    orders: [{ status: 'paid', current: 'self' }],
    news: { ...right, transactionId: THIRD },
    expect: { outcome: 'conflict', recordConflict: undefined, fast: undefined },
  },
  {
    name: 'paid after we closed it: its closed orders paid, their stock taken again, flagged late',
    attempt: closed,
    orders: [
      { status: 'closed', current: 'self' },
      { status: 'closed', current: 'self' },
    ],
    news: right,
    expect: { outcome: 'late_payment', flag: 'late_payment', pays: [{ index: 0, from: 'closed' }, { index: 1, from: 'closed' }], retakes: [0, 1], wakes: ['self'], fast: undefined },
  },
  {
    name: 'an old closed attempt paid while a newer one is offered: the orders paid, both pages woken',
    attempt: closed,
    orders: [{ status: 'unpaid', current: 'newer' }],
    news: right,
    expect: { outcome: 'late_payment', flag: 'late_payment', pays: [{ index: 0, from: 'unpaid' }], retakes: [], wakes: ['self', 'newer'], fast: undefined },
  },
  {
    name: 'paid while its orders were paid through another attempt: kept, flagged double',
    attempt: notpay,
    orders: [{ status: 'paid', current: 'newer' }],
    news: right,
    expect: { outcome: 'double_payment', flag: 'double_payment', pays: [], retakes: [], wakes: ['self'], fast: undefined },
  },
  {
    name: 'a closed attempt paid after its orders were paid and refunded elsewhere: double, not late',
    attempt: closed,
    orders: [{ status: 'refunded', current: 'newer' }],
    news: right,
    expect: { outcome: 'double_payment', flag: 'double_payment', pays: [], retakes: [], wakes: ['self'], fast: undefined },
  },
  {
    name: 'NOTPAY but its orders moved on to a newer attempt: paid by the transaction, not the fast path',
    attempt: notpay,
    orders: [{ status: 'unpaid', current: 'newer' }],
    news: right,
    expect: { outcome: 'paid', flag: undefined, pays: [{ index: 0, from: 'unpaid' }], retakes: [], wakes: ['self', 'newer'], fast: undefined },
  },
  {
    // (this row once said "paid, no stock moved (not late)": a closed order paid without its stock
    // taken back and without a word to the admin; any payment of a closed order is late)
    name: 'NOTPAY with one order closed meanwhile: both paid by the transaction, the closed one late (its stock taken again, flagged)',
    attempt: notpay,
    orders: [
      { status: 'unpaid', current: 'self' },
      { status: 'closed', current: 'self' },
    ],
    news: right,
    expect: { outcome: 'late_payment', flag: 'late_payment', pays: [{ index: 0, from: 'unpaid' }, { index: 1, from: 'closed' }], retakes: [1], wakes: ['self'], fast: undefined },
  },
  {
    name: 'an old attempt still open at WeChat paid after the newer one was closed: its closed orders paid late, their stock taken again, flagged',
    attempt: notpay,
    orders: [{ status: 'closed', current: 'newer' }],
    news: right,
    expect: { outcome: 'late_payment', flag: 'late_payment', pays: [{ index: 0, from: 'closed' }], retakes: [0], wakes: ['self', 'newer'], fast: undefined },
  },
  {
    name: 'an attempt linked to no order (made by hand): paid by the transaction, nothing else moves',
    attempt: notpay,
    orders: [],
    news: right,
    expect: { outcome: 'paid', flag: undefined, pays: [], retakes: [], wakes: ['self'], fast: undefined },
  },
];

/** The case's news for an attempt number. */
export function newsOf(c: PaymentCase, outTradeNo: string): PaymentNews {
  return { outTradeNo, ...c.news };
}
