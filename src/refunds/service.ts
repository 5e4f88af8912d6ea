import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { Conflict, Invalid, NotFound } from '../errors';
import { PAYLOG_CHANNEL } from '../pay/settle';
import { fenToYuanString } from '../money';
import { WxBusinessError, WxPayError, type WxPayClient } from '../wechatpay';
import { formatBeijingTime, parseBeijingTime } from '../wechatpay/time';

/**
 * Refunds, as a merchant must do them with WeChat Pay v2:
 *  1. requestRefund: the refund row (PENDING, a fresh out_refund_no) is stored BEFORE WeChat hears
 *     of it, in a transaction that locks the paylog and keeps the sum of live refunds within
 *     total_fee, so two admins clicking at once can never refund more than was paid;
 *  2. sendRefund: client.refund outside any transaction, with the stored out_refund_no (a retry
 *     reuses it, so WeChat refunds once);
 *  3. recordRefundAccepted / recordRefundFailed: WeChat's answer, stored in a transaction of its own;
 *  4. settleRefund: the outcome (refund notify, or a refund query when the notify was lost) —
 *     SUCCESS adds to paylog.refunded_fee exactly once and, when the whole amount is back, marks
 *     the orders refunded.
 * Every function locks the paylog row first, then the refund row: one lock order, no deadlock.
 */

export type RefundStatus = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';

export interface RefundRow {
  out_refund_no: string;
  out_trade_no: string;
  refund_fee: number;
  reason: string | null;
  status: RefundStatus;
  refund_id: string | null;
  operator: string;
  last_error: string | null;
  created_at: Date;
  success_time: Date | null;
  updated_at: Date;
}

export const MAX_REASON_LENGTH = 80;
export const OUT_REFUND_NO = /^[0-9A-Za-z_|*@-]{1,64}$/;

/** 'R' + Beijing time to the second + 12 random digits: 27 characters, unique by key. */
export function newOutRefundNo(now: Date): string {
  return `R${formatBeijingTime(now)}${crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')}${crypto.randomInt(0, 1_000_000).toString().padStart(6, '0')}`;
}

interface LockedPaylog {
  out_trade_no: string;
  total_fee: number;
  refunded_fee: number;
  trade_state: string;
  transaction_id: string | null;
}

async function lockPaylog(trx: Knex.Transaction, outTradeNo: string): Promise<LockedPaylog | undefined> {
  return (await trx('paylog')
    .where({ out_trade_no: outTradeNo })
    .forUpdate()
    .first('out_trade_no', 'total_fee', 'refunded_fee', 'trade_state', 'transaction_id')) as LockedPaylog | undefined;
}

async function lockRefund(trx: Knex.Transaction, outRefundNo: string): Promise<RefundRow | undefined> {
  return (await trx('refunds').where({ out_refund_no: outRefundNo }).forUpdate().first('*')) as RefundRow | undefined;
}

/** One order_log line per order of this payment attempt, keeping each order's status (an audit entry). */
export async function logOnOrders(trx: Knex | Knex.Transaction, outTradeNo: string, operator: string, remark: string, now: Date): Promise<void> {
  const orders = (await trx('orders')
    .join('paylog_orders', 'paylog_orders.order_id', 'orders.id')
    .where('paylog_orders.out_trade_no', outTradeNo)
    .orderBy('orders.id')
    .select('orders.id', 'orders.status')) as { id: number; status: string }[];
  if (orders.length === 0) return;
  await trx('order_log').insert(orders.map((o) => ({ order_id: o.id, from_status: o.status, to_status: o.status, operator: operator.slice(0, 64), remark, at: now })));
}

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
 * Stores a refund as PENDING before WeChat is asked. Invariant: under the paylog row lock, the sum
 * of refund_fee over the trade's refunds that are not REFUNDCLOSE never exceeds total_fee; only a
 * paid trade (SUCCESS or REFUND) is refunded. Idempotent per out_refund_no: the same number with
 * the same trade and amount returns the stored row (`created: false`); with another, Conflict.
 */
