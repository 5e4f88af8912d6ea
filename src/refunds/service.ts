import type { Knex } from 'knex';
import type { Clock } from '../deps';
import { NotFound } from '../errors';
import { readAttempt, readRefund, refundAccepted, refundFailed, settleRefund, type RefundStatus, type SettleRefundOutcome } from '../ledger';
import { ProviderError, type PaymentProvider, type RefundHold } from '../payments';

/**
 * Refunds, as a merchant must do them with WeChat Pay:
 *  1. the ledger's requestRefund stores the refund (PENDING, a fresh out_refund_no, the order it
 *     is for) BEFORE WeChat hears of it, under the paylog's lock, so two admins at once never
 *     refund more than was paid, in all or for an order;
 *  2. sendRefund (here): the provider's refund outside any transaction, with the stored
 *     out_refund_no (a retry reuses it, so WeChat refunds once), its answer handed to the ledger
 *     (refundAccepted / refundFailed). A refusal closes the refund only when the provider knows it
 *     to be final; an answer it cannot place is unknown, and WeChat is asked at once;
 *  3. the outcome (refund notify, src/webhooks/refund-notify.ts, or syncRefund here when the
 *     notify was lost) settled by the ledger's settleRefund: SUCCESS adds to refunded_fee once.
 */

export type SendRefundOutcome =
  | { kind: 'accepted'; status: RefundStatus; refundId: string }
  /** WeChat refused it for good: the refund is closed, its amount free again */
  | { kind: 'refused'; message: string }
  /** not accepted, or not known to be: the refund stays PENDING for a retry or a sync; `hold` says why */
  | { kind: 'unknown'; hold: RefundHold; message: string }
  /** an answer we could not place, so WeChat was asked: what it knows of the refund now */
  | { kind: 'asked'; sync: SyncRefundOutcome; message: string }
  /** the refund is no longer PENDING: nothing was sent */
  | { kind: 'not_pending'; status: RefundStatus };

/**
 * Asks the provider to refund a stored PENDING refund, outside any transaction, with its own
 * out_refund_no (so a retry is the same refund to WeChat), and stores the answer.
 */
export async function sendRefund(knex: Knex, provider: PaymentProvider, input: { outRefundNo: string; operator: string; clock: Clock }): Promise<SendRefundOutcome> {
  const refund = await readRefund(knex, input.outRefundNo);
  if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  if (refund.status !== 'PENDING') return { kind: 'not_pending', status: refund.status };
  const attempt = await readAttempt(knex, refund.out_trade_no);
  if (!attempt) throw new NotFound(`no paylog ${refund.out_trade_no}`, 'admin.error.noPaylog');
  const answer = await provider.refund({
    outTradeNo: refund.out_trade_no,
    outRefundNo: refund.out_refund_no,
    totalFen: attempt.total_fee,
    refundFen: refund.refund_fee,
    reason: refund.reason ?? undefined,
  });
  switch (answer.kind) {
    case 'accepted': {
      const status = await refundAccepted(knex, { outRefundNo: refund.out_refund_no, refundId: answer.refundId, refundFee: answer.refundFen, now: input.clock() });
      return { kind: 'accepted', status, refundId: answer.refundId };
    }
    case 'refused':
      await refundFailed(knex, { outRefundNo: refund.out_refund_no, error: answer.message.slice(0, 500), final: true, operator: input.operator, now: input.clock() });
      return { kind: 'refused', message: answer.message };
    case 'unknown': {
      await refundFailed(knex, { outRefundNo: refund.out_refund_no, error: answer.message.slice(0, 500), final: false, operator: input.operator, now: input.clock() });
      // a refusal we do not know: WeChat may have made the refund after all, so ask before anyone decides
      if (answer.hold !== 'unrecognised') return { kind: 'unknown', hold: answer.hold, message: answer.message };
      return { kind: 'asked', sync: await syncRefund(knex, provider, input), message: answer.message };
    }
  }
}

