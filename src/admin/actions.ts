import type { Knex } from 'knex';
import { NotFound } from '../errors';
import { noteOnAttempt, readAttempt, type MarkPaidOutcome } from '../ledger';
import { closeTrade, type CloseTradeOutcome } from '../pay/service';
import { settleFromQuery } from '../pay/wechat-trade';
import { WxPayError, type WxPayClient } from '../wechatpay';

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
      /** what WeChat said, as it said it */
      answer: { tradeState: string; transactionId?: string | undefined; totalFee?: number | undefined; timeEnd?: string | undefined; tradeStateDesc?: string | undefined };
      /** what markPaid made of a payment; undefined when WeChat did not say paid */
      settled: MarkPaidOutcome | undefined;
    }
  | { kind: 'not_at_wechat' }
  | { kind: 'failed'; message: string };

/** orderquery, and markPaid when WeChat says the trade is paid. */
export async function queryAtWechat(knex: Knex, client: WxPayClient, input: { outTradeNo: string; operator: string; now: Date }): Promise<QueryOutcome> {
  await requirePaylog(knex, input.outTradeNo);
  let outcome: QueryOutcome;
  try {
    const { facts, result } = await settleFromQuery(knex, client, input.outTradeNo, { now: input.now, source: 'admin', operator: input.operator });
    if (facts.kind === 'unknown') outcome = { kind: 'not_at_wechat' };
    else {
      const { tradeState, transactionId, totalFee, timeEnd, tradeStateDesc } = facts.answer;
      outcome = { kind: 'answered', answer: { tradeState, transactionId, totalFee, timeEnd, tradeStateDesc }, settled: result?.outcome };
    }
  } catch (err) {
    if (!(err instanceof WxPayError)) throw err;
    outcome = { kind: 'failed', message: err.message };
  }
  // orders that changed state have their order_log line from markPaid already
  const changed = outcome.kind === 'answered' && (outcome.settled === 'paid' || outcome.settled === 'late_payment');
  if (!changed) {
    const what =
      outcome.kind === 'answered'
        ? `trade_state=${outcome.answer.tradeState}${outcome.settled ? ` (${outcome.settled})` : ''}`
        : outcome.kind === 'not_at_wechat'
          ? 'ORDERNOTEXIST'
          : `failed: ${outcome.message}`;
    await noteOnAttempt(knex, input.outTradeNo, input.operator, `queried WeChat Pay: ${what}`, input.now);
  }
  return outcome;
}

export type CloseOutcome = { kind: 'done'; outcome: CloseTradeOutcome } | { kind: 'failed'; message: string };

/** closeorder (after WeChat's 5 minutes), then the paylog and its orders closed, stock given back. */
export async function closeAsAdmin(knex: Knex, client: WxPayClient, input: { outTradeNo: string; operator: string; now: Date }): Promise<CloseOutcome> {
  await requirePaylog(knex, input.outTradeNo);
  let result: CloseOutcome;
  try {
    const outcome = await closeTrade(knex, client, { outTradeNo: input.outTradeNo, now: input.now, operator: input.operator, reason: `closed by ${input.operator}` });
    result = { kind: 'done', outcome };
  } catch (err) {
    if (!(err instanceof WxPayError)) throw err;
    result = { kind: 'failed', message: err.message };
  }
  // closeTrade logged the change itself when it closed (or found the trade paid and marked it so)
  if (!(result.kind === 'done' && result.outcome === 'closed')) {
    const what = result.kind === 'done' ? result.outcome : `failed: ${result.message}`;
    await noteOnAttempt(knex, input.outTradeNo, input.operator, `asked to close the trade: ${what}`, input.now);
  }
  return result;
}
