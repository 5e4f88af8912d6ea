import { deliveryAfter } from './delivery-rules';
import { isOrderPaid, isPaid, orderedAtWechat, type DeliveryStatus, type OrderStatus, type PaylogFlag, type TradeState, type TradeType } from './model';

/**
 * The ledger's decisions, pure: from the rows as they stand (locked, in the transaction that acts
 * on the answer) and the news, what happens. No database, no clock but the `now` given; the
 * table test in tests/unit/ledger/rules.test.ts runs every case without a database, and the
 * one-statement fast paths of the repo are checked against the same table on a real one.
 */

// ---- payment: markPaid ---------------------------------------------------------------------

/** What markPaid reads under lock: the attempt ... */
export interface AttemptState {
  out_trade_no: string;
  total_fee: number;
  trade_state: TradeState;
  transaction_id: string | null;
  conflict_transaction_id: string | null;
}

/** ... and the orders it was made for (through paylog_orders), with the attempt each one offers now. */
export interface AttemptOrder {
  id: number;
  status: OrderStatus;
  delivery_status: DeliveryStatus;
  out_trade_no: string | null;
}

/** WeChat's word that a trade was paid, as every source (notify, query, sweeper, admin) gives it. */
export interface PaymentNews {
  outTradeNo: string;
  transactionId: string;
  /** what WeChat says was paid, integer fen */
  totalFee: number;
}

export type MarkPaidOutcome =
  /** NOTPAY -> SUCCESS: the one state change */
  | 'paid'
  /** a payment for a trade we had closed: kept, orders paid, flagged for the admin */
  | 'late_payment'
  /** a payment whose orders were all paid already by another attempt: kept and flagged (refund one) */
  | 'double_payment'
  /** already SUCCESS with this transaction id: nothing to do */
  | 'duplicate'
  /** already SUCCESS with ANOTHER transaction id: kept for the admin, nothing overwritten */
  | 'conflict'
  /** WeChat's amount is not ours: refused, nothing changed */
  | 'amount_mismatch'
  | 'unknown_trade';

/** Outcomes an admin must look at. */
export function paymentNeedsAdmin(outcome: MarkPaidOutcome): boolean {
  return outcome === 'late_payment' || outcome === 'double_payment' || outcome === 'conflict';
}

export type PaymentDecision =
  | { outcome: 'unknown_trade' | 'amount_mismatch' | 'duplicate' }
  /** `recordConflict`: the transaction id to keep beside the first (undefined when one is kept already) */
  | { outcome: 'conflict'; recordConflict: string | undefined }
  | {
      outcome: 'paid' | 'late_payment' | 'double_payment';
      flag: PaylogFlag | undefined;
      /** the orders that become paid, each from its own state (unpaid, or closed for a late payment), and its delivery after */
      payOrders: { id: number; from: OrderStatus; delivery: DeliveryStatus }[];
      /** orders closed before: their stock was given back and is taken again where there is some */
      retakeStockOf: number[];
      /** the attempts whose pollers wake: this one, and any newer one of the same orders */
      wake: string[];
      late: boolean;
    };

/**
 * markPaid's rule. Never two transaction ids for one attempt (the second is kept for the admin),
 * never a wrong amount, never an order paid twice: a payment for orders paid already is kept and
 * flagged. Any payment of a closed order is late, whichever attempt it came through (after
 * time_expire, after our close, or through an older attempt still open at WeChat after the newer
 * one was closed): its orders are paid, the stock they gave back taken again where it is there,
 * and the attempt flagged late_payment for the admin either way.
 */
