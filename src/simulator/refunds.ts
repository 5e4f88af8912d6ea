import type { Knex } from 'knex';
import { buildRefundNotify, parseXml, type Fields } from '../wechatpay';
import { business, ok, scaledMs, type ApiOutcome, type SimContext, type SimMerchant } from './context';
import { takeFault } from './faults';
import { formatBeijingDateTime, newRefundId } from './ids';
import { merchantRowOf, toMerchant } from './merchants';
import { lockTrade, type RefundRow, type TradeRow } from './model';
import { enqueueNotification } from './notifier';
import { v3RefundNotifyPayload } from './v3/shapes';
import type { RefundParams, RefundQueryParams } from './requests';

/**
 * The simulator's refunds (sim_refunds): refund (申请退款) accepts one, refundquery (查询退款) lists
 * them, and completeDueRefunds ends each when its time comes and queues its refund notify. Each
 * call's rules (what happens to the trade and the refund) come first, v2's answer fields after.
 */

export const MAX_REFUNDS_PER_TRADE = 50;
/** Refunds of one trade must be at least this far apart. */
export const REFUND_INTERVAL_MS = 60 * 1000;
/** A trade older than this cannot be refunded (TRADE_OVERDUE). */
export const REFUND_WINDOW_MS = 365 * 24 * 60 * 60 * 1000;
/** refundquery by trade lists at most this many refunds without an offset; with one, a page of 10. */
const REFUND_QUERY_MAX_UNPAGED = 20;
const REFUND_QUERY_PAGE = 10;

// ---------------------------------------------------------------------------------------------
// refund

function refundAnswer(trade: TradeRow, refund: RefundRow): ApiOutcome {
  return ok({
    transaction_id: trade.transaction_id ?? undefined,
    out_trade_no: trade.out_trade_no,
    out_refund_no: refund.out_refund_no,
    refund_id: refund.refund_id,
    refund_channel: '',
    refund_fee: refund.refund_fee,
    settlement_refund_fee: refund.refund_fee,
    total_fee: trade.total_fee,
    settlement_total_fee: trade.total_fee,
    fee_type: 'CNY',
    cash_fee: trade.cash_fee ?? trade.total_fee,
    cash_refund_fee: refund.refund_fee,
    coupon_refund_fee: 0,
    coupon_refund_count: 0,
  });
}

/**
 * How an accepted refund will end, and after how long: SUCCESS after the scaled refund delay, unless
 * a refund_change / refund_close fault plans another end or a refund_slow fault another delay.
 */
async function plannedEnd(trx: Knex.Transaction, ctx: SimContext, mchId: string, outTradeNo: string): Promise<{ outcome: RefundRow['outcome']; delayMs: number }> {
  const outcome = (await takeFault(trx, { mchId, kind: 'refund_change', outTradeNo }))
    ? 'CHANGE'
    : (await takeFault(trx, { mchId, kind: 'refund_close', outTradeNo }))
      ? 'REFUNDCLOSE'
      : 'SUCCESS';
  const slow = await takeFault(trx, { mchId, kind: 'refund_slow', outTradeNo });
  const delayMs = slow ? (slow.delaySeconds ?? 0) * 1000 : scaledMs(ctx.refundDelayMs, ctx.timeScale);
  return { outcome, delayMs };
}

/**
 * refund (/secapi/pay/refund): accepted refunds start PROCESSING and end after the scaled refund
 * delay (or a refund_slow fault's delay) as SUCCESS, or CHANGE / REFUNDCLOSE under a fault
 * (completeDueRefunds). Idempotent per out_refund_no: the same out_refund_no with the same amounts
 * answers the very same refund. Refusals: ORDERNOTEXIST; ERROR for a trade that is not paid;
 * INVALID_REQUEST for an out_refund_no reused with other amounts or another trade; PARAM_ERROR
 * when total_fee is not the trade's; TRADE_OVERDUE past a year; ERROR past 50 refunds;
 * FREQUENCY_LIMITED within a minute of the trade's previous refund; NOTENOUGH when the merchant's
 * balance is short (a fault: 申请退款 err_code NOTENOUGH "基本账户余额不足"); INVALID_REQUEST
 * "申请退款金额超过订单可退金额" beyond what is left to refund (what WeChat answers for it).
 */
