import type { Knex } from 'knex';
import { Conflict, NotFound, UpstreamFailed } from '../errors';
import {
  attemptOfSession,
  attemptOfShopper,
  claimQuery,
  decideOffer,
  isPaid,
  payPageOf,
  queryIsDue,
  readAttempt,
  statusOf,
  storeOrdered,
  ordersOfAttempt,
  type OrderWithItems,
  type Paylog,
} from '../ledger';

import { ATTACH_MAX_BYTES, DESCRIPTION_MAX_BYTES, ProviderError, truncateUtf8, type PayWay, type PaymentProvider } from '../payments';
import { settleFromQuery } from './settle';

/**
 * The pay page's service: what a payment attempt offers the shopper (a QR code from WeChat, or
 * why not), the Pay button of a phone, and asking WeChat when no notify came. The provider is
 * called outside any transaction; what it answered goes to the ledger. "Pay again", switching and
 * closing are attempts.ts.
 */

/** The attempt, only for the shopper who made it (or found its order): anyone else gets the same 404 as a wrong number. */
export async function paylogOfShopper(knex: Knex, outTradeNo: string, shopperId: string | undefined, foundOrderIds: readonly number[] = []): Promise<Paylog> {
  const paylog = await attemptOfShopper(knex, outTradeNo, shopperId, foundOrderIds);
  if (!paylog) throw new NotFound(`no paylog ${outTradeNo} for this shopper`, 'pay.notFound');
  return paylog;
}

/** The same, by session id (the status poll reads it without express-session), in one query. */
export async function paylogOfSession(knex: Knex, outTradeNo: string, sessionId: string | undefined, now: Date): Promise<Paylog> {
  const paylog = sessionId ? await attemptOfSession(knex, outTradeNo, sessionId, now) : undefined;
  if (!paylog) throw new NotFound(`no paylog ${outTradeNo} for this session`, 'pay.notFound');
  return paylog;
}

/** The attempt with its orders and items (and the header's unpaid count), for its shopper: the pay page's one statement. */
export async function payPage(knex: Knex, outTradeNo: string, shopperId: string | undefined, foundOrderIds: readonly number[] = []): Promise<{ paylog: Paylog; orders: OrderWithItems[]; unpaidCount: number }> {
  const page = await payPageOf(knex, outTradeNo, shopperId, foundOrderIds);
  if (!page) throw new NotFound(`no paylog ${outTradeNo} for this shopper`, 'pay.notFound');
  return page;
}

export interface PayContext {
  provider: PaymentProvider;
  shopName: string;
  qrTtlSeconds: number;
}

export function payContextOf(deps: { payments: PaymentProvider; config: { shopName: string; payQrTtlSeconds: number } }): PayContext {
  return { provider: deps.payments, shopName: deps.config.shopName, qrTtlSeconds: deps.config.payQrTtlSeconds };
}

/**
 * "<shop>-<first item>等N件": what the payer's phone shows, at most 127 UTF-8 bytes (WeChat counts
 * bytes). A long title is cut, never the count: "<shop>-<title cut>…等N件".
 */
export function orderBody(shopName: string, orders: readonly Pick<OrderWithItems, 'items'>[]): string {
  const items = orders.flatMap((o) => o.items);
  const count = items.reduce((sum, i) => sum + i.quantity, 0);
  const first = items[0]?.title ?? '';
  const suffix = count > 1 ? `等${count}件` : '';
  const prefix = `${shopName}-`;
  const room = DESCRIPTION_MAX_BYTES - Buffer.byteLength(prefix + suffix, 'utf8');
  // SHOP_NAME is at most 40 characters (120 bytes): when it leaves no room, cut the whole text
  if (room < 4) return truncateUtf8(prefix + first + suffix, DESCRIPTION_MAX_BYTES);
  return prefix + truncateUtf8(first, room) + suffix;
}