export async function requestRefund(knex: Knex, input: RequestRefundInput): Promise<{ refund: RefundRow; created: boolean }> {
  if (!OUT_REFUND_NO.test(input.outRefundNo)) throw new Invalid('bad out_refund_no', 'refund.error.badToken');
  if (!Number.isSafeInteger(input.refundFee) || input.refundFee <= 0) throw new Invalid('refund_fee must be positive fen', 'refund.error.badAmount');
  const reason = input.reason.trim();
  if ([...reason].length > MAX_REASON_LENGTH) throw new Invalid('reason too long', 'refund.error.reasonTooLong', { max: MAX_REASON_LENGTH });
  return knex.transaction(async (trx) => {
    const paylog = await lockPaylog(trx, input.outTradeNo);
    if (!paylog) throw new NotFound(`no paylog ${input.outTradeNo}`, 'admin.error.noPaylog');
    const existing = await lockRefund(trx, input.outRefundNo);
    if (existing) {
      if (existing.out_trade_no !== input.outTradeNo || existing.refund_fee !== input.refundFee) {
        throw new Conflict(`out_refund_no ${input.outRefundNo} is used by another refund`, 'refund.error.tokenUsed');
      }
      return { refund: existing, created: false };
    }
    if (paylog.trade_state !== 'SUCCESS' && paylog.trade_state !== 'REFUND') {
      throw new Conflict(`${input.outTradeNo} is ${paylog.trade_state}, not paid`, 'refund.error.notPaid');
    }
    const [live] = (await trx('refunds')
      .where({ out_trade_no: input.outTradeNo })
      .whereNot('status', 'REFUNDCLOSE')
      .select(trx.raw('coalesce(sum(refund_fee), 0)::bigint AS fen'))) as { fen: number }[];
    const left = paylog.total_fee - Number(live?.fen ?? 0);
    if (input.refundFee > left) {
      throw new Conflict(`refund of ${input.refundFee} exceeds the ${left} fen left`, 'refund.error.exceeds', { left: fenToYuanString(Math.max(0, left)) });
    }
    const [refund] = (await trx('refunds')
      .insert({
        out_refund_no: input.outRefundNo,
        out_trade_no: input.outTradeNo,
        refund_fee: input.refundFee,
        reason: reason === '' ? null : reason,
        status: 'PENDING',
        operator: input.operator.slice(0, 64),
        created_at: input.now,
        updated_at: input.now,
      })
      .returning('*')) as RefundRow[];
    await logOnOrders(trx, input.outTradeNo, input.operator, `refund ${input.outRefundNo} of ${fenToYuanString(input.refundFee)} yuan requested${reason ? `: ${reason}` : ''}`, input.now);
    return { refund: refund as RefundRow, created: true };
  });
}

/** Refunds of a trade that may still take money, and how much is left to refund. */
export async function refundableFen(knex: Knex, outTradeNo: string): Promise<{ totalFee: number; committedFen: number; leftFen: number }> {
  const paylog = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('total_fee')) as { total_fee: number } | undefined;
  if (!paylog) throw new NotFound(`no paylog ${outTradeNo}`, 'admin.error.noPaylog');
  const [live] = (await knex('refunds').where({ out_trade_no: outTradeNo }).whereNot('status', 'REFUNDCLOSE').select(knex.raw('coalesce(sum(refund_fee), 0)::bigint AS fen'))) as { fen: number }[];
  const committedFen = Number(live?.fen ?? 0);
  return { totalFee: paylog.total_fee, committedFen, leftFen: Math.max(0, paylog.total_fee - committedFen) };
}

/**
 * WeChat accepted the refund (SUCCESS of /secapi/pay/refund, or PROCESSING in a refund query):
 * PENDING -> PROCESSING with its refund_id. Idempotent; never moves a refund backwards (the
 * notify may have settled it already), and only fills a missing refund_id.
 */
export async function recordRefundAccepted(knex: Knex, input: { outRefundNo: string; refundId: string; refundFee: number; now: Date }): Promise<RefundStatus> {
  const found = (await knex('refunds').where({ out_refund_no: input.outRefundNo }).first('out_trade_no')) as { out_trade_no: string } | undefined;
  if (!found) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  return knex.transaction(async (trx) => {
    await lockPaylog(trx, found.out_trade_no);
    const refund = (await lockRefund(trx, input.outRefundNo)) as RefundRow;
    if (refund.refund_fee !== input.refundFee) {
      await trx('refunds')
        .where({ out_refund_no: input.outRefundNo })
        .update({ last_error: `WeChat answered refund_fee ${input.refundFee}, we asked for ${refund.refund_fee}`, updated_at: input.now });
      return refund.status;
    }
    if (refund.status === 'PENDING') {
      await trx('refunds').where({ out_refund_no: input.outRefundNo }).update({ status: 'PROCESSING', refund_id: input.refundId, last_error: null, updated_at: input.now });
      return 'PROCESSING';
    }
    if (refund.refund_id === null) await trx('refunds').where({ out_refund_no: input.outRefundNo }).update({ refund_id: input.refundId, updated_at: input.now });
    return refund.status;
  });
}

/**
 * WeChat refused or could not be reached. The error is kept on the row; a refusal that settles
 * the matter (`final`) closes the refund (REFUNDCLOSE: its amount no longer counts against the
 * total); anything else leaves it PENDING for a retry with the same out_refund_no. Only a PENDING
 * refund is touched.
 */
