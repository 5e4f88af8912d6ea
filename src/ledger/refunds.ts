import type { Knex } from 'knex';
import { Conflict, Invalid, NotFound } from '../errors';
import { fenToYuanString } from '../money';
import { needsAttentionAlert, type AttentionReason } from './alerts';
import { orderEvent } from './events';
import { resolveAttemptFlag } from './flags';
import { OUT_REFUND_NO, type Refund, type RefundStatus } from './model';
import { insertAlerts } from './outbox-repo';
import * as refundRepo from './refund-repo';
import { decideRefundAccepted, decideRefundFailed, decideRefundRequest, decideRefundSettle, orderAfterFullRefund, type RefundNews, type RefundOrder, type SettleRefundOutcome } from './refund-rules';
import { readAttempt } from './reads';
import * as repo from './repo';

/**
 * The ledger's refund transactions (re-exported by ./index): a refund requested (PENDING before
 * WeChat is asked), accepted, failed, settled. Every one locks the paylog row first, then the
 * refund's order, then the refund: one lock order with every payment change.
 */

export const MAX_REASON_LENGTH = 80;

export interface RequestRefundInput {
  outTradeNo: string;
  /** the order it returns money for (one of the attempt's; none only for an attempt made for no order) */
  orderId?: number | undefined;
  /** made once per refund form (newOutRefundNo) and sent back with it: a double submit is one refund */
  outRefundNo: string;
  refundFee: number;
  reason: string;
  operator: string;
  now: Date;
}

/**
 * A refund stored as PENDING before WeChat is asked. Invariant: under the paylog row lock, the sum
 * of refund_fee over the attempt's refunds that are not REFUNDCLOSE never exceeds total_fee, nor
 * over an order's refunds from this attempt the order's total; only a paid attempt is refunded.
 * Idempotent per out_refund_no: the same number with the same trade, order and amount returns the
 * stored row (`created: false`); with another, Conflict.
 */
export async function requestRefund(knex: Knex, input: RequestRefundInput): Promise<{ refund: Refund; created: boolean }> {
  checkRefundInput(input);
  return knex.transaction((trx) => requestRefundIn(trx, input));
}

function checkRefundInput(input: RequestRefundInput): void {
  if (!OUT_REFUND_NO.test(input.outRefundNo)) throw new Invalid('bad out_refund_no', 'refund.error.badToken');
  if (!Number.isSafeInteger(input.refundFee) || input.refundFee <= 0) throw new Invalid('refund_fee must be positive fen', 'refund.error.badAmount');
  if ([...input.reason.trim()].length > MAX_REASON_LENGTH) throw new Invalid('reason too long', 'refund.error.reasonTooLong', { max: MAX_REASON_LENGTH });
}

/**
 * requestRefund's statements inside a transaction the caller holds (an after-sales approval stores
 * its refund in its own transaction, ledger/aftersale.ts): the paylog row locked first, the same
 * rule and invariant. The caller must not have locked an order or refund before the paylog row.
 */
export async function requestRefundIn(trx: Knex.Transaction, input: RequestRefundInput): Promise<{ refund: Refund; created: boolean }> {
  checkRefundInput(input);
  const reason = input.reason.trim();
  const attempt = await repo.lockAttempt(trx, input.outTradeNo);
  const existing = attempt ? await refundRepo.lockRefund(trx, input.outRefundNo) : undefined;
  const orders = attempt ? await refundRepo.refundableOrders(trx, input.outTradeNo) : [];
  const live = attempt ? await refundRepo.liveRefundFen(trx, input.outTradeNo) : 0;
  const decision = decideRefundRequest(attempt, existing, live, input, orders);
  switch (decision.kind) {
    case 'not_found':
      throw new NotFound(`no paylog ${input.outTradeNo}`, 'admin.error.noPaylog');
    case 'wrong_order':
      throw new Invalid(`order ${String(input.orderId)} is not one ${input.outTradeNo} paid for`, 'refund.error.wrongOrder');
    case 'token_used':
      throw new Conflict(`out_refund_no ${input.outRefundNo} is used by another refund`, 'refund.error.tokenUsed');
    case 'existing':
      return { refund: existing as Refund, created: false };
    case 'not_paid':
      throw new Conflict(`${input.outTradeNo} is ${decision.state}, not paid`, 'refund.error.notPaid');
    case 'exceeds':
      throw new Conflict(`refund of ${input.refundFee} exceeds the ${decision.leftFen} fen left`, 'refund.error.exceeds', { left: fenToYuanString(decision.leftFen) });
    case 'create': {
      const refund = await refundRepo.insertRefund(trx, { ...input, reason: reason === '' ? null : reason });
      const event = orderEvent('refund_requested', { outRefundNo: input.outRefundNo, amountFen: input.refundFee, ...(reason ? { reason } : {}) });
      await noteOnRefund(trx, refund, { operator: input.operator, event, at: input.now });
      return { refund, created: true };
    }
  }
}

