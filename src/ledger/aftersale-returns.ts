import type { Knex } from 'knex';
import { Invalid } from '../errors';
import { lockForAftersale } from './aftersale';
import { AFTERSALE_REASONS, MAX_NOTE_LENGTH, decideAfterDelivery, decideWithdraw, type AftersaleReason } from './aftersale-rules';
import { aftersaleDecidedAlert, aftersaleRequestedAlert } from './alerts';
import { orderEvent } from './events';
import { insertAlerts } from './outbox-repo';
import * as repo from './repo';

/**
 * After delivery (issue 24): "refund only" and "return and refund" requests, and the shopper's
 * withdrawal, each one function in ONE transaction (payment attempt, order, waiting request locked
 * in that order; aftersale-rules decides). The merchant's decision is aftersale.ts's
 * decideAftersaleRequest, the one way a request becomes a refund.
 */

export type AfterDeliveryResult = { kind: 'requested'; aftersaleId: number } | { kind: 'not_paid' | 'not_shipped' | 'window_closed' | 'waiting' | 'unknown_order' } | { kind: 'exceeds'; leftFen: number };

/**
 * The shopper asks for "refund only" or "return and refund" of a shipped (or completed, within
 * `returnDays`) order, with a reason of the list, an amount of at most what was paid for the order
 * less what its refunds hold, and a note. Stored as a request waiting for the merchant; order_log
 * says so. One waiting request per order (the rule, and a unique index).
 */
export async function requestAfterDelivery(
  knex: Knex,
  input: { orderId: number; kind: 'refund_only' | 'return_refund'; reason: string; amountFen: number; note: string; operator: string; now: Date; returnDays: number },
): Promise<AfterDeliveryResult> {
  if (!(AFTERSALE_REASONS as readonly string[]).includes(input.reason)) throw new Invalid(`unknown reason ${input.reason}`, 'aftersale.error.reason');
  if (!Number.isSafeInteger(input.amountFen) || input.amountFen <= 0) throw new Invalid('the amount must be positive fen', 'aftersale.error.amount');
  const note = input.note.trim();
  if ([...note].length > MAX_NOTE_LENGTH) throw new Invalid('note too long', 'aftersale.error.note', { max: MAX_NOTE_LENGTH });
  return knex.transaction(async (trx): Promise<AfterDeliveryResult> => {
    const locked = await lockForAftersale(trx, input.orderId);
    if (!locked) return { kind: 'unknown_order' };
    const shipment = (await trx('shipments').where({ order_id: input.orderId }).first('completed_at')) as { completed_at: Date | null } | undefined;
    const completedAt = shipment?.completed_at ? new Date(shipment.completed_at) : locked.order.delivery_status === 'completed' ? locked.order.delivery_at : null;
    const decision = decideAfterDelivery(locked.state, completedAt, input.now, input.returnDays, input.amountFen);
    if (decision.kind !== 'request') return decision;
    const [row] = (await trx('aftersales')
      .insert({ order_id: input.orderId, kind: input.kind, status: 'requested', amount_fen: input.amountFen, reason: input.reason as AftersaleReason, note: note || null, requested_by: input.operator, requested_at: input.now })
      .returning('id')) as { id: number }[];
    const aftersaleId = Number(row?.id);
    await repo.noteOnOrders(trx, [input.orderId], { operator: input.operator, at: input.now, event: orderEvent('aftersale_requested', { id: aftersaleId, kind: input.kind, amountFen: input.amountFen, approved: false }) });
    await insertAlerts(trx, [aftersaleRequestedAlert(locked.order, { id: aftersaleId, kind: input.kind, amountFen: input.amountFen })], input.now);
    return { kind: 'requested', aftersaleId };
  });
}

/** The shopper withdraws their waiting request (of this order); a decided one is `not_waiting` and stays. */
export async function withdrawAftersale(knex: Knex, input: { orderId: number; aftersaleId: number; operator: string; now: Date }): Promise<'withdrawn' | 'not_waiting' | 'unknown_order'> {
  return knex.transaction(async (trx) => {
    const locked = await lockForAftersale(trx, input.orderId);
    if (!locked) return 'unknown_order';
    const request = locked.waiting?.id === input.aftersaleId ? locked.waiting : undefined;
    if (decideWithdraw(request) !== 'withdraw') return 'not_waiting';
    await trx('aftersales').where({ id: input.aftersaleId }).update({ status: 'withdrawn', decided_by: input.operator, decided_at: input.now });
    await repo.noteOnOrders(trx, [input.orderId], { operator: input.operator, at: input.now, event: orderEvent('aftersale_withdrawn', { id: input.aftersaleId }) });
    if (request) await insertAlerts(trx, [aftersaleDecidedAlert(locked.order, { id: request.id, kind: request.kind, amountFen: request.amount_fen }, 'withdrawn', 'shopper')], input.now);
    return 'withdrawn';
  });
}

/** The requests the clock may approve now (dueForAutoApproval's SQL twin; the decision is taken again under lock). */
export async function requestsDueForApproval(knex: Knex, now: Date, hours: number, limit: number): Promise<number[]> {
  const before = new Date(now.getTime() - hours * 3600 * 1000);
  return ((await knex('aftersales').where({ status: 'requested' }).whereNot({ kind: 'return_refund' }).andWhere('requested_at', '<=', before).orderBy('id').limit(limit).pluck('id')) as number[]).map(Number);
}
