import type { Knex } from 'knex';
import { Conflict, Invalid, NotFound } from '../errors';
import { fenToYuanString } from '../money';
import { OUT_REFUND_NO, type OrderStatus, type Refund, type RefundStatus } from './model';
import * as repo from './repo';
import { decideRefundAccepted, decideRefundFailed, decideRefundRequest, decideRefundSettle, type RefundNews, type SettleRefundOutcome } from './rules';

/**
 * The ledger's refund transactions (re-exported by ./index): a refund requested (PENDING before
 * WeChat is asked), accepted, failed, settled. Every one locks the paylog row first, then the
 * refund: one lock order with every payment change.
 */

export const MAX_REASON_LENGTH = 80;

export interface RequestRefundInput {
  outTradeNo: string;
  /** made once per refund form (newOutRefundNo) and sent back with it: a double submit is one refund */
  outRefundNo: string;
  refundFee: number;
  reason: string;
  operator: string;
  now: Date;
}

/**
 * A refund stored as PENDING before WeChat is asked. Invariant: under the paylog row lock, the sum
 * of refund_fee over the attempt's refunds that are not REFUNDCLOSE never exceeds total_fee; only
 * a paid attempt is refunded. Idempotent per out_refund_no: the same number with the same trade
 * and amount returns the stored row (`created: false`); with another, Conflict.
 */
export async function requestRefund(knex: Knex, input: RequestRefundInput): Promise<{ refund: Refund; created: boolean }> {
  if (!OUT_REFUND_NO.test(input.outRefundNo)) throw new Invalid('bad out_refund_no', 'refund.error.badToken');
  if (!Number.isSafeInteger(input.refundFee) || input.refundFee <= 0) throw new Invalid('refund_fee must be positive fen', 'refund.error.badAmount');
  const reason = input.reason.trim();
  if ([...reason].length > MAX_REASON_LENGTH) throw new Invalid('reason too long', 'refund.error.reasonTooLong', { max: MAX_REASON_LENGTH });
  return knex.transaction(async (trx) => {
    const attempt = await repo.lockAttempt(trx, input.outTradeNo);
    const existing = attempt ? await repo.lockRefund(trx, input.outRefundNo) : undefined;
    const decision = decideRefundRequest(attempt, existing, attempt ? await repo.liveRefundFen(trx, input.outTradeNo) : 0, input);
    switch (decision.kind) {
      case 'not_found':
        throw new NotFound(`no paylog ${input.outTradeNo}`, 'admin.error.noPaylog');
      case 'token_used':
        throw new Conflict(`out_refund_no ${input.outRefundNo} is used by another refund`, 'refund.error.tokenUsed');
      case 'existing':
        return { refund: existing as Refund, created: false };
      case 'not_paid':
        throw new Conflict(`${input.outTradeNo} is ${decision.state}, not paid`, 'refund.error.notPaid');
      case 'exceeds':
        throw new Conflict(`refund of ${input.refundFee} exceeds the ${decision.leftFen} fen left`, 'refund.error.exceeds', { left: fenToYuanString(decision.leftFen) });
      case 'create': {
        const refund = await repo.insertRefund(trx, { outRefundNo: input.outRefundNo, outTradeNo: input.outTradeNo, refundFee: input.refundFee, reason: reason === '' ? null : reason, operator: input.operator, now: input.now });
        await repo.noteOnOrdersOf(trx, input.outTradeNo, { operator: input.operator, remark: `refund ${input.outRefundNo} of ${fenToYuanString(input.refundFee)} yuan requested${reason ? `: ${reason}` : ''}`, at: input.now });
        return { refund, created: true };
      }
    }
  });
}

/** An attempt's total, what its refunds hold, and what is left to refund. */
export async function refundableFen(knex: Knex, outTradeNo: string): Promise<{ totalFee: number; committedFen: number; leftFen: number }> {
  const attempt = await repo.readAttempt(knex, outTradeNo);
  if (!attempt) throw new NotFound(`no paylog ${outTradeNo}`, 'admin.error.noPaylog');
  const committedFen = await repo.liveRefundFen(knex, outTradeNo);
  return { totalFee: attempt.total_fee, committedFen, leftFen: Math.max(0, attempt.total_fee - committedFen) };
}

/** The refund, with its attempt locked first and then itself: one lock order for every refund change. */
async function lockRefundOfAttempt(trx: Knex.Transaction, outRefundNo: string, outTradeNo: string) {
  const attempt = await repo.lockAttempt(trx, outTradeNo);
  const refund = await repo.lockRefund(trx, outRefundNo);
  return { attempt, refund };
}

async function attemptOfRefund(knex: Knex, outRefundNo: string): Promise<string> {
  const found = await repo.readRefund(knex, outRefundNo);
  if (!found) throw new NotFound(`no refund ${outRefundNo}`, 'refund.error.notFound');
  return found.out_trade_no;
}

/**
 * WeChat accepted the refund (SUCCESS of /secapi/pay/refund, or PROCESSING in a refund query):
 * PENDING -> PROCESSING with its refund_id. Idempotent; never moves a refund backwards (the
 * notify may have settled it already), and only fills a missing refund_id.
 */
