import type { Knex } from 'knex';
import { beijingDateOf, beijingDayStart } from '../beijing-time';
import { Invalid } from '../errors';
import { fenToYuanString } from '../money';
import { ProviderError, type BillRefund, type DayBill, type PaymentProvider } from '../payments';

/**
 * A day's reconciliation: the provider's bill of a Beijing day (WeChat's) against our paylog rows
 * paid that day and our refunds made that day. Every difference is listed, nothing is changed.
 * WeChat makes day D's bill at 09:00 Beijing on D+1 and serves it from about 10:00 ("Bill
 * Creating" before), keeps three months of bills, and writes each refund's status as it was when
 * the bill was made, never updating it: a refund still PROCESSING then is no difference from any
 * outcome we learned later.
 */

export type DifferenceKind = 'not_ours' | 'not_in_bill' | 'amount' | 'state' | 'ids';

export interface Difference {
  kind: DifferenceKind;
  entity: 'payment' | 'refund';
  outTradeNo: string;
  outRefundNo?: string;
  /** our value (fen as yuan text, a state, an id), when we have one */
  ours?: string;
  /** the bill's value, when it has one */
  bill?: string;
}

export type ReconcileResult =
  | {
      kind: 'compared';
      date: string;
      billPayments: number;
      billRefunds: number;
      ourPayments: number;
      ourRefunds: number;
      differences: Difference[];
    }
  /** WeChat has no bill for the day: every payment or refund we have that day is a difference */
  | { kind: 'no_bill'; date: string; ourPayments: number; ourRefunds: number; differences: Difference[] }
  /** the day is not over, or WeChat is still making its bill: ask again after readyAt */
  | { kind: 'not_ready'; date: string; readyAt: Date }
  | { kind: 'failed'; date: string; message: string };

const DAY_MS = 24 * 3600 * 1000;

interface OurPayment {
  out_trade_no: string;
  total_fee: number;
  trade_state: string;
  transaction_id: string | null;
}

interface OurRefund {
  out_refund_no: string;
  out_trade_no: string;
  refund_fee: number;
  status: string;
}

const yuan = fenToYuanString;

/** Checks a reconciliation date: a real 'yyyy-MM-dd' Beijing date, not after today, within the provider's three months. */
export function parseReconcileDate(provider: PaymentProvider, text: unknown, now: Date): string {
  if (typeof text !== 'string' || beijingDayStart(text) === undefined) throw new Invalid('bad date', 'admin.error.badParam', { name: 'date' });
  const today = beijingDateOf(now);
  if (text > today) throw new Invalid('date in the future', 'admin.reconcile.future');
  if (text < provider.oldestBillDate(today)) throw new Invalid('bill older than three months', 'admin.reconcile.tooOld');
  return text;
}

/** The bill's refund status against ours: a status frozen before any outcome matches every status of ours. */
export function refundStatusDiffers(billStatus: BillRefund['status'], ours: string): boolean {
  if (billStatus === 'frozen') return false;
  return billStatus !== ours;
}

async function inChunks<T>(keys: string[], load: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < keys.length; i += 1000) out.push(...(await load(keys.slice(i, i + 1000))));
  return out;
}