export function decidePayment(attempt: AttemptState | undefined, orders: readonly AttemptOrder[], news: PaymentNews): PaymentDecision {
  if (!attempt) return { outcome: 'unknown_trade' };
  if (attempt.total_fee !== news.totalFee) return { outcome: 'amount_mismatch' };
  if (isPaid(attempt.trade_state)) {
    if (attempt.transaction_id === news.transactionId) return { outcome: 'duplicate' };
    return { outcome: 'conflict', recordConflict: attempt.conflict_transaction_id === null ? news.transactionId : undefined };
  }
  const payable = orders.filter((o) => o.status === 'unpaid' || o.status === 'closed');
  const reopened = payable.filter((o) => o.status === 'closed');
  const late = attempt.trade_state === 'CLOSED' || reopened.length > 0;
  // paid, but every order was paid already through another attempt: the shopper paid twice
  const double = orders.length > 0 && payable.length === 0;
  const wake = [...new Set([news.outTradeNo, ...payable.map((o) => o.out_trade_no).filter((no): no is string => no !== null)])];
  return {
    outcome: double ? 'double_payment' : late ? 'late_payment' : 'paid',
    flag: double ? 'double_payment' : late ? 'late_payment' : undefined,
    payOrders: payable.map((o) => ({ id: o.id, from: o.status, delivery: deliveryAfter(o.delivery_status, 'paid') })),
    retakeStockOf: reopened.map((o) => o.id),
    wake,
    late,
  };
}

/**
 * The two cases the repo settles in ONE statement, without the locked transaction: a NOTPAY
 * attempt for the right amount whose orders all wait for it (-> paid), or an attempt paid with
 * this very transaction id (-> duplicate). Whatever else returns undefined and goes to
 * decidePayment under lock. The fast path must agree with decidePayment wherever it applies.
 */
export function fastPathOutcome(attempt: AttemptState | undefined, orders: readonly AttemptOrder[], news: PaymentNews): 'paid' | 'duplicate' | undefined {
  if (!attempt || attempt.total_fee !== news.totalFee) return undefined;
  if (isPaid(attempt.trade_state)) return attempt.transaction_id === news.transactionId ? 'duplicate' : undefined;
  if (attempt.trade_state !== 'NOTPAY' || orders.length === 0) return undefined;
  return orders.every((o) => o.status === 'unpaid' && o.out_trade_no === news.outTradeNo) ? 'paid' : undefined;
}

// ---- closing an attempt --------------------------------------------------------------------

export type CloseDecision = 'close' | 'already_closed' | 'paid' | 'unknown_trade' | 'ordered_meanwhile' | 'still_open';

/**
 * What WeChat said, last we asked, about whether it can still take money for a trade: `closed`
 * (closed there, by closeorder or by time), `not_found` (it never had the trade when asked), or
 * `open` / `not_asked` (it may take money: NOTPAY there, or we did not ask).
 */
export type WechatWord = 'closed' | 'not_found' | 'open' | 'not_asked';

/**
 * THE rule for closing an unpaid attempt here, for the sweeper, an admin and a switch alike: only
 * once WeChat can no longer take the money. Closed at WeChat: yes. Not found at WeChat: only if
 * it was never ordered there as far as our row (locked) knows, since a Pay pressed a moment ago
 * may be ordering it right now; else it stays open for the next round to ask. Anything else: no.
 */
export function closableHere(attempt: { code_url: string | null; prepay_id: string | null }, wechat: WechatWord): boolean {
  if (wechat === 'closed') return true;
  if (wechat === 'not_found') return !orderedAtWechat(attempt);
  return false;
}

/** NOTPAY -> CLOSED under closableHere; a closed one stays closed, a paid one stays paid. */
export function decideClose(attempt: { trade_state: TradeState; code_url: string | null; prepay_id: string | null } | undefined, wechat: WechatWord): CloseDecision {
  if (!attempt) return 'unknown_trade';
  if (attempt.trade_state === 'CLOSED') return 'already_closed';
  if (attempt.trade_state !== 'NOTPAY') return 'paid';
  if (closableHere(attempt, wechat)) return 'close';
  return wechat === 'not_found' ? 'ordered_meanwhile' : 'still_open';
}

// ---- offering an attempt -------------------------------------------------------------------

/** WeChat will not take a time_expire closer than this; a QR code that would live less is not offered. */
export const MIN_QR_LIFETIME_MS = 5 * 60 * 1000;
/** WeChat refuses closeorder sooner than this after the order was made. */
export const CLOSE_NOT_BEFORE_MS = 5 * 60 * 1000;

/** When the attempt stops being offered: fixed at its creation, so a re-sent unifiedorder is identical. */
export function qrExpiryOf(attempt: { create_time: Date }, qrTtlSeconds: number): Date {
  return new Date(attempt.create_time.getTime() + qrTtlSeconds * 1000);
}