export async function refund(ctx: SimContext, merchant: SimMerchant, p: RefundParams): Promise<ApiOutcome> {
  const now = ctx.clock();
  return ctx.knex.transaction(async (trx) => {
    const trade = await lockTrade(trx, merchant.mchId, p);
    if (!trade) return business('ORDERNOTEXIST', '订单不存在');
    const existing = (await trx('sim_refunds').where({ mch_id: merchant.mchId, out_refund_no: p.outRefundNo }).first()) as RefundRow | undefined;
    if (existing) {
      if (existing.trade_id !== trade.id) return business('INVALID_REQUEST', '同一个out_refund_no不能用于不同的订单');
      if (existing.refund_fee !== p.refundFee || existing.total_fee !== p.totalFee) {
        // WeChat's words for a reused out_refund_no with other amounts
        return business('INVALID_REQUEST', '订单金额或退款金额与之前请求不一致，请核实后再试');
      }
      return refundAnswer(trade, existing);
    }
    if (trade.trade_state === 'NOTPAY') return business('ERROR', '订单未支付');
    if (trade.trade_state === 'CLOSED') return business('ERROR', '订单已关闭');
    if (p.totalFee !== trade.total_fee) return business('PARAM_ERROR', '订单金额total_fee与原订单金额不一致');
    if (trade.time_end && now.getTime() - trade.time_end.getTime() > REFUND_WINDOW_MS) return business('TRADE_OVERDUE', '订单已经超过退款期限');
    const previous = (await trx('sim_refunds').where({ trade_id: trade.id }).orderBy('created_at', 'desc').orderBy('id', 'desc')) as RefundRow[];
    if (previous.length >= MAX_REFUNDS_PER_TRADE) return business('ERROR', `一笔订单最多支持${MAX_REFUNDS_PER_TRADE}次部分退款`);
    const latest = previous[0];
    if (latest && now.getTime() - latest.created_at.getTime() < REFUND_INTERVAL_MS) return business('FREQUENCY_LIMITED', '频率限制：同一笔订单的退款请间隔1分钟');
    // the merchant's balance is short (a fault): refused, nothing kept; the same refund may come again
    if (await takeFault(trx, { mchId: merchant.mchId, kind: 'refund_notenough', outTradeNo: trade.out_trade_no })) {
      return business('NOTENOUGH', '基本账户余额不足，请充值后重新发起');
    }
    // 申请退款: more than is left is INVALID_REQUEST; NOTENOUGH is the merchant's balance (a fault above)
    if (p.refundFee > trade.total_fee - trade.refunded_fee) return business('INVALID_REQUEST', '申请退款金额超过订单可退金额');
    const { outcome, delayMs } = await plannedEnd(trx, ctx, merchant.mchId, trade.out_trade_no);

    const [created] = (await trx('sim_refunds')
      .insert({
        mch_id: merchant.mchId,
        trade_id: trade.id,
        out_refund_no: p.outRefundNo,
        refund_id: newRefundId(now),
        total_fee: p.totalFee,
        refund_fee: p.refundFee,
        refund_desc: p.refundDesc ?? null,
        notify_url: p.notifyUrl ?? null,
        status: 'PROCESSING',
        outcome,
        refund_channel: 'ORIGINAL',
        refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
        refund_recv_accout: '支付用户的零钱',
        created_at: now,
        complete_at: new Date(now.getTime() + delayMs),
        updated_at: now,
      })
      .returning('*')) as RefundRow[];
    await trx('sim_trades')
      .where({ id: trade.id })
      .update({ refunded_fee: trade.refunded_fee + p.refundFee, updated_at: now });
    // made, but answered with a code the merchant cannot place (a fault): the refund goes on all the same
    if (await takeFault(trx, { mchId: merchant.mchId, kind: 'refund_unknown_error', outTradeNo: trade.out_trade_no })) {
      return business('SYSTEM_BUSY', '系统繁忙，退款结果请以查询为准');
    }
    return refundAnswer(trade, created as RefundRow);
  });
}

