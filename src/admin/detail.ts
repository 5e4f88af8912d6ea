import type { Knex } from 'knex';
import { NotFound } from '../errors';
import { OUT_TRADE_NO, ordersOfAttempt, refundsOfAttempt, type OrderWithItems, type Refund } from '../ledger';
import { selectRows, type PaylogRow } from './paylog';

/**
 * One payment as the admin judges it: the attempt, its orders with their items and refunds, the
 * order log grouped by event, every notify (verified apart from anyone's), and its refunds.
 * Read-only.
 */

export interface OrderLogRow {
  id: number;
  order_id: number;
  from_status: string | null;
  to_status: string;
  operator: string;
  /** the event and its parameters (src/ledger/events.ts); null on rows from before events */
  event: string | null;
  params: unknown;
  /** the English sentence of a row from before events */
  remark: string | null;
  at: Date;
}

export interface OrderLogEntry extends Omit<OrderLogRow, 'order_id'> {
  order_ids: number[];
}

/** Rows in (at, id) order; rows with the same moment, change, operator and event become one entry. */
export function groupOrderLog(rows: readonly OrderLogRow[]): OrderLogEntry[] {
  const entries: OrderLogEntry[] = [];
  const byEvent = new Map<string, OrderLogEntry>();
  for (const { order_id, ...row } of rows) {
    const event = JSON.stringify([row.at.getTime(), row.from_status, row.to_status, row.operator, row.event, row.params, row.remark]);
    const same = byEvent.get(event);
    if (same) {
      if (!same.order_ids.includes(order_id)) same.order_ids.push(order_id);
      continue;
    }
    const entry = { ...row, order_ids: [order_id] };
    byEvent.set(event, entry);
    entries.push(entry);
  }
  return entries;
}

export interface PaylogDetail {
  paylog: PaylogRow & {
    code_url: string | null;
    closed_at: Date | null;
    conflict_transaction_id: string | null;
    updated_at: Date;
    flag_resolved_at: Date | null;
    flag_resolved_by: string | null;
    flag_note: string | null;
  };
  orders: OrderWithItems[];
  /**
   * One line per event of the payment: services log a payment-level event (a refund, a query)
   * on each of its orders, so lines alike but for the order are one line naming all of them,
   * and a refund over two orders reads as its amount once.
   */
  orderLog: OrderLogEntry[];
  /** calls that proved themselves (signature, or a body that decrypts with our key) */
  notifies: { id: number; received_at: Date; kind: string; transaction_id: string | null; verdict: string; detail: string | null; raw_body: string }[];
  /** calls anyone could have made that name this trade: counted per source, shown apart */
  unverified: {
    id: number;
    received_at: Date;
    last_received_at: Date | null;
    repeats: number;
    source: string | null;
    kind: string;
    verdict: string;
    detail: string | null;
    raw_body: string;
  }[];
  refunds: Refund[];
}

/** Everything an admin needs to judge one payment attempt. */
export async function paylogDetail(knex: Knex, outTradeNo: string): Promise<PaylogDetail> {
  if (!OUT_TRADE_NO.test(outTradeNo)) throw new NotFound(`malformed out_trade_no`, 'admin.error.noPaylog');
  const paylog = (await selectRows(knex)
    .select('paylog.code_url', 'paylog.closed_at', 'paylog.conflict_transaction_id', 'paylog.updated_at', 'paylog.flag_resolved_at', 'paylog.flag_resolved_by', 'paylog.flag_note')
    .where('paylog.out_trade_no', outTradeNo)
    .first()) as PaylogDetail['paylog'] | undefined;
  if (!paylog) throw new NotFound(`no paylog ${outTradeNo}`, 'admin.error.noPaylog');
  const orders = await ordersOfAttempt(knex, outTradeNo);
  const orderLog =
    orders.length === 0
      ? []
      : ((await knex('order_log')
          .whereIn(
            'order_id',
            orders.map((o) => o.id),
          )
          .orderBy('at')
          .orderBy('id')
          .select('id', 'order_id', 'from_status', 'to_status', 'operator', 'event', 'params', 'remark', 'at')) as OrderLogRow[]);
  // the latest 200, oldest first (WeChat retries for a day: a trade may collect many)
  const notifies = (
    (await knex('notify_log')
      .where({ out_trade_no: outTradeNo, verified: true })
      .orderBy('received_at', 'desc')
      .orderBy('id', 'desc')
      .limit(200)
      .select('id', 'received_at', 'kind', 'transaction_id', 'verdict', 'detail', 'raw_body')) as PaylogDetail['notifies']
  ).reverse();
  const refunds = await refundsOfAttempt(knex, outTradeNo);
  const unverified = (await knex('notify_log')
    .where({ out_trade_no: outTradeNo, verified: false })
    .orderBy('id')
    .limit(50)
    .select('id', 'received_at', 'last_received_at', 'repeats', 'source', 'kind', 'verdict', 'detail', 'raw_body')) as PaylogDetail['unverified'];
  return { paylog, orders, orderLog: groupOrderLog(orderLog), notifies, unverified, refunds };
}