export type PayOffer =
  | { kind: 'qr'; paylog: Paylog; codeUrl: string; expiresAt: Date }
  /** MWEB or JSAPI: the page with a Pay button (WeChat is asked when it is pressed) */
  | { kind: 'button'; paylog: Paylog; expiresAt: Date }
  /** its orders were paid through another attempt (`paidBy`): nothing to pay any more */
  | { kind: 'paid_elsewhere'; paylog: Paylog; paidBy: string }
  /** its orders moved on to a newer attempt (`to`): that one's page */
  | { kind: 'moved'; paylog: Paylog; to: string }
  | { kind: 'paid'; paylog: Paylog }
  | { kind: 'closed'; paylog: Paylog }
  | { kind: 'expired'; paylog: Paylog };

async function reloadPaylog(knex: Knex, outTradeNo: string): Promise<Paylog> {
  const paylog = await readAttempt(knex, outTradeNo);
  if (!paylog) throw new NotFound(`paylog ${outTradeNo} vanished`);
  return paylog;
}

/** What WeChat answered for an attempt, once stored: the attempt now, and where the payer goes. */
export type Ordered =
  | { kind: 'ordered'; paylog: Paylog; prepayId: string; codeUrl: string | null; cashierUrl: string | null }
  | { kind: 'paid' | 'expired'; paylog: Paylog }
  /** the attempt changed while WeChat was asked (closed, paid, superseded): what it offers now is decided again */
  | { kind: 'stale'; paylog: Paylog };

/** A provider failure as the shopper's "WeChat Pay is unavailable, try again" (UpstreamFailed); anything else as it was. */
export function upstream(err: unknown, what: string): never {
  if (err instanceof ProviderError) throw new UpstreamFailed(`${what}: ${err.message}`, 'pay.error.upstream');
  throw err;
}

/**
 * unifiedorder for this attempt, outside any transaction, with fields that are the same on every
 * re-send (body from its orders, time_start and time_expire fixed at creation), and the first
 * answer stored. Paid already: the payment is asked about and settled now; closed for good there: expired.
 * A WeChat failure leaves paylog and orders as they were (UpstreamFailed: the page offers a retry).
 */
async function orderAtWechatFor(knex: Knex, wx: PayContext, paylog: Paylog, orders: readonly OrderWithItems[], expiresAt: Date, way: PayWay, now: Date): Promise<Ordered> {
  const body = orderBody(wx.shopName, orders);
  const facts = await wx.provider
    .order({
      outTradeNo: paylog.out_trade_no,
      description: body,
      totalFen: paylog.total_fee,
      attach: truncateUtf8(`orders:${orders.map((o) => o.id).join(',')}`, ATTACH_MAX_BYTES),
      startsAt: paylog.create_time,
      expiresAt,
      way,
    })
    .catch((err: unknown) => upstream(err, `order ${paylog.out_trade_no}`));
  if (facts.kind === 'closed') return { kind: 'expired', paylog };
  if (facts.kind === 'paid') {
    // paid already (a notify still on its way): ask WeChat for the facts and settle now
    await settleFromQuery(knex, wx.provider, paylog.out_trade_no, { now, source: 'ordering' }).catch((err: unknown) => upstream(err, `query ${paylog.out_trade_no} after it was paid`));
    const settled = await reloadPaylog(knex, paylog.out_trade_no);
    if (isPaid(settled.trade_state)) return { kind: 'paid', paylog: settled };
    // WeChat says paid but its answer did not settle here (amount differs, query lagging): never loop
    throw new UpstreamFailed(`order ${paylog.out_trade_no}: paid already, but the query did not settle it`, 'pay.error.upstream');
  }
  await storeOrdered(knex, paylog.out_trade_no, {
    prepayId: facts.prepayId,
    codeUrl: way.tradeType === 'NATIVE' ? facts.codeUrl : null,
    expiresAt,
    body,
    openid: way.tradeType === 'JSAPI' ? way.openid : null,
    now,
    apiVersion: facts.api,
  });
  const stored = await reloadPaylog(knex, paylog.out_trade_no);
  // the payer goes to WeChat only for an attempt that is still the one on offer: closed, paid or
  // superseded while WeChat was being asked (a switch in another tab), it is not offered; WeChat's
  // trade then stays unpaid there until the sweeper closes it
  if (stored.trade_state !== 'NOTPAY' || stored.superseded_by !== null || stored.paid_by !== null || (stored.prepay_id !== null && stored.prepay_id !== facts.prepayId)) {
    return { kind: 'stale', paylog: stored };
  }
  return { kind: 'ordered', paylog: stored, prepayId: facts.prepayId, codeUrl: facts.codeUrl, cashierUrl: facts.cashierUrl };
}

