import type { Knex } from 'knex';
import type { Clock } from '../deps';
import { NotFound } from '../errors';
import { REFUND_TRY_AGAIN_LATER, readAttempt, readRefund, refundAccepted, refundFailed, settleRefund, type RefundStatus, type SettleRefundOutcome } from '../ledger';
import { WxBusinessError, WxPayError, parseBeijingForPeople, type WxPayClient } from '../wechatpay';

/**
 * Refunds, as a merchant must do them with WeChat Pay v2:
 *  1. the ledger's requestRefund stores the refund (PENDING, a fresh out_refund_no) BEFORE WeChat
 *     hears of it, under the paylog's lock, so two admins at once never refund more than was paid;
 *  2. sendRefund (here): client.refund outside any transaction, with the stored out_refund_no (a
 *     retry reuses it, so WeChat refunds once), its answer handed to the ledger (refundAccepted /
 *     refundFailed);
 *  3. the outcome (refund notify, src/webhooks/refund-notify.ts, or syncRefund here when the
 *     notify was lost) settled by the ledger's settleRefund: SUCCESS adds to refunded_fee once.
 */

export type SendRefundOutcome =
  | { kind: 'accepted'; status: RefundStatus; refundId: string }
  /** WeChat refused: errCode says why; `final` when the refund was closed for good */
  | { kind: 'refused'; errCode: string; message: string; final: boolean }
  /** no answer we can trust (network, bad signature...): the refund stays PENDING, retry or sync */
  | { kind: 'unknown'; message: string }
  /** the refund is no longer PENDING: nothing was sent */
  | { kind: 'not_pending'; status: RefundStatus };

/**
 * Asks WeChat to refund a stored PENDING refund, outside any transaction, with its own
 * out_refund_no (so a retry is the same refund to WeChat), and stores the answer.
 */
export async function sendRefund(knex: Knex, client: WxPayClient, input: { outRefundNo: string; notifyUrl: string | undefined; operator: string; clock: Clock }): Promise<SendRefundOutcome> {
  const refund = await readRefund(knex, input.outRefundNo);
  if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  if (refund.status !== 'PENDING') return { kind: 'not_pending', status: refund.status };
  const attempt = await readAttempt(knex, refund.out_trade_no);
  if (!attempt) throw new NotFound(`no paylog ${refund.out_trade_no}`, 'admin.error.noPaylog');
  try {
    const answer = await client.refund({
      outTradeNo: refund.out_trade_no,
      outRefundNo: refund.out_refund_no,
      totalFee: attempt.total_fee,
      refundFee: refund.refund_fee,
      refundDesc: refund.reason ?? undefined,
      notifyUrl: input.notifyUrl,
    });
    const status = await refundAccepted(knex, { outRefundNo: refund.out_refund_no, refundId: answer.refundId, refundFee: answer.refundFee, now: input.clock() });
    return { kind: 'accepted', status, refundId: answer.refundId };
  } catch (err) {
    if (err instanceof WxBusinessError) {
      const final = !REFUND_TRY_AGAIN_LATER.has(err.errCode);
      const message = `${err.errCode}: ${err.errCodeDes}`;
      await refundFailed(knex, { outRefundNo: refund.out_refund_no, error: message.slice(0, 500), final, operator: input.operator, now: input.clock() });
      return { kind: 'refused', errCode: err.errCode, message, final };
    }
    if (err instanceof WxPayError) {
      await refundFailed(knex, { outRefundNo: refund.out_refund_no, error: err.message.slice(0, 500), final: false, operator: input.operator, now: input.clock() });
      return { kind: 'unknown', message: err.message };
    }
    throw err;
  }
}

export type SyncRefundOutcome =
  | { kind: 'settled'; outcome: SettleRefundOutcome; status: RefundStatus }
  | { kind: 'processing'; status: RefundStatus }
  /** WeChat knows no refund by this number: it never got the request (retry it) */
  | { kind: 'not_at_wechat' }
  | { kind: 'failed'; message: string };

/**
 * Asks WeChat (refundquery by out_refund_no) and stores what it says: the way to settle a refund
 * whose notify was lost. WeChat is asked outside any transaction.
 */
export async function syncRefund(knex: Knex, client: WxPayClient, input: { outRefundNo: string; operator: string; clock: Clock }): Promise<SyncRefundOutcome> {
  const refund = await readRefund(knex, input.outRefundNo);
  if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  let answer;
  try {
    answer = await client.refundQuery({ outRefundNo: input.outRefundNo });
  } catch (err) {
    if (err instanceof WxBusinessError && err.errCode === 'REFUNDNOTEXIST') return { kind: 'not_at_wechat' };
    if (err instanceof WxPayError) return { kind: 'failed', message: err.message };
    throw err;
  }
  const item = answer.refunds.find((r) => r.outRefundNo === input.outRefundNo);
  if (!item) return { kind: 'failed', message: `WeChat's answer does not list ${input.outRefundNo}` };
  if (item.refundStatus === 'PROCESSING') {
    const status = await refundAccepted(knex, { outRefundNo: input.outRefundNo, refundId: item.refundId, refundFee: item.refundFee, now: input.clock() });
    return { kind: 'processing', status };
  }
  const outcome = await settleRefund(knex, {
    outRefundNo: input.outRefundNo,
    outTradeNo: answer.outTradeNo ?? refund.out_trade_no,
    transactionId: answer.transactionId,
    refundId: item.refundId,
    refundFee: item.refundFee,
    totalFee: answer.totalFee,
    status: item.refundStatus,
    successTime: parseBeijingForPeople(item.successTime),
    operator: input.operator,
    now: input.clock(),
  });
  const after = await readRefund(knex, input.outRefundNo);
  return { kind: 'settled', outcome, status: after?.status ?? refund.status };
}
