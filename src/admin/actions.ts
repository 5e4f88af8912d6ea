import type { Knex } from 'knex';
import { NotFound } from '../errors';
import { noteOnAttempt, orderEvent, readAttempt, type MarkPaidOutcome } from '../ledger';
import { ProviderError, type PaymentProvider, type ProviderSaid } from '../payments';
import { closeTrade, type CloseTradeOutcome } from '../pay/attempts';
import { settleFromQuery } from '../pay/settle';

/**
 * What an admin can do to a payment attempt besides refunding it. The state changes themselves
 * are the ledger's (markPaid through settleFromQuery, closeAttempt through closeTrade), which
 * write order_log naming the admin; when an action changes nothing, an audit line on the orders
 * says who asked and what came of it.
 */

async function requirePaylog(knex: Knex, outTradeNo: string): Promise<void> {
  if (!(await readAttempt(knex, outTradeNo))) throw new NotFound(`no paylog ${outTradeNo}`, 'admin.error.noPaylog');
}

export type QueryOutcome =
  | {
      kind: 'answered';
      /** the fact the shop acts on, and what WeChat said, as it said it */
      fact: 'paid' | 'unpaid' | 'paying' | 'closed';
      said: ProviderSaid;
      /** what markPaid made of a payment; undefined when WeChat did not say paid */
      settled: MarkPaidOutcome | undefined;
    }
  | { kind: 'not_at_wechat' }
  | { kind: 'failed'; message: string };

/** Ask the provider, and markPaid when it says the trade is paid. */
export async function queryAtWechat(knex: Knex, provider: PaymentProvider, input: { outTradeNo: string; operator: string; now: Date }): Promise<QueryOutcome> {
  await requirePaylog(knex, input.outTradeNo);
  let outcome: QueryOutcome;
  try {
    const { facts, result } = await settleFromQuery(knex, provider, input.outTradeNo, { now: input.now, source: 'admin', operator: input.operator });
    outcome = facts.kind === 'not_found' ? { kind: 'not_at_wechat' } : { kind: 'answered', fact: facts.kind, said: facts.said, settled: result?.outcome };
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    outcome = { kind: 'failed', message: err.message };
  }
  // orders that changed state have their order_log line from markPaid already
  const changed = outcome.kind === 'answered' && (outcome.settled === 'paid' || outcome.settled === 'late_payment');
  if (!changed) {
    const event =
      outcome.kind === 'answered'
        ? orderEvent('query_answered', { fact: outcome.fact, state: outcome.said.state, ...(outcome.settled ? { outcome: outcome.settled } : {}) })
        : outcome.kind === 'not_at_wechat'
          ? orderEvent('query_not_found', {})
          : orderEvent('query_failed', { error: outcome.message });
    await noteOnAttempt(knex, input.outTradeNo, input.operator, event, input.now);
  }
  return outcome;
}

export type CloseOutcome = { kind: 'done'; outcome: CloseTradeOutcome } | { kind: 'failed'; message: string };

/** Closed at the provider (after WeChat's 5 minutes), then the paylog and its orders closed, stock given back. */
export async function closeAsAdmin(knex: Knex, provider: PaymentProvider, input: { outTradeNo: string; operator: string; now: Date }): Promise<CloseOutcome> {
  await requirePaylog(knex, input.outTradeNo);
  let result: CloseOutcome;
  try {
    const outcome = await closeTrade(knex, provider, { outTradeNo: input.outTradeNo, now: input.now, operator: input.operator, event: orderEvent('closed_by_admin', {}) });
    result = { kind: 'done', outcome };
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    result = { kind: 'failed', message: err.message };
  }
  // closeTrade logged the change itself when it closed (or found the trade paid and marked it so)
  if (!(result.kind === 'done' && result.outcome === 'closed')) {
    const event = result.kind === 'done' ? orderEvent('close_asked', { outcome: result.outcome }) : orderEvent('close_failed', { error: result.message });
    await noteOnAttempt(knex, input.outTradeNo, input.operator, event, input.now);
  }
  return result;
}
