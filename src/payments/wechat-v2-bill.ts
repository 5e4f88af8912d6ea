import { BILL_COLUMNS as C, BILL_REFUND_PROCESSING, yuanToFen, type Bill } from '../wechatpay';
import type { BillPayment, BillRefund, DayBill, ProviderRefundStatus } from './port';

/**
 * WeChat's trade bill, v2's CSV (served as it is by v2's downloadbill and by v3's tradebill download) read into
 * the port's day bill: payments and refunds, amounts in fen, states in the shop's words.
 */

/** The refund states a bill writes, besides PROCESSING (frozen before any outcome): the shop's own words. */
const BILL_REFUND_STATUSES: readonly ProviderRefundStatus[] = ['SUCCESS', 'REFUNDCLOSE', 'CHANGE'];

function fenOf(text: string | undefined): number | undefined {
  try {
    return text === undefined ? undefined : yuanToFen(text);
  } catch {
    return undefined;
  }
}

function isRefundRow(row: Record<string, string>): boolean {
  const no = row[C.outRefundNo];
  return row[C.tradeState] === 'REFUND' || (no !== undefined && no !== '' && no !== '0');
}

/** A bill's rows as the port's payments and refunds (a refund row is one with an out_refund_no, or in state REFUND). */
export function dayBillOf(bill: Bill): DayBill {
  const payments: BillPayment[] = [];
  const refunds: BillRefund[] = [];
  for (const row of bill.rows) {
    if (isRefundRow(row)) {
      const refundText = row[C.refundFee] ?? '';
      const status = row[C.refundStatus] ?? '';
      refunds.push({
        outTradeNo: row[C.outTradeNo] ?? '',
        outRefundNo: row[C.outRefundNo] ?? '',
        amountFen: fenOf(row[C.refundFee]),
        amountText: refundText,
        status: status === '' || status === BILL_REFUND_PROCESSING ? 'frozen' : (BILL_REFUND_STATUSES as readonly string[]).includes(status) ? (status as ProviderRefundStatus) : 'unrecognised',
        statusText: status,
      });
    } else {
      const amountText = row[C.totalFee] ?? row[C.settlementTotalFee] ?? '';
      const state = row[C.tradeState] ?? '';
      payments.push({ outTradeNo: row[C.outTradeNo] ?? '', transactionId: row[C.transactionId] ?? '', amountFen: fenOf(amountText === '' ? undefined : amountText), amountText, state, paid: state === 'SUCCESS' });
    }
  }
  return { kind: 'bill', payments, refunds };
}