// ---------------------------------------------------------------------------------------------
// refundquery

function indexedRefund(n: number, r: RefundRow): Fields {
  return {
    [`out_refund_no_${n}`]: r.out_refund_no,
    [`refund_id_${n}`]: r.refund_id,
    [`refund_channel_${n}`]: r.refund_channel,
    [`refund_fee_${n}`]: r.refund_fee,
    [`settlement_refund_fee_${n}`]: r.refund_fee,
    [`refund_status_${n}`]: r.status,
    [`refund_account_${n}`]: r.refund_account,
    [`refund_recv_accout_${n}`]: r.refund_recv_accout,
    [`refund_success_time_${n}`]: r.success_time ? formatBeijingDateTime(r.success_time) : undefined,
  };
}

/** v2's answer: the trade's fields, then the refunds as `_$n` fields, indexed from 0. */
function refundQueryAnswer(trade: TradeRow, refunds: RefundRow[], totalRefundCount: number | undefined): ApiOutcome {
  const fields: Fields = {
    transaction_id: trade.transaction_id ?? undefined,
    out_trade_no: trade.out_trade_no,
    total_fee: trade.total_fee,
    settlement_total_fee: trade.total_fee,
    fee_type: 'CNY',
    cash_fee: trade.cash_fee ?? trade.total_fee,
    refund_count: refunds.length,
    total_refund_count: totalRefundCount,
  };
  refunds.forEach((r, n) => Object.assign(fields, indexedRefund(n, r)));
  return ok(fields);
}

/** refundquery: the refunds of one refund reference or one trade, indexed from 0. */
export async function refundQuery(ctx: SimContext, merchant: SimMerchant, p: RefundQueryParams): Promise<ApiOutcome> {
  const knex = ctx.knex;
  let trade: TradeRow | undefined;
  let refunds: RefundRow[];
  let totalRefundCount: number | undefined;
  if (p.by === 'refund_id' || p.by === 'out_refund_no') {
    const one = (await knex('sim_refunds').where({ mch_id: merchant.mchId, [p.by]: p.value }).first()) as RefundRow | undefined;
    if (!one) return business('REFUNDNOTEXIST', '退款订单查询失败');
    trade = (await knex('sim_trades').where({ id: one.trade_id }).first()) as TradeRow | undefined;
    refunds = [one];
  } else {
    trade = (await knex('sim_trades').where({ mch_id: merchant.mchId, [p.by]: p.value }).first()) as TradeRow | undefined;
    if (!trade) return business('REFUNDNOTEXIST', '退款订单查询失败');
    const all = (await knex('sim_refunds').where({ trade_id: trade.id }).orderBy('created_at').orderBy('id')) as RefundRow[];
    if (all.length === 0) return business('REFUNDNOTEXIST', '退款订单查询失败');
    if (p.offset !== undefined) {
      if (p.offset >= all.length) return business('REFUNDNOTEXIST', '退款订单查询失败');
      refunds = all.slice(p.offset, p.offset + REFUND_QUERY_PAGE);
      totalRefundCount = all.length;
    } else {
      if (all.length > REFUND_QUERY_MAX_UNPAGED) {
        return business('ERROR', `订单退款笔数超过${REFUND_QUERY_MAX_UNPAGED}笔，请使用offset分页查询或按退款单号查询`);
      }
      refunds = all;
    }
  }
  if (!trade) throw new Error('a refund without its trade');
  return refundQueryAnswer(trade, refunds, totalRefundCount);
}

// ---------------------------------------------------------------------------------------------
// The end of a refund, and its notify

