/**
 * order_log remarks are stored as the English sentences the services wrote (they are an audit
 * trail, never rewritten). The admin reads them in the admin's language: each known sentence is
 * matched here to a dictionary key and its parameters at render time; a sentence we do not know
 * (an older wording, a free-text reason) is shown as it was written.
 */

export interface Described {
  key: string;
  params: Record<string, string>;
}

type Rule = [RegExp, string, (m: RegExpExecArray) => Record<string, string>];

const none = () => ({});

/** What markPaid and closeTrade may answer, as the log writes them: each has a dictionary key. */
const QUERY_SETTLED = new Set(['paid', 'late_payment', 'double_payment', 'duplicate', 'conflict', 'amount_mismatch', 'unknown_trade']);
const CLOSE_OUTCOMES = new Set(['closed', 'already_closed', 'paid', 'too_early', 'paying', 'unknown_trade']);
const TRADE_STATES = new Set(['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR']);
const PAY_SOURCES = new Set(['notify', 'query', 'sweeper', 'admin', 'unifiedorder']);

const RULES: Rule[] = [
  [/^QR code expired unpaid, or its orders paid through another attempt \(sweeper\)$/, 'admin.remark.sweeperClosed', none],
  [/^orders paid through (\S+)$/, 'admin.remark.paidElsewhere', (m) => ({ outTradeNo: m[1] ?? '' })],
  [/^closed by admin:(.+)$/, 'admin.remark.closedBy', (m) => ({ user: m[1] ?? '' })],
  [/^new payment attempt (\S+) replaces (\S+)$/, 'admin.remark.newAttempt', (m) => ({ fresh: m[1] ?? '', old: m[2] ?? '' })],
  [/^WeChat Pay transaction (\S+) via (\w+) \(paid after the trade was closed\)$/, 'admin.remark.paidLate', (m) => ({ transactionId: m[1] ?? '', source: m[2] ?? '' })],
  [/^WeChat Pay transaction (\S+) via (\w+)$/, 'admin.remark.paid', (m) => ({ transactionId: m[1] ?? '', source: m[2] ?? '' })],
  [/^refund (\S+) of ([\d.]+) yuan requested: ([\s\S]+)$/, 'admin.remark.refundRequestedReason', (m) => ({ outRefundNo: m[1] ?? '', amount: m[2] ?? '', reason: m[3] ?? '' })],
  [/^refund (\S+) of ([\d.]+) yuan requested$/, 'admin.remark.refundRequested', (m) => ({ outRefundNo: m[1] ?? '', amount: m[2] ?? '' })],
  [/^refund (\S+) refused: ([\s\S]+)$/, 'admin.remark.refundRefused', (m) => ({ outRefundNo: m[1] ?? '', error: m[2] ?? '' })],
  [/^refund (\S+) not accepted yet: ([\s\S]+)$/, 'admin.remark.refundNotYet', (m) => ({ outRefundNo: m[1] ?? '', error: m[2] ?? '' })],
  [/^refund (\S+) of ([\d.]+) yuan closed by WeChat$/, 'admin.remark.refundClosed', (m) => ({ outRefundNo: m[1] ?? '', amount: m[2] ?? '' })],
  [/^refund (\S+) of ([\d.]+) yuan failed at the bank \(CHANGE\): handle it in the merchant platform$/, 'admin.remark.refundChange', (m) => ({ outRefundNo: m[1] ?? '', amount: m[2] ?? '' })],
  [/^refund (\S+) of ([\d.]+) yuan succeeded: the whole payment is back$/, 'admin.remark.refundSucceededAll', (m) => ({ outRefundNo: m[1] ?? '', amount: m[2] ?? '' })],
  [/^refund (\S+) of ([\d.]+) yuan succeeded$/, 'admin.remark.refundSucceeded', (m) => ({ outRefundNo: m[1] ?? '', amount: m[2] ?? '' })],
  [/^checkout, WeChat Pay (\S+)$/, 'admin.remark.checkoutWechat', (m) => ({ outTradeNo: m[1] ?? '' })],
  [/^checkout, cash on delivery$/, 'admin.remark.checkoutCod', none],
  [/^cash on delivery not accepted within (\d+) h: cancelled, stock returned$/, 'admin.remark.codExpired', (m) => ({ hours: m[1] ?? '' })],
  [/^cash on delivery: accepted for delivery$/, 'admin.remark.codAccepted', none],
  [/^cash on delivery: delivered and paid$/, 'admin.remark.codPaid', none],
  [/^cash on delivery: cancelled, stock returned$/, 'admin.remark.codCancelled', none],
  [/^queried WeChat Pay: ORDERNOTEXIST$/, 'admin.remark.queryNotAtWechat', none],
  [/^queried WeChat Pay: failed: ([\s\S]+)$/, 'admin.remark.queryFailed', (m) => ({ error: m[1] ?? '' })],
  [/^asked to close the trade: failed: ([\s\S]+)$/, 'admin.remark.closeFailed', (m) => ({ error: m[1] ?? '' })],
];

/**
 * A remark as a dictionary key and parameters, or undefined when the sentence is not one we wrote.
 * Parameters that are themselves words (a pay source, a trade state, an outcome) come back as keys
 * too, prefixed `key:`, for the caller to translate.
 */
export function describeRemark(remark: string): Described | undefined {
  for (const [pattern, key, params] of RULES) {
    const m = pattern.exec(remark);
    if (!m) continue;
    const found = params(m);
    if (found.source !== undefined) {
      if (!PAY_SOURCES.has(found.source)) return undefined;
      found.source = `key:admin.remark.source.${found.source}`;
    }
    return { key, params: found };
  }
  const query = /^queried WeChat Pay: trade_state=(\w+)(?: \((\w+)\))?$/.exec(remark);
  if (query) {
    const [, state = '', settled] = query;
    if (!TRADE_STATES.has(state) || (settled !== undefined && !QUERY_SETTLED.has(settled))) return undefined;
    const params: Record<string, string> = { state: `key:admin.remark.tradeState.${state}` };
    if (settled === undefined) return { key: 'admin.remark.queryAnswered', params };
    return { key: 'admin.remark.queryAnsweredSettled', params: { ...params, outcome: `key:admin.remark.settled.${settled}` } };
  }
  const close = /^asked to close the trade: (\w+)$/.exec(remark);
  if (close && CLOSE_OUTCOMES.has(close[1] ?? '')) return { key: 'admin.remark.closeAsked', params: { outcome: `key:admin.remark.closeOutcome.${close[1]}` } };
  return undefined;
}

type Translate = (key: string, params?: Record<string, string | number>) => string;

/** The remark in the admin's language; unknown text as it is. */
export function translateRemark(remark: string | null, t: Translate): string {
  if (!remark) return '';
  const described = describeRemark(remark);
  if (!described) return remark;
  const params = Object.fromEntries(Object.entries(described.params).map(([name, value]) => [name, value.startsWith('key:') ? t(value.slice(4)) : value]));
  return t(described.key, params);
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
