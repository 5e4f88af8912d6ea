import type { Knex } from 'knex';
import { Invalid, NotFound } from '../errors';
import { OUT_TRADE_NO, PAYLOG_FLAGS, TRADE_STATES, TRADE_TYPES, ordersOfAttempt, refundsOfAttempt, type OrderWithItems, type PaylogFlag, type Refund, type TradeState, type TradeType } from '../ledger';

/**
 * The paylog table as admins read it: validated filters, keyset pages on (create_time,
 * out_trade_no) newest first (so a payment made while someone pages never shifts the next page),
 * totals of the filtered set, and batches for the CSV export. Read-only: no state changes here.
 */

export { TRADE_STATES, TRADE_TYPES };
export const FLAG_FILTERS = ['any', ...PAYLOG_FLAGS] as const;
export type FlagFilter = 'any' | PaylogFlag;

export interface PaylogFilter {
  state?: TradeState;
  /** how it is paid: a QR code, H5 in a phone's browser, JSAPI in WeChat's */
  tradeType?: TradeType;
  flag?: FlagFilter;
  /** Beijing dates, yyyy-MM-dd, inclusive, on create_time */
  from?: string;
  to?: string;
  /** words, each matching part of an out_trade_no, transaction id, the goods, the receiver's name or mobile, or a whole order id */
  q?: string;
}

/** A position in the table: the (create_time, out_trade_no) of a row, time to the microsecond. */
export interface Cursor {
  time: string;
  outTradeNo: string;
}

export interface PaylogQuery {
  filter: PaylogFilter;
  /** rows older than this (the next page) */
  after?: Cursor;
  /** rows newer than this (the previous page) */
  before?: Cursor;
  size: number;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
const QUERY_PARAMS = new Set(['state', 'trade_type', 'flag', 'from', 'to', 'q', 'after', 'before', 'size', 'lang']);
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DAY_MS = 24 * 3600 * 1000;
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

function bad(name: string): Invalid {
  return new Invalid(`bad query parameter ${name}`, 'admin.error.badParam', { name });
}

/** A real Beijing calendar date 'yyyy-MM-dd' -> the instant its day starts; undefined otherwise. */
export function beijingDayStart(date: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = Date.UTC(y, mo - 1, d);
  const check = new Date(utc);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || y < 2000) return undefined;
  return new Date(utc - BEIJING_OFFSET_MS);
}

/** The Beijing calendar date of an instant, 'yyyy-MM-dd'. */
export function beijingDateOf(instant: Date): string {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.time}|${c.outTradeNo}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(text)) return undefined;
  const [time = '', outTradeNo = '', ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !CURSOR_TIME.test(time) || !OUT_TRADE_NO.test(outTradeNo) || Number.isNaN(Date.parse(time))) return undefined;
  return { time, outTradeNo };
}

/**
 * Checks every query parameter of /admin/paylog(.csv): an unknown, repeated or malformed one is an
 * Invalid naming it, never silently ignored (a typo would otherwise show the wrong money).
 */
export function parsePaylogQuery(query: Record<string, unknown>): PaylogQuery {
  const one = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw bad(name);
    return value.trim() === '' ? undefined : value.trim();
  };
  for (const name of Object.keys(query)) {
    if (!QUERY_PARAMS.has(name)) throw bad(name);
    one(name);
  }
  const filter: PaylogFilter = {};
  const state = one('state');
  if (state !== undefined) {
    if (!(TRADE_STATES as readonly string[]).includes(state)) throw bad('state');
    filter.state = state as TradeState;
  }
  const tradeType = one('trade_type');
  if (tradeType !== undefined) {
    if (!(TRADE_TYPES as readonly string[]).includes(tradeType)) throw bad('trade_type');
    filter.tradeType = tradeType as TradeType;
  }
  const flag = one('flag');
  if (flag !== undefined) {
    if (!(FLAG_FILTERS as readonly string[]).includes(flag)) throw bad('flag');
    filter.flag = flag as FlagFilter;
  }
  for (const name of ['from', 'to'] as const) {
    const date = one(name);
    if (date === undefined) continue;
    if (beijingDayStart(date) === undefined) throw bad(name);
    filter[name] = date;
  }
  if (filter.from && filter.to && filter.from > filter.to) throw new Invalid('from is after to', 'admin.error.badRange');
  const q = one('q');
  if (q !== undefined) {
    // payment and order numbers, Chinese names, mobile numbers as typed (+86, spaces, dashes):
    // letters of any script, digits, spaces and a few joiners; quotes, %, control characters are refused
    const text = q.trim().replace(/\s+/g, ' ');
    if ([...text].length > 64 || !/^[\p{L}\p{N} _|*+().·（）-]*$/u.test(text)) throw bad('q');
    if (text !== '') filter.q = text;
  }
  const result: PaylogQuery = { filter, size: DEFAULT_PAGE_SIZE };
  const sizeText = one('size');
  if (sizeText !== undefined) {
    const size = /^\d{1,4}$/.test(sizeText) ? Number(sizeText) : NaN;
    if (!(size >= 1 && size <= MAX_PAGE_SIZE)) throw bad('size');
    result.size = size;
  }
  const after = one('after');
  const before = one('before');
  if (after !== undefined && before !== undefined) throw bad('before');
  if (after !== undefined) {
    result.after = decodeCursor(after);
    if (!result.after) throw bad('after');
  }
  if (before !== undefined) {
    result.before = decodeCursor(before);
    if (!result.before) throw bad('before');
  }
  return result;
}

