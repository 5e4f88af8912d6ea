import type { Knex } from 'knex';
import { decideRecordCancel, type RecordCancelDecision } from './aftersale-rules';
import { orderEvent } from './events';
import * as repo from './repo';

/**
 * The shopper's side after checkout (issue 24), each change one function in ONE transaction,
 * decided by aftersale-rules.ts. Closing the attempt itself is the ledger's closeAttempt (which
 * gives the stock back); this file records what must wait for WeChat.
 */

/**
 * The shopper asked to cancel an unpaid attempt that WeChat cannot close yet (its first five
 * minutes, a payer entering the password, WeChat unreachable): recorded on the attempt (the paylog
 * row locked), order_log says so; the sweeper closes it as soon as WeChat allows (closeAttempt then
 * logs it as the shopper's cancel). Idempotent: a second request is `already_requested`.
 */
export async function recordCancelRequest(knex: Knex, input: { outTradeNo: string; operator: string; now: Date }): Promise<RecordCancelDecision> {
  return knex.transaction(async (trx) => {
    const decision = decideRecordCancel(await repo.lockAttempt(trx, input.outTradeNo));
    if (decision !== 'record') return decision;
    await repo.changeAttempt(trx, input.outTradeNo, { cancel_requested_at: input.now }, input.now);
    await repo.noteOnOrdersOf(trx, input.outTradeNo, { operator: input.operator, event: orderEvent('cancel_requested', {}), at: input.now });
    return 'record';
  });
}
