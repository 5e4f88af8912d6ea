import type { Knex } from 'knex';
import { decideCancelPaid, decideMerchant, dueForAutoApproval, decideRecordCancel, type AftersaleKind, type AftersaleOrder, type AftersaleStatus, type RecordCancelDecision } from './aftersale-rules';
import { aftersaleDecidedAlert, aftersaleRequestedAlert } from './alerts';
import { orderEvent } from './events';
import { insertAlerts } from './outbox-repo';
import { newOutRefundNo, type Order } from './model';
import * as refundRepo from './refund-repo';
import { requestRefundIn } from './refunds';
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

// ---- a paid order cancelled before it ships ----------------------------------------------------

export interface Aftersale {
  id: number;
  order_id: number;
  kind: AftersaleKind;
  status: AftersaleStatus;
  amount_fen: number;
  reason: string | null;
  note: string | null;
  requested_by: string;
  requested_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
  out_refund_no: string | null;
}

export function aftersaleOf(row: Record<string, unknown>): Aftersale {
  return {
    id: Number(row.id),
    order_id: Number(row.order_id),
    kind: row.kind as AftersaleKind,
    status: row.status as AftersaleStatus,
    amount_fen: Number(row.amount_fen),
    reason: row.reason === null || row.reason === undefined ? null : String(row.reason),
    note: row.note === null || row.note === undefined ? null : String(row.note),
    requested_by: String(row.requested_by),
    requested_at: new Date(row.requested_at as Date),
    decided_by: row.decided_by === null ? null : String(row.decided_by),
    decided_at: row.decided_at === null ? null : new Date(row.decided_at as Date),
    decision_note: row.decision_note === null ? null : String(row.decision_note),
    out_refund_no: row.out_refund_no === null ? null : String(row.out_refund_no),
  };
}

/** The order's requests, newest first (what its shopper and the merchant see). */
export async function aftersalesOfOrder(db: Knex, orderId: number): Promise<Aftersale[]> {
  return ((await db('aftersales').where({ order_id: orderId }).orderBy('id', 'desc').select('*')) as Record<string, unknown>[]).map(aftersaleOf);
}

/** The merchant's queue: the requests waiting (oldest first), then the latest decided. */
export async function aftersaleQueue(db: Knex, limit: number): Promise<{ waiting: Aftersale[]; decided: Aftersale[] }> {
  const waiting = ((await db('aftersales').where({ status: 'requested' }).orderBy('id').limit(limit).select('*')) as Record<string, unknown>[]).map(aftersaleOf);
  const decided = ((await db('aftersales').whereNot({ status: 'requested' }).orderBy('id', 'desc').limit(limit).select('*')) as Record<string, unknown>[]).map(aftersaleOf);
  return { waiting, decided };
}

/** The order, its attempt locked first, and what the after-sales rules read of it. */
export async function lockForAftersale(trx: Knex.Transaction, orderId: number): Promise<{ order: Order; state: AftersaleOrder; waiting: Aftersale | undefined } | undefined> {
  const peek = (await trx('orders').where({ id: orderId }).first('out_trade_no')) as { out_trade_no: string | null } | undefined;
  if (!peek) return undefined;
  if (peek.out_trade_no) await repo.lockAttempt(trx, peek.out_trade_no);
  const order = await repo.lockOrder(trx, orderId);
  if (!order) return undefined;
  const row = (await trx('aftersales').where({ order_id: orderId, status: 'requested' }).forUpdate().first('*')) as Record<string, unknown> | undefined;
  const waiting = row ? aftersaleOf(row) : undefined;
  const live = order.out_trade_no ? (await refundRepo.refundableOrders(trx, order.out_trade_no)).find((o) => o.id === orderId)?.liveFen ?? 0 : 0;
  return { order, waiting, state: { pay_type: order.pay_type, status: order.status, delivery_status: order.delivery_status, total_fen: order.total_fen, live_refund_fen: live, waiting: waiting !== undefined } };
}

export type CancelPaidResult =
  | { kind: 'refund'; aftersaleId: number; outRefundNo: string }
  | { kind: 'requested'; aftersaleId: number }
  | { kind: 'not_paid' | 'shipped' | 'already' | 'unknown_order' };

/**
 * The shopper cancels a paid order whose goods have not left, in ONE transaction (payment attempt,
 * order, its waiting request locked in that order; decideCancelPaid decides): `auto`, an approved
 * request and its refund of all that remains, stored PENDING through the ledger's refund path
 * (requestRefundIn) for the caller to send to WeChat after commit; `merchant`, a request waiting for
 * the merchant. Once the refund is stored the order cannot be shipped (fulfilment-rules: a refund in
 * progress). Idempotent: a second cancel finds the first (`already`).
 */