interface OfferedAttempt {
  trade_state: TradeState;
  trade_type: TradeType;
  code_url: string | null;
  code_url_expires_at: Date | null;
  prepay_id: string | null;
  create_time: Date;
  paid_by: string | null;
  superseded_by: string | null;
}

export type OfferDecision =
  | { kind: 'paid' | 'closed' | 'expired' }
  /** its orders were paid through another attempt: nothing to pay any more */
  | { kind: 'paid_elsewhere'; paidBy: string }
  /** its orders moved on to a newer attempt (the shopper switched how to pay): that one's page */
  | { kind: 'moved'; to: string }
  /** NATIVE with a live code_url: offer it again (no second unifiedorder, so no "201 商户订单号重复") */
  | { kind: 'qr'; codeUrl: string; expiresAt: Date }
  /** NATIVE without a code yet: ask WeChat for one that expires at `expiresAt` */
  | { kind: 'order'; expiresAt: Date }
  /** MWEB or JSAPI: a Pay button; WeChat is asked when the shopper presses it */
  | { kind: 'button'; expiresAt: Date };

/** What the pay page may offer for this attempt now, before anyone talks to WeChat. */
export function decideOffer(attempt: OfferedAttempt, now: Date, qrTtlSeconds: number): OfferDecision {
  if (isPaid(attempt.trade_state)) return { kind: 'paid' };
  if (attempt.paid_by) return { kind: 'paid_elsewhere', paidBy: attempt.paid_by };
  if (attempt.superseded_by) return { kind: 'moved', to: attempt.superseded_by };
  if (attempt.trade_state === 'CLOSED') return { kind: 'closed' };
  const expiresAt = attempt.code_url_expires_at ?? qrExpiryOf(attempt, qrTtlSeconds);
  if (orderedAtWechat(attempt) && attempt.code_url_expires_at) {
    if (expiresAt.getTime() <= now.getTime()) return { kind: 'expired' };
    if (attempt.trade_type !== 'NATIVE') return { kind: 'button', expiresAt };
    if (attempt.code_url) return { kind: 'qr', codeUrl: attempt.code_url, expiresAt };
  } else if (expiresAt.getTime() - now.getTime() < MIN_QR_LIFETIME_MS) {
    return { kind: 'expired' };
  }
  return attempt.trade_type === 'NATIVE' ? { kind: 'order', expiresAt } : { kind: 'button', expiresAt };
}

export type PayStatus = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'EXPIRED' | 'MOVED';

/** What the pay page's poll says of an attempt at `now`. */
export function statusOf(attempt: Pick<OfferedAttempt, 'trade_state' | 'code_url_expires_at' | 'paid_by' | 'superseded_by'>, now: Date): PayStatus {
  if (isPaid(attempt.trade_state)) return 'SUCCESS';
  // its orders were paid through another attempt: the shopper has paid
  if (attempt.paid_by) return 'SUCCESS';
  if (attempt.superseded_by) return 'MOVED';
  if (attempt.trade_state === 'CLOSED') return 'CLOSED';
  if (attempt.code_url_expires_at && attempt.code_url_expires_at.getTime() <= now.getTime()) return 'EXPIRED';
  return 'NOTPAY';
}

/** It is still offered (NOTPAY, ordered at WeChat, before its expiry). */
export function stillOffered(attempt: Pick<OfferedAttempt, 'trade_state' | 'code_url_expires_at'>, now: Date): boolean {
  return attempt.trade_state === 'NOTPAY' && attempt.code_url_expires_at !== null && attempt.code_url_expires_at.getTime() > now.getTime();
}

/**
 * The poll's fallback for a lost webhook: a NOTPAY attempt ordered at WeChat at least
 * `queryAfterSeconds` ago is worth asking WeChat about.
 */
export function queryIsDue(
  attempt: Pick<OfferedAttempt, 'trade_state' | 'code_url' | 'prepay_id' | 'code_url_expires_at'>,
  now: Date,
  rules: { qrTtlSeconds: number; queryAfterSeconds: number },
): boolean {
  if (attempt.trade_state !== 'NOTPAY' || !orderedAtWechat(attempt) || !attempt.code_url_expires_at) return false;
  const issuedAt = attempt.code_url_expires_at.getTime() - rules.qrTtlSeconds * 1000;
  return now.getTime() - issuedAt >= rules.queryAfterSeconds * 1000;
}