export async function recordRefundFailed(knex: Knex, input: { outRefundNo: string; error: string; final: boolean; operator: string; now: Date }): Promise<RefundStatus> {
  const found = (await knex('refunds').where({ out_refund_no: input.outRefundNo }).first('out_trade_no')) as { out_trade_no: string } | undefined;
  if (!found) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  return knex.transaction(async (trx) => {
    await lockPaylog(trx, found.out_trade_no);
    const refund = (await lockRefund(trx, input.outRefundNo)) as RefundRow;
    if (refund.status !== 'PENDING') return refund.status;
    const status: RefundStatus = input.final ? 'REFUNDCLOSE' : 'PENDING';
    await trx('refunds').where({ out_refund_no: input.outRefundNo }).update({ status, last_error: input.error, updated_at: input.now });
    await logOnOrders(trx, found.out_trade_no, input.operator, `refund ${input.outRefundNo} ${input.final ? 'refused' : 'not accepted yet'}: ${input.error}`, input.now);
    return status;
  });
}

/** Business refusals after which the very same out_refund_no may be sent again later. */
const TRY_AGAIN_LATER = new Set(['SYSTEMERROR', 'BIZERR_NEED_RETRY', 'NOTENOUGH', 'FREQUENCY_LIMITED', 'INVALID_REQ_TOO_MUCH']);

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
export async function sendRefund(
  knex: Knex,
  client: WxPayClient,
  input: { outRefundNo: string; notifyUrl: string | undefined; operator: string; now: () => Date },
): Promise<SendRefundOutcome> {
  const refund = (await knex('refunds').where({ out_refund_no: input.outRefundNo }).first('*')) as RefundRow | undefined;
  if (!refund) throw new NotFound(`no refund ${input.outRefundNo}`, 'refund.error.notFound');
  if (refund.status !== 'PENDING') return { kind: 'not_pending', status: refund.status };
  const paylog = (await knex('paylog').where({ out_trade_no: refund.out_trade_no }).first('total_fee')) as { total_fee: number };
  try {
    const answer = await client.refund({
      outTradeNo: refund.out_trade_no,
      outRefundNo: refund.out_refund_no,
      totalFee: paylog.total_fee,
      refundFee: refund.refund_fee,
      refundDesc: refund.reason ?? undefined,
      notifyUrl: input.notifyUrl,
    });
    const status = await recordRefundAccepted(knex, { outRefundNo: refund.out_refund_no, refundId: answer.refundId, refundFee: answer.refundFee, now: input.now() });
    return { kind: 'accepted', status, refundId: answer.refundId };
  } catch (err) {
    if (err instanceof WxBusinessError) {
      const final = !TRY_AGAIN_LATER.has(err.errCode);
      const message = `${err.errCode}: ${err.errCodeDes}`;
      await recordRefundFailed(knex, { outRefundNo: refund.out_refund_no, error: message.slice(0, 500), final, operator: input.operator, now: input.now() });
      return { kind: 'refused', errCode: err.errCode, message, final };
    }
    if (err instanceof WxPayError) {
      await recordRefundFailed(knex, { outRefundNo: refund.out_refund_no, error: err.message.slice(0, 500), final: false, operator: input.operator, now: input.now() });
      return { kind: 'unknown', message: err.message };
    }
    throw err;
  }
}

export type SettleRefundOutcome =
  /** the refund is SUCCESS now and its amount added to the paylog */
  | 'refunded'
  /** the same, and it was the last of the money: orders refunded */
  | 'fully_refunded'
  | 'closed'
  | 'changed'
  /** already in that state: nothing to do */
  | 'duplicate'
  /** already SUCCESS or REFUNDCLOSE and told otherwise: kept as it was, for an admin */
  | 'conflict'
  /** out_refund_no we never made */
  | 'unknown_refund'
  /** trade, amount, total or ids differ from our records: refused, nothing changed */
  | 'mismatch';

export interface RefundOutcomeInput {
  outRefundNo: string;
  outTradeNo: string;
  transactionId?: string | undefined;
  refundId: string;
  refundFee: number;
  /** the trade's total as WeChat knows it */
  totalFee: number;
  status: 'SUCCESS' | 'REFUNDCLOSE' | 'CHANGE';
  /** 'yyyy-MM-dd HH:mm:ss' Beijing time, as WeChat writes it */
  successTime?: string | undefined;
  operator: string;
  now: Date;
}

/** WeChat's 'yyyy-MM-dd HH:mm:ss' (Beijing) as an instant; undefined when it is not one. */
export function parseSuccessTime(text: string | undefined): Date | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  try {
    return parseBeijingTime(text.replace(/[- :]/g, ''));
  } catch {
    return undefined;
  }
}

const FINAL: readonly RefundStatus[] = ['SUCCESS', 'REFUNDCLOSE'];