/** An attempt's total, what its refunds hold, and what is left to refund; the same per order. */
export async function refundableFen(
  knex: Knex,
  outTradeNo: string,
): Promise<{ totalFee: number; committedFen: number; leftFen: number; orders: { id: number; totalFen: number; committedFen: number; leftFen: number }[] }> {
  const attempt = await readAttempt(knex, outTradeNo);
  if (!attempt) throw new NotFound(`no paylog ${outTradeNo}`, 'admin.error.noPaylog');
  const committedFen = await refundRepo.liveRefundFen(knex, outTradeNo);
  const leftFen = Math.max(0, attempt.total_fee - committedFen);
  const orders = (await refundRepo.refundableOrders(knex, outTradeNo)).map((o) => ({ id: o.id, totalFen: o.total_fen, committedFen: o.liveFen, leftFen: Math.max(0, Math.min(leftFen, o.total_fen - o.liveFen)) }));
  return { totalFee: attempt.total_fee, committedFen, leftFen, orders };
}

/**
 * The refund with its attempt locked first, then the orders its outcome may move (every order the
 * attempt pays, and the refund's own; in id order), then itself: one lock order for every change
 * of money.
 */
async function lockRefundChain(trx: Knex.Transaction, found: Refund) {
  const attempt = await repo.lockAttempt(trx, found.out_trade_no);
  const orders = await refundRepo.lockRefundOrders(trx, found.out_trade_no, found.order_id);
  const order: RefundOrder | undefined = orders.find((o) => o.id === found.order_id);
  const refund = await refundRepo.lockRefund(trx, found.out_refund_no);
  return { attempt, orders, order, refund };
}

/** A refund's line goes on its order; a refund naming no order (from before refunds named orders) on every order of its attempt. */
async function noteOnRefund(trx: Knex.Transaction, refund: Pick<Refund, 'out_trade_no' | 'order_id'>, line: repo.LogLine): Promise<void> {
  if (refund.order_id === null) await repo.noteOnOrdersOf(trx, refund.out_trade_no, line);
  else await repo.noteOnOrders(trx, [refund.order_id], line);
}

/** The merchant hears of a refund that did not go as asked (an outbox event in the same transaction). */
async function refundNeedsAttention(trx: Knex.Transaction, refund: Pick<Refund, 'out_trade_no' | 'order_id' | 'out_refund_no' | 'refund_fee'>, reason: AttentionReason, now: Date): Promise<void> {
  const order = refund.order_id === null ? undefined : await repo.lockOrder(trx, refund.order_id);
  const orders = order ? [order] : await repo.lockOrdersOfAttempt(trx, refund.out_trade_no);
  await insertAlerts(trx, [needsAttentionAlert({ reason, outTradeNo: refund.out_trade_no, amountFen: refund.refund_fee, orders, outRefundNo: refund.out_refund_no })], now);
}

async function refundNamed(knex: Knex, outRefundNo: string): Promise<Refund> {
  const found = await refundRepo.findRefund(knex, outRefundNo);
  if (!found) throw new NotFound(`no refund ${outRefundNo}`, 'refund.error.notFound');
  return found;
}

