import {
  BILL_COLUMNS as C,
  BILL_HEADER_ALL,
  BILL_HEADER_REFUND,
  BILL_HEADER_SUCCESS,
  BILL_TOTALS_COLUMNS as T,
  BILL_REFUND_PROCESSING,
  BILL_TOTALS_HEADER,
  BILL_TOTALS_HEADER_SUCCESS,
  billTimes,
  buildBill,
  fenToYuan,
  formatBeijingDate,
  oldestBillDate,
} from '../wechatpay';
import { returnFail, type ApiOutcome, type SimContext, type SimMerchant } from './context';
import { formatBeijingDateTime } from './ids';
import type { BillParams } from './requests';
import type { RefundRow, TradeRow } from './model';

/**
 * downloadbill (下载交易账单, and 交易账单详细说明 for the file's columns): a day's payments (by
 * time_end) and the refunds applied for that day (by the time they were accepted), Beijing dates,
 * in WeChat's CSV layout. As WeChat:
 * - the bill of day D is made at 09:00 Beijing on D+1 ("微信在次日9点启动生成前一天的对账单") and
 *   served from 10:00 ("建议商户10点后再获取"); before that the answer is return_msg "Bill Creating";
 * - a refund row carries the refund's status when the bill was made and never changes
 *   ("出账后退款状态不会更新"): a refund still in progress at 09:00 stays PROCESSING in the bill;
 * - a refund row's 交易时间 is when the refund was accepted (发起退款成功时间), not the payment's;
 * - only the last three months are served ("对账单接口只能下载三个月以内的账单"); older dates and
 *   dates after today are "invalid bill_date" (the docs name no message for the former);
 * - a day without any payment or refund is "No Bill Exist" with error_code 20002.
 */

/** The simulated fee rate: 0.6%, rounded half up to whole fen as WeChat settles it. */
export const FEE_RATE_PER_MILLE = 6;
export const FEE_RATE_TEXT = '0.60%';

export function serviceFeeFen(fen: number): number {
  return Math.floor((fen * FEE_RATE_PER_MILLE + 500) / 1000);
}

/** The bill writes the fee column with 5 decimals of yuan. */
export function feeText(fen: number): string {
  return `${fenToYuan(fen)}000`;
}

