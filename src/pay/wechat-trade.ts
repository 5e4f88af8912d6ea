import type { Knex } from 'knex';
import { markPaid, type MarkPaidResult, type PaySource } from '../ledger';
import { WxBusinessError, type OrderQueryResult, type UnifiedOrderArgs, type WxPayClient } from '../wechatpay';
import { parseBeijingTime } from '../wechatpay/time';

/**
 * WeChat's answers about a trade, mapped ONCE to the few facts the shop acts on (Medusa's habit):
 * every `errCode === ...` of orderquery, closeorder and unifiedorder lives here, and renew, close,
 * the sweeper, the status poll and the admin's query all read the same facts. Transport failures,
 * SYSTEMERROR and the like are thrown as they came (WxPayError): the caller retries later.
 */

export type TradeFacts =
  /** WeChat took the money, and says how much, under which transaction id, when */
  | { kind: 'paid'; transactionId: string; totalFee: number; paidAt: Date; answer: OrderQueryResult }
  /** NOTPAY, or PAYERROR (the bank refused): as unpaid as it gets, and can be closed */
  | { kind: 'unpaid'; answer: OrderQueryResult }
  /**
   * the payer is at it (USERPAYING, ACCEPT), or WeChat says paid without the facts to settle
   * it: never close it, never replace it; ask again later
   */
  | { kind: 'paying'; answer: OrderQueryResult }
  /** CLOSED or REVOKED at WeChat: nobody can pay it any more */
  | { kind: 'closed'; answer: OrderQueryResult }
  /** ORDERNOTEXIST: WeChat never had it (no QR code was ever drawn for it) */
  | { kind: 'unknown' };

/** orderquery, mapped. */
export async function askWechat(client: WxPayClient, outTradeNo: string): Promise<TradeFacts> {
  let answer: OrderQueryResult;
  try {
    answer = await client.orderQuery({ outTradeNo });
  } catch (err) {
    if (err instanceof WxBusinessError && err.errCode === 'ORDERNOTEXIST') return { kind: 'unknown' };
    throw err;
  }
  switch (answer.tradeState) {
    case 'SUCCESS':
    case 'REFUND':
      return answer.transactionId && answer.totalFee !== undefined && answer.timeEnd
        ? { kind: 'paid', transactionId: answer.transactionId, totalFee: answer.totalFee, paidAt: parseBeijingTime(answer.timeEnd), answer }
        : { kind: 'paying', answer };
    case 'NOTPAY':
    case 'PAYERROR':
      return { kind: 'unpaid', answer };
    case 'USERPAYING':
    case 'ACCEPT':
      return { kind: 'paying', answer };
    case 'CLOSED':
    case 'REVOKED':
      return { kind: 'closed', answer };
  }
}

/** Asks WeChat and, when it says paid, settles through markPaid. `result` is what the ledger made of it. */
export async function settleFromQuery(
  knex: Knex,
  client: WxPayClient,
  outTradeNo: string,
  news: { now: Date; source: PaySource; operator?: string | undefined },
): Promise<{ facts: TradeFacts; result: MarkPaidResult | undefined }> {
  const facts = await askWechat(client, outTradeNo);
  if (facts.kind !== 'paid') return { facts, result: undefined };
  const result = await markPaid(knex, { outTradeNo, transactionId: facts.transactionId, totalFee: facts.totalFee, paidAt: facts.paidAt, source: news.source, operator: news.operator, now: news.now });
  return { facts, result };
}

/**
 * closeorder, so that WeChat can no longer take money for the trade: 'closed' when it is closed
 * there (or never existed), 'paid' when it was paid after all (ORDERPAID), which is then asked
 * about and settled here. If WeChat says ORDERPAID but its orderquery does not say paid, the
 * error is thrown: nothing is closed, try again later.
 */
export async function closeAtWechat(knex: Knex, client: WxPayClient, outTradeNo: string, news: { now: Date; source: PaySource; operator?: string | undefined }): Promise<'closed' | 'paid'> {
  try {
    await client.closeOrder({ outTradeNo });
    return 'closed';
  } catch (err) {
    if (!(err instanceof WxBusinessError)) throw err;
    if (err.errCode === 'ORDERCLOSED' || err.errCode === 'ORDERNOTEXIST') return 'closed';
    if (err.errCode !== 'ORDERPAID') throw err;
    const { result } = await settleFromQuery(knex, client, outTradeNo, news);
    if (result) return 'paid';
    throw err;
  }
}

export type OrderFacts =
  /** WeChat has the trade: its prepay_id; NATIVE's code_url, MWEB's cashier URL ('' where not that type) */
  | { kind: 'code'; prepayId: string; codeUrl: string; mwebUrl: string }
  /** ORDERPAID: paid already (its notify still on the way) */
  | { kind: 'paid' }
  /** ORDERCLOSED: this out_trade_no can never be paid; a new attempt is needed */
  | { kind: 'closed' };

/** unifiedorder, mapped. */
export async function orderAtWechat(client: WxPayClient, args: UnifiedOrderArgs): Promise<OrderFacts> {
  try {
    const answer = await client.unifiedOrder(args);
    return { kind: 'code', prepayId: answer.prepayId, codeUrl: answer.codeUrl, mwebUrl: answer.mwebUrl };
  } catch (err) {
    if (err instanceof WxBusinessError && err.errCode === 'ORDERPAID') return { kind: 'paid' };
    if (err instanceof WxBusinessError && err.errCode === 'ORDERCLOSED') return { kind: 'closed' };
    throw err;
  }
}
