import { beijingDayStart } from '../beijing-time';
import { Invalid } from '../errors';
import { OUT_TRADE_NO, PAYLOG_FLAGS, TRADE_STATES, TRADE_TYPES, type PaylogFlag, type TradeState, type TradeType } from '../ledger';

/**
 * The paylog table's query as admins write it (/admin/paylog and its CSV): every parameter checked,
 * an unknown or malformed one an Invalid naming it; keyset cursors; the search box's words.
 */

export { TRADE_STATES, TRADE_TYPES };
/** any flag; `open`: a flag (the payment's, or one of its refunds') no admin has marked handled; or one kind */
export const FLAG_FILTERS = ['any', 'open', ...PAYLOG_FLAGS] as const;
export type FlagFilter = 'any' | 'open' | PaylogFlag;

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

function bad(name: string): Invalid {
  return new Invalid(`bad query parameter ${name}`, 'admin.error.badParam', { name });
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
    if ([...text].length > 64 || !/^[\p{L}\p{N} _|*+().·（）#＃-]*$/u.test(text)) throw bad('q');
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

export interface SearchTerm {
  text: string;
  orderId?: number;
  /** `#9`, or a number too short to be part of anything else (1-3 digits): order 9 and nothing else */
  exactOrder?: boolean;
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
    const hashed = /^[#＃](\d{1,15})$/.exec(text);
    if (hashed || /^\d{1,3}$/.test(text)) return { text, orderId: Number(hashed ? hashed[1] : text), exactOrder: true };
    return {
      text,
      orderId: /^\d{1,15}$/.test(text) ? Number(text) : undefined,
      mobile: /^\d{4,11}$/.test(digits) ? digits : undefined,
    };
  });
}