export async function refundAccepted(knex: Knex, input: { outRefundNo: string; refundId: string; refundFee: number; now: Date }): Promise<RefundStatus> {
  const outTradeNo = await attemptOfRefund(knex, input.outRefundNo);
  return knex.transaction(async (trx) => {
    const { refund } = await lockRefundOfAttempt(trx, input.outRefundNo, outTradeNo);
    if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
    switch (decideRefundAccepted(refund, input)) {
      case 'amount_differs':
        await repo.changeRefund(trx, input.outRefundNo, { last_error: `WeChat answered refund_fee ${input.refundFee}, we asked for ${refund.refund_fee}` }, input.now);
        return refund.status;
      case 'processing':
        await repo.changeRefund(trx, input.outRefundNo, { status: 'PROCESSING', refund_id: input.refundId, last_error: null }, input.now);
        return 'PROCESSING';
      case 'fill_refund_id':
        await repo.changeRefund(trx, input.outRefundNo, { refund_id: input.refundId }, input.now);
        return refund.status;
      case 'keep':
        return refund.status;
    }
  });
}

/**
 * WeChat refused or could not be reached. The error is kept on the row; a refusal that settles
 * the matter (`final`) closes the refund (REFUNDCLOSE: its amount no longer counts against the
 * total); anything else leaves it PENDING for a retry with the same out_refund_no. Only a PENDING
 * refund is touched.
 */
export async function refundFailed(knex: Knex, input: { outRefundNo: string; error: string; final: boolean; operator: string; now: Date }): Promise<RefundStatus> {
  const outTradeNo = await attemptOfRefund(knex, input.outRefundNo);
  return knex.transaction(async (trx) => {
    const { refund } = await lockRefundOfAttempt(trx, input.outRefundNo, outTradeNo);
    if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
    const status = decideRefundFailed(refund, input.final);
    if (status === undefined) return refund.status;
    await repo.changeRefund(trx, input.outRefundNo, { status, last_error: input.error }, input.now);
    await repo.noteOnOrdersOf(trx, outTradeNo, { operator: input.operator, remark: `refund ${input.outRefundNo} ${input.final ? 'refused' : 'not accepted yet'}: ${input.error}`, at: input.now });
    return status;
  });
}

export interface RefundOutcomeInput extends RefundNews {
  outRefundNo: string;
  /** 'yyyy-MM-dd HH:mm:ss' Beijing time, as WeChat writes it */
  successTime?: Date | undefined;
  operator: string;
  now: Date;
}

/**
 * The outcome of a refund (refund notify, or refund query), checked against OUR rows
 * (rules.decideRefundSettle), in one transaction with the paylog locked first: SUCCESS adds the
 * amount to paylog.refunded_fee exactly once, the attempt becomes REFUND, and the orders it paid
 * become `refunded` when the whole amount is back. A duplicate is a no-op that says so; a final
 * refund never changes again.
 */
export async function settleRefund(knex: Knex, input: RefundOutcomeInput): Promise<SettleRefundOutcome> {
  const found = await repo.readRefund(knex, input.outRefundNo);
  if (!found) return 'unknown_refund';
  if (found.out_trade_no !== input.outTradeNo) return 'mismatch';
  return knex.transaction(async (trx) => {
    const { attempt, refund } = await lockRefundOfAttempt(trx, input.outRefundNo, found.out_trade_no);
    const decision = decideRefundSettle(attempt, refund, input);
    if (!attempt || !refund) return decision.outcome;
    const yuan = fenToYuanString(refund.refund_fee);
    const line = (remark: string) => ({ operator: input.operator, remark, at: input.now });
    switch (decision.outcome) {
      case 'unknown_refund':
      case 'mismatch':
      case 'duplicate':
      case 'conflict':
        return decision.outcome;
      case 'closed':
      case 'changed':
        await repo.changeRefund(trx, input.outRefundNo, { status: input.status, refund_id: input.refundId }, input.now);
        await repo.noteOnOrdersOf(
          trx,
          attempt.out_trade_no,
          line(`refund ${input.outRefundNo} of ${yuan} yuan ${decision.outcome === 'closed' ? 'closed by WeChat' : 'failed at the bank (CHANGE): handle it in the merchant platform'}`),
        );
        return decision.outcome;
      case 'refunded':
      case 'fully_refunded': {
        await repo.changeRefund(trx, input.outRefundNo, { status: 'SUCCESS', refund_id: input.refundId, success_time: input.successTime ?? input.now, last_error: null }, input.now);
        await repo.changeAttempt(trx, attempt.out_trade_no, { refunded_fee: decision.refundedFee, trade_state: 'REFUND' }, input.now);
        if (decision.outcome === 'fully_refunded') {
          // only the orders this attempt paid (a duplicate payment of the same orders leaves them paid)
          const paid = await repo.lockCurrentOrders(trx, attempt.out_trade_no, 'paid');
          await repo.moveOrders(
            trx,
            paid.map((id) => ({ id, from: 'paid' as OrderStatus })),
            { to: 'refunded' },
            line(`refund ${input.outRefundNo} of ${yuan} yuan succeeded: the whole payment is back`),
          );
        } else {
          await repo.noteOnOrdersOf(trx, attempt.out_trade_no, line(`refund ${input.outRefundNo} of ${yuan} yuan succeeded`));
        }
        await repo.wake(trx, [attempt.out_trade_no]);
        return decision.outcome;
      }
    }
  });
}