export async function cancelPaidOrder(knex: Knex, input: { orderId: number; approval: 'auto' | 'merchant'; operator: string; now: Date }): Promise<CancelPaidResult> {
  return knex.transaction(async (trx): Promise<CancelPaidResult> => {
    const locked = await lockForAftersale(trx, input.orderId);
    if (!locked?.order.out_trade_no) return { kind: 'unknown_order' };
    const { order } = locked;
    const decision = decideCancelPaid(locked.state, input.approval);
    if (decision.kind !== 'refund' && decision.kind !== 'request') return { kind: decision.kind };
    const line = { operator: input.operator, at: input.now };
    const outRefundNo = decision.kind === 'refund' ? newOutRefundNo(input.now) : null;
    if (outRefundNo) {
      await requestRefundIn(trx, { outTradeNo: order.out_trade_no ?? '', orderId: order.id, outRefundNo, refundFee: decision.amountFen, reason: 'shopper cancelled before shipment', operator: input.operator, now: input.now });
    }
    const [row] = (await trx('aftersales')
      .insert({
        order_id: order.id,
        kind: 'cancel',
        status: outRefundNo ? 'approved' : 'requested',
        amount_fen: decision.amountFen,
        requested_by: input.operator,
        requested_at: input.now,
        ...(outRefundNo ? { decided_by: 'system', decided_at: input.now, out_refund_no: outRefundNo } : {}),
      })
      .returning('id')) as { id: number }[];
    const aftersaleId = Number(row?.id);
    await repo.noteOnOrders(trx, [order.id], { ...line, event: orderEvent('aftersale_requested', { id: aftersaleId, kind: 'cancel', amountFen: decision.amountFen, approved: outRefundNo !== null }) });
    const alerted = { id: aftersaleId, kind: 'cancel', amountFen: decision.amountFen };
    await insertAlerts(trx, [aftersaleRequestedAlert(order, alerted), ...(outRefundNo ? [aftersaleDecidedAlert(order, alerted, 'approved', 'auto')] : [])], input.now);
    return outRefundNo ? { kind: 'refund', aftersaleId, outRefundNo } : { kind: 'requested', aftersaleId };
  });
}

export type MerchantDecisionResult =
  | { kind: 'approved'; outRefundNo: string }
  | { kind: 'rejected' }
  | { kind: 'not_waiting' | 'shipped' | 'nothing_left' | 'unknown_request' }
  /** the refund would be more than the deciding member may refund (an operations member's limit): nothing changes */
  | { kind: 'over_limit'; amountFen: number; limitFen: number };

/**
 * The merchant approves a waiting request (its refund stored PENDING through the ledger's refund
 * path, for the caller to send after commit) or rejects it with a reason, in ONE transaction
 * (payment attempt, order, request locked in that order; decideMerchant decides). A request is
 * decided once: a second decision, or one racing the first, is `not_waiting` and refunds nothing.
 */
export async function decideAftersaleRequest(
  knex: Knex,
  input: {
    aftersaleId: number;
    approve: boolean;
    note: string;
    operator: string;
    now: Date;
    /** the clock's approval: only once due (dueForAutoApproval, under the lock) */
    dueAfterHours?: number;
    /** the most the deciding member may refund (src/admin/roles.ts refundLimitOf); none: no limit */
    maxRefundFen?: number;
  },
): Promise<MerchantDecisionResult> {
  const peek = (await knex('aftersales').where({ id: input.aftersaleId }).first('order_id')) as { order_id: number } | undefined;
  if (!peek) return { kind: 'unknown_request' };
  return knex.transaction(async (trx): Promise<MerchantDecisionResult> => {
    const locked = await lockForAftersale(trx, Number(peek.order_id));
    if (!locked?.order.out_trade_no) return { kind: 'unknown_request' };
    const waiting = locked.waiting?.id === input.aftersaleId ? locked.waiting : undefined;
    const request = waiting && input.dueAfterHours !== undefined && !dueForAutoApproval(waiting, input.now, input.dueAfterHours) ? undefined : waiting;
    const decision = decideMerchant(request, locked.state, input.approve);
    const note = input.note.trim().slice(0, 200);
    const line = { operator: input.operator, at: input.now };
    switch (decision.kind) {
      case 'not_waiting':
      case 'shipped':
      case 'nothing_left':
        return { kind: decision.kind };
      case 'reject':
        await trx('aftersales').where({ id: input.aftersaleId }).update({ status: 'rejected', decided_by: input.operator, decided_at: input.now, decision_note: note || null });
        await repo.noteOnOrders(trx, [locked.order.id], { ...line, event: orderEvent('aftersale_rejected', { id: input.aftersaleId, ...(note ? { note } : {}) }) });
        await insertAlerts(trx, [aftersaleDecidedAlert(locked.order, { id: input.aftersaleId, kind: request?.kind ?? 'cancel', amountFen: request?.amount_fen ?? 0 }, 'rejected', 'merchant')], input.now);
        return { kind: 'rejected' };
      case 'approve': {
        if (input.maxRefundFen !== undefined && decision.amountFen > input.maxRefundFen) return { kind: 'over_limit', amountFen: decision.amountFen, limitFen: input.maxRefundFen };
        const outRefundNo = newOutRefundNo(input.now);
        await requestRefundIn(trx, { outTradeNo: locked.order.out_trade_no, orderId: locked.order.id, outRefundNo, refundFee: decision.amountFen, reason: 'after-sales request approved', operator: input.operator, now: input.now });
        await trx('aftersales').where({ id: input.aftersaleId }).update({ status: 'approved', decided_by: input.operator, decided_at: input.now, decision_note: note || null, out_refund_no: outRefundNo });
        await repo.noteOnOrders(trx, [locked.order.id], { ...line, event: orderEvent('aftersale_approved', { id: input.aftersaleId, amountFen: decision.amountFen }) });
        const by = input.dueAfterHours === undefined ? 'merchant' : 'clock';
        await insertAlerts(trx, [aftersaleDecidedAlert(locked.order, { id: input.aftersaleId, kind: request?.kind ?? 'cancel', amountFen: decision.amountFen }, 'approved', by)], input.now);
        return { kind: 'approved', outRefundNo };
      }
    }
  });
}
