import type { Knex } from 'knex';
import { markPaid, type MarkPaidOutcome, type MarkPaidResult, type PaySource } from '../ledger';
import { ProviderError, type CloseAnswer, type PaymentProvider, type TradeFacts } from '../payments';

/**
 * Asking the payment provider about a trade and acting on its facts: what it says is paid is
 * settled through the ledger's markPaid (the one way to SUCCESS), whoever asked (renew, close, the
 * sweeper, the status poll, the admin). The provider's failures (ProviderError) are thrown as
 * they came: the caller retries later.
 */

export interface News {
  now: Date;
  source: PaySource;
  operator?: string | undefined;
}

/** The provider's facts and, when they say paid, what the ledger made of them. */
export async function settleFromQuery(knex: Knex, provider: PaymentProvider, outTradeNo: string, news: News): Promise<{ facts: TradeFacts; result: MarkPaidResult | undefined }> {
  const facts = await provider.query(outTradeNo);
  if (facts.kind !== 'paid') return { facts, result: undefined };
  const result = await markPaid(knex, { ...facts.news, outTradeNo, source: news.source, operator: news.operator, now: news.now });
  return { facts, result };
}

/** markPaid's outcomes that mean the news was refused (nothing recorded); undefined when the money is recorded here (now, or before). */
export function refusedNews(outcome: MarkPaidOutcome): 'amount_mismatch' | 'unknown_trade' | undefined {
  return outcome === 'amount_mismatch' || outcome === 'unknown_trade' ? outcome : undefined;
}

export type ClosedThere =
  /** the provider can no longer take money for it */
  | 'closed'
  /** it never had it, when asked */
  | 'not_found'
  /** it was paid after all, and that is recorded here now */
  | 'paid'
  /** it was paid after all, but its news does not match our record (markPaid refused it): nothing changed */
  | Extract<MarkPaidOutcome, 'amount_mismatch' | 'unknown_trade'>;

/**
 * Closes the trade at the provider, so that it can no longer take money for it. Paid after all:
 * asked about and settled here, and what the ledger made of it is reported (never "paid" for news
 * the ledger refused). If the provider says paid but its query does not, a ProviderError: nothing
 * is closed, try again later.
 */
export async function closeAtProvider(knex: Knex, provider: PaymentProvider, outTradeNo: string, news: News): Promise<ClosedThere> {
  const answer: CloseAnswer = await provider.close(outTradeNo);
  if (answer !== 'paid') return answer;
  const { facts, result } = await settleFromQuery(knex, provider, outTradeNo, news);
  if (!result) throw new ProviderError(`close ${outTradeNo}: paid, but the query says ${facts.kind}`);
  return refusedNews(result.outcome) ?? 'paid';
}