/**
 * What the pay page offers for this attempt (rules.decideOffer). NATIVE: a live code_url is reused
 * (no second unifiedorder, so no "201 商户订单号重复"), else WeChat is asked for one now. MWEB and
 * JSAPI: a Pay button; WeChat is asked when it is pressed (startPayment). `orders` are the
 * attempt's, when the caller has them already.
 */
export async function offerPayment(knex: Knex, wx: PayContext, paylog: Paylog, now: Date, orders?: OrderWithItems[]): Promise<PayOffer> {
  const decision = decideOffer(paylog, now, wx.qrTtlSeconds);
  switch (decision.kind) {
    case 'qr':
      return { kind: 'qr', paylog, codeUrl: decision.codeUrl, expiresAt: decision.expiresAt };
    case 'button':
      return { kind: 'button', paylog, expiresAt: decision.expiresAt };
    case 'paid_elsewhere':
      return { kind: 'paid_elsewhere', paylog, paidBy: decision.paidBy };
    case 'moved':
      return { kind: 'moved', paylog, to: decision.to };
    case 'paid':
    case 'closed':
    case 'expired':
      return { kind: decision.kind, paylog };
    case 'order': {
      const ordered = await orderAtWechatFor(knex, wx, paylog, orders ?? (await ordersOfAttempt(knex, paylog.out_trade_no)), decision.expiresAt, { tradeType: 'NATIVE' }, now);
      if (ordered.kind === 'stale') return offerPayment(knex, wx, ordered.paylog, now, orders);
      if (ordered.kind !== 'ordered') return ordered;
      const stored = ordered.paylog;
      if (stored.trade_state !== 'NOTPAY' || !stored.code_url || !stored.code_url_expires_at) return offerPayment(knex, wx, stored, now, orders);
      return { kind: 'qr', paylog: stored, codeUrl: stored.code_url, expiresAt: stored.code_url_expires_at };
    }
  }
}

export type StartOutcome =
  /** MWEB: send the payer to WeChat's cashier (with our redirect_url appended) */
  | { kind: 'mweb'; cashierUrl: string }
  /** JSAPI: hand the page the prepay_id's bridge parameters */
  | { kind: 'jsapi'; prepayId: string }
  /** it cannot be paid this way now: the pay page says why (paid, expired, moved, ...) */
  | { kind: 'not_offered'; offer: PayOffer };

/**
 * The shopper pressed Pay on an MWEB or JSAPI attempt: unifiedorder now (MWEB's cashier URL lives
 * 5 minutes, so each press asks again with the very same fields; JSAPI's prepay_id lives 2 hours
 * and is reused), and where the payer goes next. A JSAPI attempt belongs to the WeChat user it was
 * first ordered for: another one is refused (Conflict), and should switch to a new attempt.
 */