export type SyncRefundOutcome =
  | { kind: 'settled'; outcome: SettleRefundOutcome; status: RefundStatus }
  | { kind: 'processing'; status: RefundStatus }
  /** WeChat knows no refund by this number: it never got the request (retry it) */
  | { kind: 'not_at_wechat' }
  | { kind: 'failed'; message: string };

/**
 * Asks the provider (refund query by out_refund_no) and stores what it says: the way to settle a
 * refund whose notify was lost, or whose request got an answer nobody could place. The provider
 * is asked outside any transaction.
 */
export async function syncRefund(knex: Knex, provider: PaymentProvider, input: { outRefundNo: string; operator: string; clock: Clock }): Promise<SyncRefundOutcome> {
  const refund = await readRefund(knex, input.outRefundNo);
  if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  let facts;
  try {
    facts = await provider.refundQuery(input.outRefundNo);
  } catch (err) {
    if (err instanceof ProviderError) return { kind: 'failed', message: err.message };
    throw err;
  }
  if (facts.kind === 'not_found') return { kind: 'not_at_wechat' };
  if (facts.status === 'PROCESSING') {
    const status = await refundAccepted(knex, { outRefundNo: input.outRefundNo, refundId: facts.refundId, refundFee: facts.refundFen, now: input.clock() });
    return { kind: 'processing', status };
  }
  const outcome = await settleRefund(knex, {
    outRefundNo: input.outRefundNo,
    outTradeNo: facts.outTradeNo ?? refund.out_trade_no,
    transactionId: facts.transactionId,
    refundId: facts.refundId,
    refundFee: facts.refundFen,
    totalFee: facts.totalFen,
    status: facts.status,
    successTime: facts.successTime,
    operator: input.operator,
    now: input.clock(),
  });
  const after = await readRefund(knex, input.outRefundNo);
  return { kind: 'settled', outcome, status: after?.status ?? refund.status };
}

/** How long a refund must have waited since WeChat last heard of it before it may be abandoned (a refund just sent may not show in a query yet). */
export const ABANDON_AFTER_MS = 10 * 60 * 1000;

export type AbandonOutcome =
  /** WeChat has no such refund: closed here, its amount free again */
  | { kind: 'abandoned' }
  /** WeChat has it after all: stored as a sync would */
  | { kind: 'at_wechat'; sync: SyncRefundOutcome }
  /** sent too recently to be sure WeChat would show it */
  | { kind: 'too_early'; minutes: number }
  | { kind: 'not_pending'; status: RefundStatus }
  | { kind: 'failed'; message: string };

/**
 * An admin gives up a refund that waits for ever (WeChat refused it with an answer nobody could
 * place, and retrying gets the same): only a PENDING refund, only once it has waited
 * ABANDON_AFTER_MS, and only when WeChat, asked now, has no such refund. Then it is closed and
 * its amount may be refunded anew; if WeChat has it after all, it is stored as WeChat says.
 */
export async function abandonRefund(knex: Knex, provider: PaymentProvider, input: { outRefundNo: string; operator: string; clock: Clock }): Promise<AbandonOutcome> {
  const refund = await readRefund(knex, input.outRefundNo);
  if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  if (refund.status !== 'PENDING') return { kind: 'not_pending', status: refund.status };
  const waited = input.clock().getTime() - refund.updated_at.getTime();
  if (waited < ABANDON_AFTER_MS) return { kind: 'too_early', minutes: Math.ceil((ABANDON_AFTER_MS - waited) / 60_000) };
  const sync = await syncRefund(knex, provider, input);
  if (sync.kind === 'failed') return { kind: 'failed', message: sync.message };
  if (sync.kind !== 'not_at_wechat') return { kind: 'at_wechat', sync };
  await refundFailed(knex, { outRefundNo: input.outRefundNo, error: 'abandoned by an admin: WeChat has no such refund', final: true, operator: input.operator, now: input.clock() });
  return { kind: 'abandoned' };
}