/**
 * The next PROCESSING refund whose delay is over, ended as planned (its trade locked first): SUCCESS
 * makes the trade REFUND, REFUNDCLOSE gives its amount back to what is refundable, CHANGE keeps it
 * taken. Returns the refund as it is now and its trade as it was before; undefined when none is due.
 */
async function endDueRefund(trx: Knex.Transaction, now: Date): Promise<{ trade: TradeRow; refund: RefundRow } | undefined> {
  const due = (await trx('sim_refunds')
    .where({ status: 'PROCESSING' })
    .andWhere('complete_at', '<=', now)
    .orderBy('complete_at')
    .orderBy('id')
    .first()
    .forUpdate()
    .skipLocked()) as RefundRow | undefined;
  if (!due) return undefined;
  const trade = (await trx('sim_trades').where({ id: due.trade_id }).forUpdate().first()) as TradeRow;
  const outcome = due.outcome;
  const [refunded] = (await trx('sim_refunds')
    .where({ id: due.id })
    .update({ status: outcome, success_time: outcome === 'SUCCESS' ? now : null, updated_at: now })
    .returning('*')) as RefundRow[];
  if (outcome === 'SUCCESS') await trx('sim_trades').where({ id: trade.id }).update({ trade_state: 'REFUND', updated_at: now });
  if (outcome === 'REFUNDCLOSE') await trx('sim_trades').where({ id: trade.id }).update({ refunded_fee: trade.refunded_fee - due.refund_fee, updated_at: now });
  return { trade, refund: refunded as RefundRow };
}

/** v2's refund notify: the fields of req_info, encrypted by buildRefundNotify. */
function refundNotifyFields(trade: TradeRow, r: RefundRow, endedAt: Date): Fields {
  return {
    transaction_id: trade.transaction_id ?? undefined,
    out_trade_no: trade.out_trade_no,
    refund_id: r.refund_id,
    out_refund_no: r.out_refund_no,
    total_fee: trade.total_fee,
    settlement_total_fee: trade.total_fee,
    refund_fee: r.refund_fee,
    settlement_refund_fee: r.refund_fee,
    refund_status: r.status,
    success_time: r.status === 'SUCCESS' ? formatBeijingDateTime(endedAt) : undefined,
    refund_recv_accout: r.refund_recv_accout,
    refund_account: r.refund_account,
    refund_request_source: 'API',
  };
}

/**
 * Ends PROCESSING refunds whose delay is over as planned: SUCCESS (the trade becomes REFUND), CHANGE
 * (退款异常: the amount stays taken, the merchant handles it on the platform) or REFUNDCLOSE (退款关闭:
 * the amount is refundable again). Queues the encrypted refund notify to the refund's notify_url, or
 * else to the merchant's platform-configured one. One transaction per refund.
 */
export async function completeDueRefunds(ctx: SimContext, limit = 100): Promise<number> {
  let done = 0;
  for (; done < limit; done++) {
    const now = ctx.clock();
    const completed = await ctx.knex.transaction(async (trx) => {
      const ended = await endDueRefund(trx, now);
      if (!ended) return false;
      const { trade, refund: r } = ended;
      const merchantRow = await merchantRowOf(trx, r.mch_id);
      const notifyUrl = r.notify_url ?? merchantRow.refund_notify_url;
      if (notifyUrl) {
        // the notify in the API the trade was made on
        const payload =
          trade.api_version === 'v3'
            ? v3RefundNotifyPayload(trade, r, ctx.v3.refundAssociatedData)
            : { ...(await parseXml(buildRefundNotify(refundNotifyFields(trade, r, now), toMerchant(merchantRow, ctx.keys)))) };
        await enqueueNotification(trx, ctx, { kind: 'refund', mchId: r.mch_id, tradeId: trade.id, outTradeNo: trade.out_trade_no, refundId: r.id, url: notifyUrl, payload, apiVersion: trade.api_version });
      }
      return true;
    });
    if (!completed) break;
  }
  return done;
}
