import type { Knex } from 'knex';
import { Conflict } from '../errors';
import { CLOSE_NOT_BEFORE_MS, closeAttempt, isPaid, orderedAtWechat, readAttempt, replaceAttempt, stillOffered, type OrderEvent, type RenewOutcome, type TradeType, type WechatWord } from '../ledger';
import type { PaymentProvider } from '../payments';
import { closeAtProvider, refusedNews, settleFromQuery } from './settle';
import { paylogOfShopper, upstream } from './service';

/**
 * A payment attempt's end, whoever ends it: "pay again" and "pay another way" (a new attempt for
 * the same orders), and closing an unpaid one at WeChat and here (the sweeper, an admin, a page
 * whose orders were paid through another attempt). WeChat is asked first and its word decides,
 * through the ledger's one close rule (rules.closableHere): a payment is never lost on the way.
 */

/**
 * "Pay again" (the same way) and "pay another way" (`tradeType`), safely: before a new attempt is
 * made, WeChat is asked about the old one (it may have been paid in its last seconds, its notify
 * still on the way) and the old one is closed there, so it can never be paid as well as the new
 * one. WeChat refuses to close in an order's first 5 minutes: switching sooner leaves the old
 * attempt NOTPAY but superseded (its orders point at the new one, its page sends the shopper
 * there), and the sweeper closes it once WeChat allows; should it be paid meanwhile, markPaid pays
 * its orders and the new attempt's page shows the success. What WeChat said goes to the ledger's
 * replaceAttempt, which closes the old attempt only under the one close rule (an attempt nobody
 * asked WeChat about is never closed there: a Pay pressed a moment before may be ordering it).
 * A paid old attempt is settled and reported as `paid`, a payment in progress is refused.
 */
export async function renewAttempt(
  knex: Knex,
  provider: PaymentProvider,
  input: { outTradeNo: string; shopperId: string; now: Date; qrTtlSeconds: number; tradeType?: TradeType },
): Promise<RenewOutcome> {
  const old = await paylogOfShopper(knex, input.outTradeNo, input.shopperId);
  if (isPaid(old.trade_state)) return { kind: 'paid', outTradeNo: old.out_trade_no };
  const tradeType = input.tradeType ?? old.trade_type;
  let wechat: WechatWord = 'not_asked';
  if (orderedAtWechat(old) && old.trade_state === 'NOTPAY' && !old.superseded_by) {
    const news = { now: input.now, source: 'query' as const };
    const { facts, result } = await settleFromQuery(knex, provider, old.out_trade_no, news).catch((err: unknown) => upstream(err, `query ${old.out_trade_no} before renewing`));
    // paid here now (by this answer, or by a notify that landed meanwhile)
    if (result?.tradeState && isPaid(result.tradeState)) return { kind: 'paid', outTradeNo: old.out_trade_no };
    if (facts.kind === 'paid' || facts.kind === 'paying') throw new Conflict(`${old.out_trade_no} is ${facts.said.state} at WeChat`, 'pay.error.inProgress');
    if (tradeType === old.trade_type && stillOffered(old, input.now)) return { kind: 'current', outTradeNo: old.out_trade_no };
    if (facts.kind === 'closed' || facts.kind === 'not_found') wechat = facts.kind;
    else if (input.now.getTime() - old.create_time.getTime() < CLOSE_NOT_BEFORE_MS) {
      // WeChat would refuse to close it yet: the sweeper closes it once it allows
      wechat = 'open';
    } else {
      const closed = await closeAtProvider(knex, provider, old.out_trade_no, news).catch((err: unknown) => upstream(err, `close ${old.out_trade_no} before renewing`));
      if (closed === 'paid') return { kind: 'paid', outTradeNo: old.out_trade_no };
      // WeChat says paid, with news we refused: not closed, not replaced (the admin sees the mismatch)
      if (closed === 'amount_mismatch' || closed === 'unknown_trade') throw new Conflict(`${old.out_trade_no} is paid at WeChat but not as we recorded it`, 'pay.error.inProgress');
      wechat = closed;
    }
  }
  return replaceAttempt(knex, { ...input, tradeType, wechat });
}

export type CloseTradeOutcome =
  | 'closed'
  | 'already_closed'
  | 'paid'
  | 'too_early'
  | 'paying'
  | 'unknown_trade'
  /** WeChat says paid, but its news does not match our record: refused by markPaid, nothing changed (the admin sees it) */
  | 'amount_mismatch';

/**
 * Closes an unpaid attempt at WeChat and then here, never losing a payment on the way: ask first
 * (paid -> markPaid), respect WeChat's 5-minute rule, close there (paid after all -> query and
 * markPaid), and only then the ledger's closeAttempt under the one close rule. What happened is
 * what it reports: "paid" only when the payment is recorded here, the refused news as such. A
 * provider failure is thrown for the caller to retry later. Idempotent.
 */
export async function closeTrade(knex: Knex, provider: PaymentProvider, input: { outTradeNo: string; now: Date; operator: string; event: OrderEvent }): Promise<CloseTradeOutcome> {
  const paylog = await readAttempt(knex, input.outTradeNo);
  if (!paylog) return 'unknown_trade';
  if (paylog.trade_state === 'CLOSED') return 'already_closed';
  if (paylog.trade_state !== 'NOTPAY') return 'paid';

  const news = { now: input.now, source: input.operator.startsWith('admin:') ? ('admin' as const) : ('sweeper' as const), operator: input.operator };
  const { facts, result } = await settleFromQuery(knex, provider, input.outTradeNo, news);
  if (facts.kind === 'paid') return (result && refusedNews(result.outcome)) ?? 'paid';
  // the payer is entering the password right now: never close under them; the next round asks again
  if (facts.kind === 'paying') return 'paying';
  let wechat: WechatWord = facts.kind === 'unpaid' ? 'open' : facts.kind;
  if (facts.kind === 'unpaid') {
    if (input.now.getTime() - paylog.create_time.getTime() < CLOSE_NOT_BEFORE_MS) return 'too_early';
    const closed = await closeAtProvider(knex, provider, input.outTradeNo, news);
    if (closed === 'paid' || closed === 'amount_mismatch' || closed === 'unknown_trade') return closed;
    wechat = closed;
  }
  const outcome = await closeAttempt(knex, { outTradeNo: input.outTradeNo, now: input.now, operator: input.operator, event: input.event, wechat });
  // WeChat never had it, but we ordered it there since we asked (or WeChat contradicts itself): the next round asks again
  return outcome === 'ordered_meanwhile' || outcome === 'still_open' ? 'too_early' : outcome;
}
