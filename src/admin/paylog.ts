import type { Knex } from 'knex';
import { DAY_MS, beijingDayStart } from '../beijing-time';
import { searchTerms, type Cursor, type PaylogFilter, type PaylogQuery } from './paylog-query';
import type { TradeState, TradeType } from '../ledger';

/**
 * The paylog table as admins read it: keyset pages on (create_time, out_trade_no) newest first (so
 * a payment made while someone pages never shifts the next page), totals of the filtered set, and
 * batches for the CSV export. Read-only: no state changes here. The query is paylog-query.ts's.
 */

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function applyFilter(knex: Knex, query: Knex.QueryBuilder, filter: PaylogFilter): Knex.QueryBuilder {
  if (filter.state) query.where('paylog.trade_state', filter.state);
  if (filter.tradeType) query.where('paylog.trade_type', filter.tradeType);
  if (filter.flag === 'any') query.whereNotNull('paylog.flag');
  else if (filter.flag === 'open') {
    query.where((w) =>
      w
        .where((p) => p.whereNotNull('paylog.flag').whereNull('paylog.flag_resolved_at'))
        .orWhereExists(knex('refunds').select(knex.raw('1')).whereRaw('refunds.out_trade_no = paylog.out_trade_no').whereNotNull('refunds.flag').whereNull('refunds.flag_resolved_at')),
    );
  }
  else if (filter.flag) query.where('paylog.flag', filter.flag);
  if (filter.from) query.where('paylog.create_time', '>=', beijingDayStart(filter.from) as Date);
  if (filter.to) query.where('paylog.create_time', '<', new Date((beijingDayStart(filter.to) as Date).getTime() + DAY_MS));
  for (const term of searchTerms(filter.q)) {
    if (term.exactOrder) {
      query.whereExists(knex('paylog_orders').select(knex.raw('1')).whereRaw('paylog_orders.out_trade_no = paylog.out_trade_no').andWhere('paylog_orders.order_id', term.orderId as number));
      continue;
    }
    const like = `%${escapeLike(term.text)}%`;
    // every term must match something of the payment: its numbers, an order id, the receiver, the goods
    query.where((w) => {
      w.where('paylog.out_trade_no', 'ilike', like).orWhere('paylog.transaction_id', 'ilike', like).orWhere('paylog.body', 'ilike', like);
      w.orWhereExists(
        knex('paylog_orders')
          .join('orders', 'orders.id', 'paylog_orders.order_id')
          .select(knex.raw('1'))
          .whereRaw('paylog_orders.out_trade_no = paylog.out_trade_no')
          .andWhere((o) => {
            o.where('orders.receiver_name', 'ilike', like);
            if (term.orderId !== undefined) o.orWhere('orders.id', term.orderId);
            if (term.mobile !== undefined) o.orWhere('orders.receiver_mobile', 'like', `%${term.mobile}%`);
          }),
      );
    });
  }
  return query;
}

export interface PaylogRow {
  out_trade_no: string;
  shopper_id: string;
  total_fee: number;
  refunded_fee: number;
  trade_type: TradeType;
  trade_state: TradeState;
  transaction_id: string | null;
  body: string | null;
  flag: string | null;
  create_time: Date;
  pay_time: Date | null;
  order_count: number;
  /** the receiver of the payment's first order */
  receiver_name: string | null;
  receiver_mobile: string | null;
  /** create_time in UTC to the microsecond: the keyset position of the row */
  cursor_time: string;
}

export function selectRows(knex: Knex): Knex.QueryBuilder {
  return knex('paylog').select(
    'paylog.out_trade_no',
    'paylog.shopper_id',
    'paylog.total_fee',
    'paylog.refunded_fee',
    'paylog.trade_type',
    'paylog.trade_state',
    'paylog.transaction_id',
    'paylog.body',
    'paylog.flag',
    'paylog.create_time',
    'paylog.pay_time',
    knex.raw('(SELECT count(*) FROM paylog_orders po WHERE po.out_trade_no = paylog.out_trade_no) AS order_count'),
    knex.raw('(SELECT o.receiver_name FROM paylog_orders po JOIN orders o ON o.id = po.order_id WHERE po.out_trade_no = paylog.out_trade_no ORDER BY o.id LIMIT 1) AS receiver_name'),
    knex.raw('(SELECT o.receiver_mobile FROM paylog_orders po JOIN orders o ON o.id = po.order_id WHERE po.out_trade_no = paylog.out_trade_no ORDER BY o.id LIMIT 1) AS receiver_mobile'),
    knex.raw(`to_char(paylog.create_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time`),
  );
}