// ---- "pay again" and "pay another way": a new attempt for the same orders -----------------

export type RenewDecision =
  | { kind: 'paid'; outTradeNo: string }
  | { kind: 'current' }
  /** a second click: the orders moved on to a newer attempt already */
  | { kind: 'renewed'; outTradeNo: string }
  /** closed meanwhile (the sweeper gave their stock back), or never had orders */
  | { kind: 'orders_closed' }
  /** these orders have had MAX_ATTEMPTS_PER_ORDERS attempts already: no more (each holds a row, and switching must not go on forever) */
  | { kind: 'too_many_attempts' }
  | {
      kind: 'replace';
      closeOld: boolean;
      tradeType: TradeType;
      totalFee: number;
      orderIds: number[];
      /**
       * switching how to pay keeps the old attempt's time (a switch never extends how long the
       * orders hold their stock); "pay again" after it ran out starts a new one (undefined)
       */
      offeredUntil: Date | undefined;
    };

/** Payment attempts one set of orders may have in all ("pay again" and switches). */
export const MAX_ATTEMPTS_PER_ORDERS = 10;

/**
 * The database half of "pay again" (same trade type) and of switching how to pay (another one),
 * from the locked old attempt and its orders. An attempt still payable the same way stays
 * (idempotent); one paid (here, or through another attempt of its orders) answers paid with the
 * attempt that was paid; otherwise a new attempt for the same unpaid orders. The old attempt is
 * closed here only under closableHere, from what WeChat said (`wechat`: nothing asked is never
 * closed); else it stays NOTPAY, superseded (its page leads to the new one), and the sweeper closes
 * it after asking WeChat.
 */
export function decideRenew(
  old: Pick<OfferedAttempt, 'trade_state' | 'trade_type' | 'code_url' | 'prepay_id' | 'code_url_expires_at' | 'create_time'> & { out_trade_no: string },
  orders: readonly (AttemptOrder & { total_fen: number })[],
  now: Date,
  qrTtlSeconds: number,
  want: { tradeType: TradeType; wechat: WechatWord; attempts?: number },
): RenewDecision {
  if (isPaid(old.trade_state)) return { kind: 'paid', outTradeNo: old.out_trade_no };
  const expiry = old.code_url_expires_at ?? qrExpiryOf(old, qrTtlSeconds);
  const ordered = orderedAtWechat(old);
  const stillPayable = old.trade_state === 'NOTPAY' && (ordered ? expiry.getTime() > now.getTime() : expiry.getTime() - now.getTime() >= MIN_QR_LIFETIME_MS);
  const paidBy = orders.find((o) => isOrderPaid(o.status))?.out_trade_no;
  if (paidBy) return { kind: 'paid', outTradeNo: paidBy };
  const newer = orders.find((o) => o.out_trade_no !== old.out_trade_no)?.out_trade_no;
  if (newer) return { kind: 'renewed', outTradeNo: newer };
  if (stillPayable && want.tradeType === old.trade_type) return { kind: 'current' };
  if (orders.length === 0 || orders.some((o) => o.status !== 'unpaid')) return { kind: 'orders_closed' };
  if ((want.attempts ?? 1) >= MAX_ATTEMPTS_PER_ORDERS) return { kind: 'too_many_attempts' };
  return {
    kind: 'replace',
    // only under the one close rule: an attempt WeChat never had may be being ordered right now (a
    // Pay pressed a moment before the switch), so it stays NOTPAY, superseded, and the sweeper
    // closes it after asking WeChat (closeTrade)
    closeOld: old.trade_state === 'NOTPAY' && closableHere(old, want.wechat),
    tradeType: want.tradeType,
    totalFee: orders.reduce((sum, o) => sum + o.total_fen, 0),
    orderIds: orders.map((o) => o.id),
    offeredUntil: want.tradeType !== old.trade_type && expiry.getTime() > now.getTime() ? expiry : undefined,
  };
}

// ---- what an admin may do with an attempt, and its flag -----------------------------------