export async function reconcileDay(knex: Knex, provider: PaymentProvider, date: string, now: Date): Promise<ReconcileResult> {
  const start = beijingDayStart(date) as Date;
  const end = new Date(start.getTime() + DAY_MS);
  const readyAt = provider.billReadyAt(date);
  // the day is not over: there is no bill to ask for
  if (now.getTime() < end.getTime()) return { kind: 'not_ready', date, readyAt };
  const ourPayments = (await knex('paylog')
    .whereIn('trade_state', ['SUCCESS', 'REFUND'])
    .andWhere('pay_time', '>=', start)
    .andWhere('pay_time', '<', end)
    .orderBy('pay_time')
    .select('out_trade_no', 'total_fee', 'trade_state', 'transaction_id')) as OurPayment[];
  // refunds WeChat was told of (a refund it refused for good, or never heard of, has no refund_id)
  const ourRefunds = (await knex('refunds')
    .whereNotNull('refund_id')
    .andWhere('created_at', '>=', start)
    .andWhere('created_at', '<', end)
    .orderBy('created_at')
    .select('out_refund_no', 'out_trade_no', 'refund_fee', 'status')) as OurRefund[];

  let bill: DayBill;
  try {
    bill = await provider.bill(date);
  } catch (err) {
    if (err instanceof ProviderError) return { kind: 'failed', date, message: err.message };
    throw err;
  }
  // WeChat is still making the bill (live WeChat may be late past 10:00 too)
  if (bill.kind === 'not_yet') return { kind: 'not_ready', date, readyAt: now.getTime() < readyAt.getTime() ? readyAt : now };
  if (bill.kind === 'none') {
    const differences: Difference[] = [
      ...ourPayments.map((p): Difference => ({ kind: 'not_in_bill', entity: 'payment', outTradeNo: p.out_trade_no, ours: yuan(p.total_fee) })),
      ...ourRefunds.map((r): Difference => ({ kind: 'not_in_bill', entity: 'refund', outTradeNo: r.out_trade_no, outRefundNo: r.out_refund_no, ours: yuan(r.refund_fee) })),
    ];
    return { kind: 'no_bill', date, ourPayments: ourPayments.length, ourRefunds: ourRefunds.length, differences };
  }

  const billPayments = bill.payments;
  const billRefunds = bill.refunds;
  const differences: Difference[] = [];

  // payments: the bill's rows against ours (of any day: a row paid near midnight is still ours)
  const oursByNo = new Map(ourPayments.map((p) => [p.out_trade_no, p]));
  const missing = [...new Set(billPayments.map((r) => r.outTradeNo).filter((no) => no !== '' && !oursByNo.has(no)))];
  const elsewhere = await inChunks(missing, (chunk) => knex('paylog').whereIn('out_trade_no', chunk).select('out_trade_no', 'total_fee', 'trade_state', 'transaction_id') as Promise<OurPayment[]>);
  const anyDay = new Map([...ourPayments, ...elsewhere].map((p) => [p.out_trade_no, p]));
  const matched = new Set<string>();
  for (const row of billPayments) {
    const outTradeNo = row.outTradeNo;
    const billFen = row.amountFen;
    const billAmount = billFen === undefined ? row.amountText : yuan(billFen);
    const ours = anyDay.get(outTradeNo);
    if (!ours) {
      differences.push({ kind: 'not_ours', entity: 'payment', outTradeNo, bill: billAmount });
      continue;
    }
    matched.add(outTradeNo);
    const billState = row.state;
    if (ours.trade_state !== 'SUCCESS' && ours.trade_state !== 'REFUND') differences.push({ kind: 'state', entity: 'payment', outTradeNo, ours: ours.trade_state, bill: billState });
    else if (!row.paid) differences.push({ kind: 'state', entity: 'payment', outTradeNo, ours: ours.trade_state, bill: billState });
    if (billFen !== ours.total_fee) differences.push({ kind: 'amount', entity: 'payment', outTradeNo, ours: yuan(ours.total_fee), bill: billAmount });
    const billTransaction = row.transactionId;
    if ((ours.transaction_id ?? '') !== billTransaction) differences.push({ kind: 'ids', entity: 'payment', outTradeNo, ours: ours.transaction_id ?? '', bill: billTransaction });
  }
  for (const p of ourPayments) {
    if (!matched.has(p.out_trade_no)) differences.push({ kind: 'not_in_bill', entity: 'payment', outTradeNo: p.out_trade_no, ours: yuan(p.total_fee) });
  }

  // refunds: by out_refund_no
  const refundsByNo = new Map(ourRefunds.map((r) => [r.out_refund_no, r]));
  const missingRefunds = [...new Set(billRefunds.map((r) => r.outRefundNo).filter((no) => no !== '' && !refundsByNo.has(no)))];
  const otherRefunds = await inChunks(missingRefunds, (chunk) => knex('refunds').whereIn('out_refund_no', chunk).select('out_refund_no', 'out_trade_no', 'refund_fee', 'status') as Promise<OurRefund[]>);
  const refundsAnyDay = new Map([...ourRefunds, ...otherRefunds].map((r) => [r.out_refund_no, r]));
  const matchedRefunds = new Set<string>();
  for (const row of billRefunds) {
    const outRefundNo = row.outRefundNo;
    const outTradeNo = row.outTradeNo;
    const billFen = row.amountFen;
    const billAmount = billFen === undefined ? row.amountText : yuan(billFen);
    const ours = refundsAnyDay.get(outRefundNo);
    if (!ours) {
      differences.push({ kind: 'not_ours', entity: 'refund', outTradeNo, outRefundNo, bill: billAmount });
      continue;
    }
    matchedRefunds.add(outRefundNo);
    if (ours.out_trade_no !== outTradeNo) differences.push({ kind: 'ids', entity: 'refund', outTradeNo, outRefundNo, ours: ours.out_trade_no, bill: outTradeNo });
    if (billFen !== ours.refund_fee) differences.push({ kind: 'amount', entity: 'refund', outTradeNo, outRefundNo, ours: yuan(ours.refund_fee), bill: billAmount });
    if (refundStatusDiffers(row.status, ours.status)) differences.push({ kind: 'state', entity: 'refund', outTradeNo, outRefundNo, ours: ours.status, bill: row.statusText });
  }
  for (const r of ourRefunds) {
    if (!matchedRefunds.has(r.out_refund_no)) differences.push({ kind: 'not_in_bill', entity: 'refund', outTradeNo: r.out_trade_no, outRefundNo: r.out_refund_no, ours: yuan(r.refund_fee) });
  }

  return {
    kind: 'compared',
    date,
    billPayments: billPayments.length,
    billRefunds: billRefunds.length,
    ourPayments: ourPayments.length,
    ourRefunds: ourRefunds.length,
    differences,
  };
}