/** Bills put every cell after a back-tick and split on ",`": a cell may hold neither a line break nor a back-tick. */
function cell(value: string | null | undefined): string {
  return (value ?? '').replace(/[\r\n`]/g, ' ');
}

interface RefundWithTrade extends RefundRow {
  trade: TradeRow;
  /** the refund's status when the bill was made */
  billStatus: string;
}

/** A refund's status at `madeAt`: its outcome if it had one by then, else PROCESSING (frozen in the bill). */
function statusAt(r: RefundRow, madeAt: Date): string {
  if (r.status === 'PROCESSING') return BILL_REFUND_PROCESSING;
  const decidedAt = r.success_time ?? r.updated_at;
  return decidedAt.getTime() <= madeAt.getTime() ? r.status : BILL_REFUND_PROCESSING;
}

function paymentRow(t: TradeRow): Record<string, string> {
  return {
    [C.tradeTime]: formatBeijingDateTime(t.time_end as Date),
    [C.appId]: t.appid,
    [C.mchId]: t.mch_id,
    [C.subMchId]: '0',
    [C.deviceInfo]: cell(t.device_info),
    [C.transactionId]: cell(t.transaction_id),
    [C.outTradeNo]: t.out_trade_no,
    [C.openid]: cell(t.openid),
    [C.tradeType]: t.trade_type,
    [C.tradeState]: 'SUCCESS',
    [C.bankType]: cell(t.bank_type),
    [C.feeType]: 'CNY',
    [C.settlementTotalFee]: fenToYuan(t.total_fee),
    [C.couponFee]: '0.00',
    [C.refundApplyTime]: '',
    [C.refundSuccessTime]: '',
    [C.refundId]: '0',
    [C.outRefundNo]: '0',
    [C.refundFee]: '0.00',
    [C.couponRefundFee]: '0.00',
    [C.refundType]: '',
    [C.refundStatus]: '',
    [C.body]: cell(t.body),
    [C.attach]: cell(t.attach),
    [C.serviceFee]: feeText(serviceFeeFen(t.total_fee)),
    [C.rate]: FEE_RATE_TEXT,
    [C.totalFee]: fenToYuan(t.total_fee),
    [C.refundApplyFee]: '0.00',
    [C.rateNote]: '',
  };
}

function refundRow(r: RefundWithTrade): Record<string, string> {
  const t = r.trade;
  return {
    ...paymentRow(t),
    // 交易时间 of a refund row: when the refund was accepted (发起退款成功时间), not the payment
    [C.tradeTime]: formatBeijingDateTime(r.created_at),
    [C.tradeState]: 'REFUND',
    [C.settlementTotalFee]: '0.00',
    [C.refundApplyTime]: formatBeijingDateTime(r.created_at),
    [C.refundSuccessTime]: r.billStatus === 'SUCCESS' && r.success_time ? formatBeijingDateTime(r.success_time) : '',
    [C.refundId]: r.refund_id,
    [C.outRefundNo]: r.out_refund_no,
    [C.refundFee]: fenToYuan(r.refund_fee),
    [C.refundType]: r.refund_channel,
    [C.refundStatus]: r.billStatus,
    [C.serviceFee]: feeText(-serviceFeeFen(r.refund_fee)),
    [C.totalFee]: '0.00',
    [C.refundApplyFee]: fenToYuan(r.refund_fee),
  };
}

function totals(payments: readonly TradeRow[], refunds: readonly RefundWithTrade[]): Record<string, string> {
  const paid = payments.reduce((sum, t) => sum + t.total_fee, 0);
  const refunded = refunds.reduce((sum, r) => sum + r.refund_fee, 0);
  const fees = payments.reduce((sum, t) => sum + serviceFeeFen(t.total_fee), 0) - refunds.reduce((sum, r) => sum + serviceFeeFen(r.refund_fee), 0);
  return {
    [T.tradeCount]: String(payments.length + refunds.length),
    [T.settlementTotalFee]: fenToYuan(paid),
    [T.refundFee]: fenToYuan(refunded),
    [T.couponRefundFee]: '0.00',
    [T.serviceFee]: feeText(fees),
    [T.totalFee]: fenToYuan(paid),
    [T.refundApplyFee]: fenToYuan(refunded),
  };
}

export async function downloadBill(ctx: SimContext, merchant: SimMerchant, p: BillParams): Promise<ApiOutcome> {
  const now = ctx.clock();
  const today = formatBeijingDate(now);
  if (p.billDate > today || p.billDate < oldestBillDate(today)) return returnFail('invalid bill_date');
  const { start, end, madeAt, servedFrom } = billTimes(p.billDate);
  if (now.getTime() < servedFrom.getTime()) return returnFail('Bill Creating');
  const knex = ctx.knex;
  const payments = (await knex('sim_trades')
    .where({ mch_id: merchant.mchId })
    .whereIn('trade_state', ['SUCCESS', 'REFUND'])
    .andWhere('time_end', '>=', start)
    .andWhere('time_end', '<', end)
    .orderBy('time_end')
    .orderBy('id')) as TradeRow[];
  const refundRows = (await knex('sim_refunds')
    .where({ mch_id: merchant.mchId })
    .andWhere('created_at', '>=', start)
    .andWhere('created_at', '<', end)
    .orderBy('created_at')
    .orderBy('id')) as RefundRow[];
  if (payments.length === 0 && refundRows.length === 0) return returnFail('No Bill Exist', { error_code: '20002' });
  const tradeIds = [...new Set(refundRows.map((r) => r.trade_id))];
  const trades = new Map<number, TradeRow>();
  if (tradeIds.length > 0) for (const t of (await knex('sim_trades').whereIn('id', tradeIds)) as TradeRow[]) trades.set(t.id, t);
  const refunds: RefundWithTrade[] = refundRows.map((r) => ({ ...r, trade: trades.get(r.trade_id) as TradeRow, billStatus: statusAt(r, madeAt) }));

  const includePayments = p.billType !== 'REFUND' ? payments : [];
  const includeRefunds = p.billType !== 'SUCCESS' ? refunds : [];
  const header = p.billType === 'ALL' ? BILL_HEADER_ALL : p.billType === 'SUCCESS' ? BILL_HEADER_SUCCESS : BILL_HEADER_REFUND;
  const text = buildBill(
    header,
    [...includePayments.map(paymentRow), ...includeRefunds.map(refundRow)],
    p.billType === 'SUCCESS' ? BILL_TOTALS_HEADER_SUCCESS : BILL_TOTALS_HEADER,
    totals(includePayments, includeRefunds),
  );
  return { kind: 'bill', text, gzip: p.gzip };
}