/**
 * The outcome of a refund (refund notify, or refund query), checked against OUR row: the
 * out_refund_no is ours, for the same out_trade_no, the same refund_fee, the trade's total_fee (and
 * transaction_id / refund_id where we know them). One transaction, paylog locked first. Invariant:
 * a refund's amount is added to paylog.refunded_fee exactly once, when it first becomes SUCCESS;
 * paylog goes to REFUND; the orders paid by this attempt become `refunded` when refunded_fee
 * reaches total_fee. A duplicate is a no-op that says so; a SUCCESS or REFUNDCLOSE refund never
 * changes again.
 */
export async function settleRefund(knex: Knex, input: RefundOutcomeInput): Promise<SettleRefundOutcome> {
  const found = (await knex('refunds').where({ out_refund_no: input.outRefundNo }).first('out_trade_no')) as { out_trade_no: string } | undefined;
  if (!found) return 'unknown_refund';
  if (found.out_trade_no !== input.outTradeNo) return 'mismatch';
  return knex.transaction(async (trx) => {
    const paylog = await lockPaylog(trx, found.out_trade_no);
    const refund = await lockRefund(trx, input.outRefundNo);
    if (!paylog || !refund) return 'unknown_refund';
    if (
      refund.refund_fee !== input.refundFee ||
      paylog.total_fee !== input.totalFee ||
      (input.transactionId !== undefined && paylog.transaction_id !== null && input.transactionId !== paylog.transaction_id) ||
      (refund.refund_id !== null && refund.refund_id !== input.refundId)
    ) {
      return 'mismatch';
    }
    if (refund.status === input.status) return 'duplicate';
    if (FINAL.includes(refund.status)) return 'conflict';

    const yuan = fenToYuanString(refund.refund_fee);
    if (input.status !== 'SUCCESS') {
      await trx('refunds')
        .where({ out_refund_no: input.outRefundNo })
        .update({ status: input.status, refund_id: input.refundId, updated_at: input.now });
      await logOnOrders(trx, paylog.out_trade_no, input.operator, `refund ${input.outRefundNo} of ${yuan} yuan ${input.status === 'REFUNDCLOSE' ? 'closed by WeChat' : 'failed at the bank (CHANGE): handle it in the merchant platform'}`, input.now);
      return input.status === 'REFUNDCLOSE' ? 'closed' : 'changed';
    }

    const refundedFee = paylog.refunded_fee + refund.refund_fee;
    if (refundedFee > paylog.total_fee) return 'conflict';
    await trx('refunds')
      .where({ out_refund_no: input.outRefundNo })
      .update({ status: 'SUCCESS', refund_id: input.refundId, success_time: parseSuccessTime(input.successTime) ?? input.now, last_error: null, updated_at: input.now });
    await trx('paylog').where({ out_trade_no: paylog.out_trade_no }).update({ refunded_fee: refundedFee, trade_state: 'REFUND', updated_at: input.now });
    const full = refundedFee === paylog.total_fee;
    if (full) {
      // only the orders this attempt paid (a duplicate payment of the same orders leaves them paid)
      const orders = (await trx('orders').where({ out_trade_no: paylog.out_trade_no, status: 'paid' }).forUpdate().orderBy('id').select('id')) as { id: number }[];
      if (orders.length > 0) {
        await trx('orders')
          .whereIn(
            'id',
            orders.map((o) => o.id),
          )
          .update({ status: 'refunded', updated_at: input.now });
        await trx('order_log').insert(
          orders.map((o) => ({
            order_id: o.id,
            from_status: 'paid',
            to_status: 'refunded',
            operator: input.operator.slice(0, 64),
            remark: `refund ${input.outRefundNo} of ${yuan} yuan succeeded: the whole payment is back`,
            at: input.now,
          })),
        );
      }
    } else {
      await logOnOrders(trx, paylog.out_trade_no, input.operator, `refund ${input.outRefundNo} of ${yuan} yuan succeeded`, input.now);
    }
    await trx.raw('select pg_notify(?, ?)', [PAYLOG_CHANNEL, paylog.out_trade_no]);
    return full ? 'fully_refunded' : 'refunded';
  });
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
export async function syncRefund(knex: Knex, client: WxPayClient, input: { outRefundNo: string; operator: string; now: () => Date }): Promise<SyncRefundOutcome> {
  const refund = (await knex('refunds').where({ out_refund_no: input.outRefundNo }).first('*')) as RefundRow | undefined;
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
    const status = await recordRefundAccepted(knex, { outRefundNo: input.outRefundNo, refundId: item.refundId, refundFee: item.refundFee, now: input.now() });
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
    successTime: item.successTime,
    operator: input.operator,
    now: input.now(),
  });
  const after = (await knex('refunds').where({ out_refund_no: input.outRefundNo }).first('status')) as { status: RefundStatus };
  return { kind: 'settled', outcome, status: after.status };
}
