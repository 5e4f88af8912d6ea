import type { Translate } from '../i18n';
import { isOrderEventCode, type OrderEventCode, type ShortLine } from '../ledger';
import { formatFen } from '../money';
import { courierText } from '../shipping/couriers-i18n';

/**
 * order_log as the admin reads it: each row's event (a code and its parameters, written by the
 * ledger) rendered through the dictionaries (`event.<code>`) in the admin's language. Nothing is
 * parsed: a row from before events keeps the English remark it was written with, shown as it is.
 */

export interface LoggedEvent {
  event: string | null;
  params: unknown;
  remark: string | null;
}

type Params = Record<string, unknown>;

/** The dictionary key of an event: a few events read differently with an optional parameter. */
function keyOf(code: OrderEventCode, params: Params): string {
  if (code === 'attempt_switched' && params.closeLater === true) return 'event.attempt_switched.later';
  if (code === 'refund_requested' && typeof params.reason === 'string' && params.reason !== '') return 'event.refund_requested.reason';
  if (code === 'query_answered' && typeof params.outcome === 'string') return 'event.query_answered.outcome';
  if (code === 'aftersale_requested' && params.approved === true) return 'event.aftersale_requested.approved';
  if (code === 'aftersale_rejected' && typeof params.note === 'string' && params.note !== '') return 'event.aftersale_rejected.note';
  return `event.${code}`;
}

/** A parameter as the reader reads it: amounts as money, codes in words, everything else as written. */
function valueOf(code: OrderEventCode, name: string, value: unknown, t: Translate, params: Params = {}): string | number {
  if (name === 'courier') return courierText(String(value), params.courierName, t);
  if (name === 'oldCourier') return courierText(String(value), params.oldCourierName, t);
  if (name === 'amountFen' && typeof value === 'number') return formatFen(value);
  if (name === 'source') return t(`event.source.${String(value)}`);
  if (name === 'tradeType' || name === 'oldTradeType') return t(`event.tradeType.${String(value)}`);
  if (name === 'kind' && code.startsWith('aftersale_')) return t(`aftersale.kind.${String(value)}`);
  if (name === 'fact') return t(`admin.fact.${String(value)}`);
  if (name === 'flag') return t(`admin.flag.${String(value)}`);
  if (name === 'outcome') return t(code === 'close_asked' ? `event.closeOutcome.${String(value)}` : `event.settled.${String(value)}`);
  if (name === 'lines' && Array.isArray(value)) return (value as ShortLine[]).map((line) => t('event.shortLine', { title: line.title, short: line.short })).join(t('event.listSeparator'));
  return typeof value === 'number' ? value : String(value);
}

function paramsOf(raw: unknown): Params {
  if (typeof raw === 'string') {
    try {
      return JSON.parse(raw) as Params;
    } catch {
      return {};
    }
  }
  return raw !== null && typeof raw === 'object' ? (raw as Params) : {};
}

/** A log row in the reader's language: its event rendered, or the old remark as it was written. */
export function describeLogged(row: LoggedEvent, t: Translate): string {
  if (!isOrderEventCode(row.event)) return row.remark ?? '';
  const code = row.event;
  const params = paramsOf(row.params);
  const shown: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(params)) shown[name === 'amountFen' ? 'amount' : name] = valueOf(code, name, value, t, params);
  return t(keyOf(code, params), shown);
}

/** `system`, `shopper:<session>` and `admin:<user>` as the admin reads them. */
export function translateOperator(operator: string, t: Translate): string {
  if (operator === 'system') return t('admin.operator.system');
  const shopper = /^shopper:(.*)$/.exec(operator);
  if (shopper) return t('admin.operator.shopper', { id: shopper[1] ?? '' });
  const admin = /^admin:(.*)$/.exec(operator);
  if (admin) return t('admin.operator.admin', { user: admin[1] ?? '' });
  return operator;
}