/**
 * WeChat accepted the refund (its refund call answered, or a refund query says PROCESSING):
 * PENDING -> PROCESSING with its refund_id. Idempotent; never moves a refund backwards (the
 * notify may have settled it already), and only fills a missing refund_id.
 */
export async function refundAccepted(knex: Knex, input: { outRefundNo: string; refundId: string; refundFee: number; now: Date }): Promise<RefundStatus> {
  const found = await refundNamed(knex, input.outRefundNo);
  return knex.transaction(async (trx) => {
    const { refund } = await lockRefundChain(trx, found);
    if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
    switch (decideRefundAccepted(refund, input)) {
      case 'amount_differs':
        await refundRepo.changeRefund(trx, input.outRefundNo, { last_error: `WeChat answered refund_fee ${input.refundFee}, we asked for ${refund.refund_fee}` }, input.now);
        return refund.status;
      case 'processing':
        await refundRepo.changeRefund(trx, input.outRefundNo, { status: 'PROCESSING', refund_id: input.refundId, last_error: null }, input.now);
        return 'PROCESSING';
      case 'fill_refund_id':
        await refundRepo.changeRefund(trx, input.outRefundNo, { refund_id: input.refundId }, input.now);
        return refund.status;
      case 'keep':
        return refund.status;
    }
  });
}

/**
 * WeChat refused, or its answer is unknown. The error is kept on the row; a refusal the provider
 * knows to be final closes the refund (REFUNDCLOSE: its amount no longer counts against the
 * total); anything else leaves it PENDING, its amount held, for a query or a retry with the same
 * out_refund_no. Only a PENDING refund is touched.
 */
export async function refundFailed(knex: Knex, input: { outRefundNo: string; error: string; final: boolean; operator: string; now: Date }): Promise<RefundStatus> {
  const found = await refundNamed(knex, input.outRefundNo);
  return knex.transaction(async (trx) => {
    const { refund } = await lockRefundChain(trx, found);
    if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
    const status = decideRefundFailed(refund, input.final);
    if (status === undefined) return refund.status;
    await refundRepo.changeRefund(trx, input.outRefundNo, { status, last_error: input.error }, input.now);
    const event = input.final ? orderEvent('refund_refused', { outRefundNo: input.outRefundNo, error: input.error }) : orderEvent('refund_not_accepted', { outRefundNo: input.outRefundNo, error: input.error });
    await noteOnRefund(trx, found, { operator: input.operator, event, at: input.now });
    if (status === 'REFUNDCLOSE') await refundNeedsAttention(trx, refund, 'refund_refused', input.now);
    return status;
  });
}

export interface RefundOutcomeInput extends RefundNews {
  outRefundNo: string;
  /** when WeChat says the money went back */
  successTime?: Date | undefined;
  operator: string;
  now: Date;
}

/**
 * The outcome of a refund (refund notify, or refund query), checked against OUR rows
 * (refund-rules.decideRefundSettle), in one transaction with the paylog locked first: SUCCESS adds
 * the amount to paylog.refunded_fee and to its order's refunded_fen exactly once, the attempt
 * becomes REFUND, and the order becomes `refunded` (its goods never sent if they had not left)
 * when its own amount is all back. A SUCCESS for a refund we had closed is recorded and flagged.
 * A duplicate is a no-op that says so; otherwise a final refund never changes again.
 */