/** The query string of a filter (for links that keep it), plus extra parameters. */
export function filterQueryString(filter: PaylogFilter, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...filter, ...extra })) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

interface SearchTerm {
  text: string;
  orderId?: number;
  /** digits of a mobile number (at least 4), without +86, spaces or dashes */
  mobile?: string;
}

/**
 * The search box's words. A mobile number typed with spaces or dashes ("138 0013 8000",
 * "+86-138-0013-8000") is one term; otherwise each word is a term that must match.
 */
export function searchTerms(q: string | undefined): SearchTerm[] {
  if (!q) return [];
  const asMobile = q.replace(/[\s()（）-]/g, '').replace(/^(\+86|0086)/, '');
  const words = /^\d{4,11}$/.test(asMobile) && /[\s-]/.test(q) ? [asMobile] : q.split(' ').filter((w) => w !== '');
  return words.map((text) => {
    const digits = text.replace(/^(\+86|0086)/, '');
    return {
      text,
      orderId: /^\d{1,15}$/.test(text) ? Number(text) : undefined,
      mobile: /^\d{4,11}$/.test(digits) ? digits : undefined,
    };
  });
}

function applyFilter(knex: Knex, query: Knex.QueryBuilder, filter: PaylogFilter): Knex.QueryBuilder {
  if (filter.state) query.where('paylog.trade_state', filter.state);
  if (filter.tradeType) query.where('paylog.trade_type', filter.tradeType);
  if (filter.flag === 'any') query.whereNotNull('paylog.flag');
  else if (filter.flag) query.where('paylog.flag', filter.flag);
  if (filter.from) query.where('paylog.create_time', '>=', beijingDayStart(filter.from) as Date);
  if (filter.to) query.where('paylog.create_time', '<', new Date((beijingDayStart(filter.to) as Date).getTime() + DAY_MS));
  for (const term of searchTerms(filter.q)) {
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

function selectRows(knex: Knex): Knex.QueryBuilder {
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

export interface Dashboard {
  today: string;
  paidTodayCount: number;
  paidTodayFen: number;
  notpayCount: number;
  flaggedCount: number;
  refundsOpenCount: number;
}

/** Today's (Beijing day) paid count and sum, the trades still waiting, and those flagged for an admin. */
export async function dashboard(knex: Knex, now: Date): Promise<Dashboard> {
  const today = beijingDateOf(now);
  const start = beijingDayStart(today) as Date;
  const end = new Date(start.getTime() + DAY_MS);
  const [paid] = (await knex('paylog')
    .whereIn('trade_state', ['SUCCESS', 'REFUND'])
    .andWhere('pay_time', '>=', start)
    .andWhere('pay_time', '<', end)
    .select(knex.raw('count(*) AS count'), knex.raw('coalesce(sum(total_fee), 0)::bigint AS fen'))) as { count: number; fen: number }[];
  const [counts] = (await knex('paylog').select(
    knex.raw("count(*) FILTER (WHERE trade_state = 'NOTPAY') AS notpay"),
    knex.raw('count(*) FILTER (WHERE flag IS NOT NULL) AS flagged'),
  )) as { notpay: number; flagged: number }[];
  const [refunds] = (await knex('refunds').whereIn('status', ['PENDING', 'PROCESSING', 'CHANGE']).count({ open: '*' })) as { open: number | string }[];
  return {
    today,
    paidTodayCount: Number(paid?.count ?? 0),
    paidTodayFen: Number(paid?.fen ?? 0),
    notpayCount: Number(counts?.notpay ?? 0),
    flaggedCount: Number(counts?.flagged ?? 0),
    refundsOpenCount: Number(refunds?.open ?? 0),
  };
}

export interface OrderLogRow {
  id: number;
  order_id: number;
  from_status: string | null;
  to_status: string;
  operator: string;
  remark: string | null;
  at: Date;
}

export interface OrderLogEntry extends Omit<OrderLogRow, 'order_id'> {
  order_ids: number[];
}

/** Rows in (at, id) order; rows with the same moment, change, operator and remark become one entry. */
export function groupOrderLog(rows: readonly OrderLogRow[]): OrderLogEntry[] {
  const entries: OrderLogEntry[] = [];
  const byEvent = new Map<string, OrderLogEntry>();
  for (const { order_id, ...row } of rows) {
    const event = JSON.stringify([row.at.getTime(), row.from_status, row.to_status, row.operator, row.remark]);
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
  paylog: PaylogRow & { code_url: string | null; closed_at: Date | null; conflict_transaction_id: string | null; updated_at: Date };
  orders: OrderWithItems[];
  /**
   * One line per event of the payment: services log a payment-level event (a refund, a query)
   * on each of its orders, so lines alike but for the order are one line naming all of them,
   * and a refund over two orders reads as its amount once.
   */
  orderLog: OrderLogEntry[];
  /** calls that proved themselves (signature, or a req_info that decrypts with our key) */
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
    .select('paylog.code_url', 'paylog.closed_at', 'paylog.conflict_transaction_id', 'paylog.updated_at')
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
          .select('id', 'order_id', 'from_status', 'to_status', 'operator', 'remark', 'at')) as OrderLogRow[]);
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