export interface AttemptActions {
  /** unpaid: close it (at WeChat, then here) */
  canClose: boolean;
  /** paid with money left to refund */
  canRefund: boolean;
  /** why the refund form refuses, when it does */
  refundBlocked: 'not_paid' | 'nothing_left' | undefined;
}

export function attemptActions(attempt: { trade_state: TradeState }, leftFen: number): AttemptActions {
  const paid = isPaid(attempt.trade_state);
  return {
    canClose: attempt.trade_state === 'NOTPAY',
    canRefund: paid && leftFen > 0,
    refundBlocked: !paid ? 'not_paid' : leftFen <= 0 ? 'nothing_left' : undefined,
  };
}

/** A flag (a payment's or a refund's) no admin has marked handled yet: the dashboard counts these. */
export function flagIsOpen(row: { flag: string | null; flag_resolved_at: Date | null }): boolean {
  return row.flag !== null && row.flag_resolved_at === null;
}

export type ResolveFlagDecision = 'resolve' | 'no_flag' | 'already_resolved' | 'unknown';

/** An admin marks a flag handled, once, with a note saying what they did (refunded, restocked, checked). */
export function decideResolveFlag(row: { flag: string | null; flag_resolved_at: Date | null } | undefined): ResolveFlagDecision {
  if (!row) return 'unknown';
  if (row.flag === null) return 'no_flag';
  return row.flag_resolved_at === null ? 'resolve' : 'already_resolved';
}

// ---- what a shopper may do with an order ---------------------------------------------------

export type ShopperOrderAction =
  /** an unpaid WeChat Pay order: its payment page */
  | { kind: 'pay'; outTradeNo: string }
  /** closed (never paid): its items back in the cart */
  | { kind: 'buy_again' }
  /** paid (maybe refunded since): the payment's success page */
  | { kind: 'view_payment'; outTradeNo: string }
  | { kind: 'none' };

export function shopperOrderAction(order: { pay_type: 'wxpay' | 'cod'; status: OrderStatus; out_trade_no: string | null }): ShopperOrderAction {
  if (order.status === 'unpaid' && order.pay_type === 'wxpay' && order.out_trade_no) return { kind: 'pay', outTradeNo: order.out_trade_no };
  if (order.status === 'closed') return { kind: 'buy_again' };
  if (isOrderPaid(order.status) && order.out_trade_no) return { kind: 'view_payment', outTradeNo: order.out_trade_no };
  return { kind: 'none' };
}

// ---- checkout limits -----------------------------------------------------------------------

/**
 * What one session (shopper) and one network address may hold at once in open checkouts: orders
 * still unpaid (a cash-on-delivery order the merchant accepted for delivery no longer counts). Unpaid WeChat Pay
 * orders give their stock back when their QR code expires (PAY_QR_TTL_SECONDS), so the bound is
 * both on how much and for how long an anonymous visitor holds goods.
 */
export interface CheckoutLimits {
  openPerSession: number;
  unitsPerSession: number;
  openPerAddress: number;
  unitsPerAddress: number;
}

export interface OpenHoldings {
  openByShopper: number;
  unitsByShopper: number;
  openByAddress: number;
  unitsByAddress: number;
}

export type LimitBreach =
  | { kind: 'open'; by: 'shopper' | 'address'; count: number; max: number }
  | { kind: 'units'; by: 'shopper' | 'address'; max: number };

/** The first bound a checkout of `units` more units would break, if any. */
export function checkoutLimitBreach(held: OpenHoldings, units: number, limits: CheckoutLimits): LimitBreach | undefined {
  if (held.openByShopper >= limits.openPerSession) return { kind: 'open', by: 'shopper', count: held.openByShopper, max: limits.openPerSession };
  if (held.openByAddress >= limits.openPerAddress) return { kind: 'open', by: 'address', count: held.openByAddress, max: limits.openPerAddress };
  if (held.unitsByShopper + units > limits.unitsPerSession) return { kind: 'units', by: 'shopper', max: limits.unitsPerSession };
  if (held.unitsByAddress + units > limits.unitsPerAddress) return { kind: 'units', by: 'address', max: limits.unitsPerAddress };
  return undefined;
}