export async function settleRefund(knex: Knex, input: RefundOutcomeInput): Promise<SettleRefundOutcome> {
  const found = await refundRepo.findRefund(knex, input.outRefundNo);
  if (!found) return 'unknown_refund';
  if (found.out_trade_no !== input.outTradeNo) return 'mismatch';
  // payments that pay an order now in place of the one refunded (a double payment kept)
  const standIn = new Set<string>();
  const outcome = await knex.transaction(async (trx) => {
    standIn.clear();
    const { attempt, orders, order, refund } = await lockRefundChain(trx, found);
    const decision = decideRefundSettle(attempt, refund, order, input);
    if (!attempt || !refund) return decision.outcome;
    const amount = { outRefundNo: input.outRefundNo, amountFen: refund.refund_fee };
    const line = (event: ReturnType<typeof orderEvent>) => ({ operator: input.operator, event, at: input.now });
    switch (decision.outcome) {
      case 'unknown_refund':
      case 'mismatch':
      case 'duplicate':
      case 'conflict':
        return decision.outcome;
      case 'closed':
      case 'changed':
        await refundRepo.changeRefund(trx, input.outRefundNo, { status: input.status, refund_id: input.refundId }, input.now);
        await noteOnRefund(trx, refund, line(decision.outcome === 'closed' ? orderEvent('refund_closed', amount) : orderEvent('refund_change', amount)));
        await refundNeedsAttention(trx, refund, decision.outcome === 'closed' ? 'refund_closed' : 'refund_change', input.now);
        return decision.outcome;
      case 'refunded':
      case 'fully_refunded':
      case 'succeeded_after_close': {
        await refundRepo.changeRefund(
          trx,
          input.outRefundNo,
          { status: 'SUCCESS', refund_id: input.refundId, success_time: input.successTime ?? input.now, last_error: null, ...(decision.flag ? { flag: decision.flag } : {}) },
          input.now,
        );
        await repo.changeAttempt(trx, attempt.out_trade_no, { refunded_fee: decision.refundedFee, trade_state: 'REFUND' }, input.now);
        if (order && decision.orderRefundedFen !== undefined) await repo.changeOrderRefunded(trx, order.id, decision.orderRefundedFen, input.now);
        const event = decision.flag ? orderEvent('refund_succeeded_after_close', amount) : decision.refundOrders === 'none' ? orderEvent('refund_succeeded', amount) : orderEvent('refund_succeeded_all', amount);
        if (decision.refundOrders === 'none') {
          await noteOnRefund(trx, refund, line(event));
        } else {
          // the orders whose money is all back (only those this attempt pays: a second payment of the same orders leaves them paid)
          const done = orders.filter((o) => o.status === 'paid' && o.out_trade_no === attempt.out_trade_no && (decision.refundOrders === 'all_paid_by_attempt' || o.id === order?.id));
          for (const o of done) {
            const after = orderAfterFullRefund(o, await refundRepo.standingPaymentOf(trx, o, attempt.out_trade_no));
            if (after.kind === 'paid_by') {
              // paid twice, one payment back: the other pays it now
              await repo.moveOrders(trx, [{ id: o.id, from: 'paid' }], { to: 'paid', outTradeNo: after.outTradeNo }, line(orderEvent('paid_by_other_payment', { from: attempt.out_trade_no, to: after.outTradeNo })));
              await repo.changeOrderRefunded(trx, o.id, after.refundedFen, input.now);
              standIn.add(after.outTradeNo);
            } else {
              await repo.moveOrders(trx, [{ id: o.id, from: 'paid', delivery: after.delivery }], { to: 'refunded' }, line(event));
              await repo.changeOrderRefunded(trx, o.id, o.total_fen, input.now);
            }
          }
          if (done.length === 0) await noteOnRefund(trx, refund, line(event));
        }
        if (decision.flag) await refundNeedsAttention(trx, refund, 'refund_succeeded_after_close', input.now);
        await repo.wake(trx, [attempt.out_trade_no]);
        return decision.outcome;
      }
    }
  });
  // its "refund the second payment" flag is handled: the first came back instead (after the
  // commit, in the flag's own transaction; should it fail, the flag waits for an admin as before)
  for (const outTradeNo of standIn) {
    const standing = await readAttempt(knex, outTradeNo);
    if (standing?.flag !== 'double_payment' || standing.flag_resolved_at !== null) continue;
    await resolveAttemptFlag(knex, { outTradeNo, operator: 'system', note: `${input.outTradeNo} 已全额退款，订单改由本笔支付 / refunded in full; this payment pays the order now`, now: input.now });
  }
  return outcome;
}
