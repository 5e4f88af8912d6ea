import type { Knex } from 'knex';
import { NotFound } from '../errors';
import { closeTrade, settleFromQuery, type CloseTradeOutcome } from '../pay/service';
import type { MarkPaidOutcome } from '../pay/settle';
import { logOnOrders } from '../refunds/service';
import { WxBusinessError, WxPayError, type WxPayClient } from '../wechatpay';

/**
 * What an admin can do to a payment attempt besides refunding it. The state changes themselves
 * are the settlement's (markPaid through settleFromQuery, closePaylog through closeTrade), which
 * write order_log naming the admin; when an action changes nothing, an audit line on the orders
 * says who asked and what came of it.
 */

async function requirePaylog(knex: Knex, outTradeNo: string): Promise<void> {
  const found = await knex('paylog').where({ out_trade_no: outTradeNo }).first('out_trade_no');
  if (!found) throw new NotFound(`no paylog ${outTradeNo}`, 'admin.error.noPaylog');
}

export type QueryOutcome =
  | {
      kind: 'answered';
      /** what WeChat said, as it said it */
      answer: { tradeState: string; transactionId?: string; totalFee?: number; timeEnd?: string; tradeStateDesc?: string };
      /** what markPaid made of a SUCCESS; undefined when WeChat did not say paid */
      settled: MarkPaidOutcome | undefined;
    }
  | { kind: 'not_at_wechat' }
  | { kind: 'failed'; message: string };

/** orderquery, and markPaid when WeChat says the trade is paid. */
export async function queryAtWechat(knex: Knex, client: WxPayClient, input: { outTradeNo: string; operator: string; now: Date }): Promise<QueryOutcome> {
  await requirePaylog(knex, input.outTradeNo);
  let outcome: QueryOutcome;
  try {
    const { answer, result } = await settleFromQuery(knex, client, input.outTradeNo, input.now, 'admin', input.operator);
    outcome = {
      kind: 'answered',
      answer: { tradeState: answer.tradeState, transactionId: answer.transactionId, totalFee: answer.totalFee, timeEnd: answer.timeEnd, tradeStateDesc: answer.tradeStateDesc },
      settled: result?.outcome,
    };
  } catch (err) {
    if (err instanceof WxBusinessError && err.errCode === 'ORDERNOTEXIST') outcome = { kind: 'not_at_wechat' };
    else if (err instanceof WxPayError) outcome = { kind: 'failed', message: err.message };
    else throw err;
  }
  const changed = outcome.kind === 'answered' && (outcome.settled === 'paid' || outcome.settled === 'late_payment');
  if (!changed) {
    const what =
      outcome.kind === 'answered'
        ? `trade_state=${outcome.answer.tradeState}${outcome.settled ? ` (${outcome.settled})` : ''}`
        : outcome.kind === 'not_at_wechat'
          ? 'ORDERNOTEXIST'
          : `failed: ${outcome.message}`;
    await logOnOrders(knex, input.outTradeNo, input.operator, `queried WeChat Pay: ${what}`.slice(0, 500), input.now);
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
    await logOnOrders(knex, input.outTradeNo, input.operator, `asked to close the trade: ${what}`.slice(0, 500), input.now);
  }
  return result;
}
