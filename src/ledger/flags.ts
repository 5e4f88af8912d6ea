import type { Knex } from 'knex';
import { orderEvent } from './events';
import * as refundRepo from './refund-repo';
import * as repo from './repo';
import { decideResolveFlag, type ResolveFlagDecision } from './rules';

/**
 * Flags an admin resolves: a payment flagged late, double or in conflict, a refund WeChat
 * completed after we had closed it. The flag stays for the record; resolving it says who handled
 * it, when, and how (their note), and the dashboard counts only open flags. One transaction each,
 * the paylog row locked first, an order_log line on the payment's orders.
 */

export const MAX_FLAG_NOTE_LENGTH = 500;

function noteOf(note: string): string {
  return note.trim().slice(0, MAX_FLAG_NOTE_LENGTH);
}

/** Marks a payment's flag handled. Idempotent: a second time changes nothing and says so. */
export async function resolveAttemptFlag(knex: Knex, input: { outTradeNo: string; operator: string; note: string; now: Date }): Promise<ResolveFlagDecision> {
  return knex.transaction(async (trx) => {
    const attempt = await repo.lockAttempt(trx, input.outTradeNo);
    const decision = decideResolveFlag(attempt);
    if (decision !== 'resolve' || !attempt?.flag) return decision;
    const note = noteOf(input.note);
    await repo.resolvePaylogFlag(trx, input.outTradeNo, { by: input.operator, note, at: input.now });
    await repo.noteOnOrdersOf(trx, input.outTradeNo, { operator: input.operator, event: orderEvent('flag_resolved', { flag: attempt.flag, note }), at: input.now });
    return 'resolve';
  });
}

/** Marks a refund's flag handled (a refund of `outTradeNo`, when given). Idempotent. */
export async function resolveRefundFlag(knex: Knex, input: { outRefundNo: string; outTradeNo?: string; operator: string; note: string; now: Date }): Promise<ResolveFlagDecision> {
  const found = await refundRepo.findRefund(knex, input.outRefundNo);
  if (!found || (input.outTradeNo !== undefined && found.out_trade_no !== input.outTradeNo)) return 'unknown';
  return knex.transaction(async (trx) => {
    await repo.lockAttempt(trx, found.out_trade_no);
    const refund = await refundRepo.lockRefund(trx, input.outRefundNo);
    const decision = decideResolveFlag(refund);
    if (decision !== 'resolve') return decision;
    const note = noteOf(input.note);
    await refundRepo.resolveRefundFlag(trx, input.outRefundNo, { by: input.operator, note, at: input.now });
    await repo.noteOnOrdersOf(trx, found.out_trade_no, { operator: input.operator, event: orderEvent('refund_flag_resolved', { outRefundNo: input.outRefundNo, note }), at: input.now });
    return 'resolve';
  });
}