export async function startPayment(knex: Knex, wx: PayContext, paylog: Paylog, orders: OrderWithItems[], way: Exclude<PayWay, { tradeType: 'NATIVE' }>, now: Date): Promise<StartOutcome> {
  if (paylog.trade_type !== way.tradeType) throw new Conflict(`${paylog.out_trade_no} is paid by ${paylog.trade_type}, not ${way.tradeType}`, 'pay.error.otherWay');
  const offer = await offerPayment(knex, wx, paylog, now, orders);
  if (offer.kind !== 'button') return { kind: 'not_offered', offer };
  if (way.tradeType === 'JSAPI') {
    if (paylog.openid !== null && paylog.openid !== way.openid) throw new Conflict(`${paylog.out_trade_no} was ordered for another WeChat user`, 'pay.error.otherPayer');
    if (paylog.prepay_id !== null && paylog.openid === way.openid) return { kind: 'jsapi', prepayId: paylog.prepay_id };
  }
  const ordered = await orderAtWechatFor(knex, wx, paylog, orders, offer.expiresAt, way, now);
  if (ordered.kind === 'stale') return { kind: 'not_offered', offer: await offerPayment(knex, wx, ordered.paylog, now, orders) };
  if (ordered.kind !== 'ordered') return { kind: 'not_offered', offer: { kind: ordered.kind, paylog: ordered.paylog } };
  if (way.tradeType === 'MWEB') {
    if (!ordered.cashierUrl) throw new UpstreamFailed(`order ${paylog.out_trade_no}: no cashier URL`, 'pay.error.upstream');
    return { kind: 'mweb', cashierUrl: ordered.cashierUrl };
  }
  return { kind: 'jsapi', prepayId: ordered.prepayId };
}

/**
 * The poll's fallback for a lost webhook: once an attempt has been NOTPAY for `queryAfterSeconds`
 * after its QR code was issued, ask WeChat, at most once per `queryIntervalSeconds` per attempt
 * across every poller and instance (the ledger's claimQuery), and settle through markPaid when
 * WeChat says paid. Returns true when this call asked WeChat.
 */
export async function queryIfOverdue(
  knex: Knex,
  provider: PaymentProvider,
  paylog: Pick<Paylog, 'out_trade_no' | 'trade_state' | 'code_url' | 'prepay_id' | 'code_url_expires_at'>,
  now: Date,
  rules: { qrTtlSeconds: number; queryAfterSeconds: number; queryIntervalSeconds: number },
): Promise<boolean> {
  if (!queryIsDue(paylog, now, rules)) return false;
  if (!(await claimQuery(knex, paylog.out_trade_no, now, rules.queryIntervalSeconds))) return false;
  await settleFromQuery(knex, provider, paylog.out_trade_no, { now, source: 'query' });
  return true;
}

export type CheckNowOutcome = 'paid' | 'not_paid' | 'asked_recently' | 'closed' | 'expired' | 'unreachable';

/**
 * The shopper's "I have paid": asks WeChat now through the status poll's own path
 * (queryIfOverdue, without its waiting period), so the per-attempt claim that keeps the poll from
 * asking more than once per `queryIntervalSeconds` bounds these presses too, across tabs and
 * instances. A payment is settled by markPaid there; nothing else is changed here.
 */
export async function checkPaymentNow(knex: Knex, provider: PaymentProvider, paylog: Paylog, now: Date, rules: { qrTtlSeconds: number; queryIntervalSeconds: number }): Promise<CheckNowOutcome> {
  const before = statusOf(paylog, now);
  if (before === 'SUCCESS') return 'paid';
  if (before === 'CLOSED' || before === 'MOVED') return 'closed';
  if (before === 'EXPIRED') return 'expired';
  let asked: boolean;
  try {
    asked = await queryIfOverdue(knex, provider, paylog, now, { ...rules, queryAfterSeconds: 0 });
  } catch (err) {
    if (err instanceof ProviderError) return 'unreachable';
    throw err;
  }
  if (statusOf(await reloadPaylog(knex, paylog.out_trade_no), now) === 'SUCCESS') return 'paid';
  return asked ? 'not_paid' : 'asked_recently';
}