export const cursorOf = (row: PaylogRow): Cursor => ({ time: row.cursor_time, outTradeNo: row.out_trade_no });

export interface PaylogPage {
  rows: PaylogRow[];
  /** where the next (older) page starts, if there is one */
  older: Cursor | undefined;
  /** where the previous (newer) page ends, if this is not the first page */
  newer: Cursor | undefined;
}

/** One page of the filtered table, newest first, positioned by keyset (never OFFSET). */
export async function paylogPage(knex: Knex, query: PaylogQuery): Promise<PaylogPage> {
  const q = applyFilter(knex, selectRows(knex), query.filter);
  if (query.before) {
    q.whereRaw('(paylog.create_time, paylog.out_trade_no) > (?::timestamptz, ?)', [query.before.time, query.before.outTradeNo])
      .orderBy('paylog.create_time', 'asc')
      .orderBy('paylog.out_trade_no', 'asc')
      .limit(query.size + 1);
    const found = (await q) as PaylogRow[];
    const hasNewer = found.length > query.size;
    const rows = found.slice(0, query.size).reverse();
    const first = rows[0];
    const last = rows[rows.length - 1];
    return { rows, newer: hasNewer && first ? cursorOf(first) : undefined, older: last ? cursorOf(last) : undefined };
  }
  if (query.after) q.whereRaw('(paylog.create_time, paylog.out_trade_no) < (?::timestamptz, ?)', [query.after.time, query.after.outTradeNo]);
  q.orderBy('paylog.create_time', 'desc').orderBy('paylog.out_trade_no', 'desc').limit(query.size + 1);
  const found = (await q) as PaylogRow[];
  const rows = found.slice(0, query.size);
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    rows,
    older: found.length > query.size && last ? cursorOf(last) : undefined,
    newer: query.after && first ? cursorOf(first) : undefined,
  };
}

export interface PaylogTotals {
  count: number;
  /** sum of total_fee of the paid (SUCCESS or REFUND) rows, fen */
  paidFen: number;
  refundedFen: number;
}

/** Count and paid sum of the whole filtered set (not just the page). */
export async function paylogTotals(knex: Knex, filter: PaylogFilter): Promise<PaylogTotals> {
  const q = applyFilter(knex, knex('paylog'), filter).select(
    knex.raw('count(*) AS count'),
    knex.raw("coalesce(sum(paylog.total_fee) FILTER (WHERE paylog.trade_state IN ('SUCCESS', 'REFUND')), 0)::bigint AS paid_fen"),
    knex.raw('coalesce(sum(paylog.refunded_fee), 0)::bigint AS refunded_fen'),
  );
  const [row] = (await q) as { count: number; paid_fen: number; refunded_fen: number }[];
  return { count: Number(row?.count ?? 0), paidFen: Number(row?.paid_fen ?? 0), refundedFen: Number(row?.refunded_fen ?? 0) };
}

/**
 * The filtered set, newest first, in batches read one at a time by keyset: memory stays bounded
 * by one batch however large the set (knex-pglite's .stream() would load everything at once).
 */
export async function* paylogBatches(knex: Knex, filter: PaylogFilter, batchSize = 1000): AsyncGenerator<PaylogRow[]> {
  let after: Cursor | undefined;
  for (;;) {
    const q = applyFilter(knex, selectRows(knex), filter);
    if (after) q.whereRaw('(paylog.create_time, paylog.out_trade_no) < (?::timestamptz, ?)', [after.time, after.outTradeNo]);
    const rows = (await q.orderBy('paylog.create_time', 'desc').orderBy('paylog.out_trade_no', 'desc').limit(batchSize)) as PaylogRow[];
    if (rows.length > 0) yield rows;
    const last = rows[rows.length - 1];
    if (rows.length < batchSize || !last) return;
    after = cursorOf(last);
  }
}
