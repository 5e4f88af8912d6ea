import { WxResponseError } from './errors';
import { parseBeijingTime } from './time';

export { fenToYuan, yuanToFen } from './amount';

/**
 * Column names of the downloadbill CSV, as WeChat writes them. Read columns by name, never by
 * position: WeChat has added columns over the years.
 */
export const BILL_COLUMNS = {
  tradeTime: '交易时间',
  appId: '公众账号ID',
  mchId: '商户号',
  subMchId: '特约商户号',
  deviceInfo: '设备号',
  transactionId: '微信订单号',
  outTradeNo: '商户订单号',
  openid: '用户标识',
  tradeType: '交易类型',
  tradeState: '交易状态',
  bankType: '付款银行',
  feeType: '货币种类',
  settlementTotalFee: '应结订单金额',
  couponFee: '代金券金额',
  refundApplyTime: '退款申请时间',
  refundSuccessTime: '退款成功时间',
  refundId: '微信退款单号',
  outRefundNo: '商户退款单号',
  refundFee: '退款金额',
  couponRefundFee: '充值券退款金额',
  refundType: '退款类型',
  refundStatus: '退款状态',
  body: '商品名称',
  attach: '商户数据包',
  /** Yuan with 5 decimals, fractions of a fen, negative on refunds: not for yuanToFen. */
  serviceFee: '手续费',
  rate: '费率',
  totalFee: '订单金额',
  refundApplyFee: '申请退款金额',
  rateNote: '费率备注',
} as const;

const C = BILL_COLUMNS;

/** Header of bill_type=ALL (27 columns). */
export const BILL_HEADER_ALL: readonly string[] = [
  C.tradeTime, C.appId, C.mchId, C.subMchId, C.deviceInfo, C.transactionId, C.outTradeNo, C.openid,
  C.tradeType, C.tradeState, C.bankType, C.feeType, C.settlementTotalFee, C.couponFee, C.refundId,
  C.outRefundNo, C.refundFee, C.couponRefundFee, C.refundType, C.refundStatus, C.body, C.attach,
  C.serviceFee, C.rate, C.totalFee, C.refundApplyFee, C.rateNote,
];

/** Header of bill_type=SUCCESS (20 columns: no refund columns). */
export const BILL_HEADER_SUCCESS: readonly string[] = [
  C.tradeTime, C.appId, C.mchId, C.subMchId, C.deviceInfo, C.transactionId, C.outTradeNo, C.openid,
  C.tradeType, C.tradeState, C.bankType, C.feeType, C.settlementTotalFee, C.couponFee, C.body, C.attach,
  C.serviceFee, C.rate, C.totalFee, C.rateNote,
];

/** Header of bill_type=REFUND (29 columns: ALL plus the refund's apply and success times). */
export const BILL_HEADER_REFUND: readonly string[] = [
  C.tradeTime, C.appId, C.mchId, C.subMchId, C.deviceInfo, C.transactionId, C.outTradeNo, C.openid,
  C.tradeType, C.tradeState, C.bankType, C.feeType, C.settlementTotalFee, C.couponFee, C.refundApplyTime,
  C.refundSuccessTime, C.refundId, C.outRefundNo, C.refundFee, C.couponRefundFee, C.refundType,
  C.refundStatus, C.body, C.attach, C.serviceFee, C.rate, C.totalFee, C.refundApplyFee, C.rateNote,
];

export const BILL_TOTALS_COLUMNS = {
  tradeCount: '总交易单数',
  settlementTotalFee: '应结订单总金额',
  refundFee: '退款总金额',
  couponRefundFee: '充值券退款总金额',
  serviceFee: '手续费总金额',
  totalFee: '订单总金额',
  refundApplyFee: '申请退款总金额',
} as const;

const T = BILL_TOTALS_COLUMNS;

/** The totals title row of bill_type ALL and REFUND (交易账单详细说明: 汇总数据表头). */
export const BILL_TOTALS_HEADER: readonly string[] = [
  T.tradeCount, T.settlementTotalFee, T.refundFee, T.couponRefundFee, T.serviceFee, T.totalFee, T.refundApplyFee,
];

/** The totals title row of bill_type SUCCESS: no refund columns. */
export const BILL_TOTALS_HEADER_SUCCESS: readonly string[] = [T.tradeCount, T.settlementTotalFee, T.serviceFee, T.totalFee];

/** The refund status a bill row carries while the refund had no outcome yet when the bill was made. */
export const BILL_REFUND_PROCESSING = 'PROCESSING';

export interface Bill {
  header: string[];
  rows: Record<string, string>[];
  totalsHeader: string[];
  totals: Record<string, string>;
}

// 下载交易账单: "微信在次日9点启动生成前一天的对账单，建议商户10点后再获取" and
// "对账单接口只能下载三个月以内的账单". Shared by the simulator (which serves bills so) and the
// shop (which asks for them so).
const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
/** Hours after the end of the bill's day (Beijing midnight) when the bill is made, and when it is served. */
export const BILL_MADE_AFTER_HOURS = 9;
export const BILL_SERVED_AFTER_HOURS = 10;
export const BILL_KEPT_MONTHS = 3;

/** When the bill of `billDate` (yyyyMMdd) is made and from when it is served. */
export function billTimes(billDate: string): { start: Date; end: Date; madeAt: Date; servedFrom: Date } {
  const start = parseBeijingTime(`${billDate}000000`);
  const end = new Date(start.getTime() + DAY_MS);
  return { start, end, madeAt: new Date(end.getTime() + BILL_MADE_AFTER_HOURS * HOUR_MS), servedFrom: new Date(end.getTime() + BILL_SERVED_AFTER_HOURS * HOUR_MS) };
}

/** The oldest bill date (yyyyMMdd) still served on Beijing date `today`: the same day three months back. */
export function oldestBillDate(today: string): string {
  const year = Number(today.slice(0, 4));
  const month = Number(today.slice(4, 6)) - BILL_KEPT_MONTHS;
  const day = Number(today.slice(6, 8));
  const first = new Date(Date.UTC(year, month - 1, 1));
  const lastDay = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  const d = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), Math.min(day, lastDay)));
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}


function badBill(message: string): WxResponseError {
  return new WxResponseError(`bill: ${message}`);
}

/**
 * A back-ticked line: every cell starts with '`' (so Excel keeps long numbers as text). Split on
 * ",`" rather than ",": a cell such as 商户数据包 may hold commas (JSON), never ",`".
 */
function backtickedCells(line: string, lineNo: number): string[] {
  if (!line.startsWith('`')) throw badBill(`line ${lineNo} does not start with a back-tick`);
  return line.slice(1).split(',`');
}

function keyed(names: readonly string[], cells: readonly string[], lineNo: number): Record<string, string> {
  if (cells.length !== names.length) {
    throw badBill(`line ${lineNo} has ${cells.length} cells for ${names.length} columns`);
  }
  const row: Record<string, string> = Object.create(null) as Record<string, string>;
  names.forEach((name, i) => {
    row[name] = cells[i] ?? '';
  });
  return row;
}

function checkHeader(names: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '' || name === '__proto__' || seen.has(name)) throw badBill(`${what} has a bad or repeated column ${JSON.stringify(name)}`);
    seen.add(name);
  }
}

/**
 * Parses downloadbill's CSV: a header row, back-ticked data rows, a totals title row and a
 * back-ticked totals row. Cells lose their back-tick and are keyed by the header's names.
 * Throws WxResponseError when the text does not have this layout.
 */
export function parseBill(text: string): Bill {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split(/\r?\n/).filter((line) => line.trim() !== '');
  const [headerLine, ...rest] = lines;
  if (headerLine === undefined) throw badBill('the text is empty');
  if (headerLine.startsWith('`')) throw badBill('the first line is not a header row');
  const header = headerLine.split(',');
  checkHeader(header, 'the header');
  const rows: Record<string, string>[] = [];
  let index = 0;
  for (; index < rest.length && (rest[index] as string).startsWith('`'); index++) {
    rows.push(keyed(header, backtickedCells(rest[index] as string, index + 2), index + 2));
  }
  const totalsHeaderLine = rest[index];
  const totalsLine = rest[index + 1];
  if (totalsHeaderLine === undefined || totalsLine === undefined) throw badBill('the totals rows are missing');
  if (index + 2 !== rest.length) throw badBill(`unexpected text after the totals row (line ${index + 4})`);
  const totalsHeader = totalsHeaderLine.split(',');
  checkHeader(totalsHeader, 'the totals title row');
  const totals = keyed(totalsHeader, backtickedCells(totalsLine, index + 3), index + 3);
  return { header, rows, totalsHeader, totals };
}

function backticked(names: readonly string[], row: Readonly<Record<string, string | undefined>>): string {
  return names
    .map((name) => {
      const value = row[name] ?? '';
      if (/[\r\n]|,`/.test(value)) throw new TypeError(`bill cell ${name} cannot hold a line break or ",\`"`);
      return `\`${value}`;
    })
    .join(',');
}

/** The CSV that parseBill reads, as WeChat lays it out (for the simulator). Missing cells are ''. */
export function buildBill(
  header: readonly string[],
  rows: readonly Readonly<Record<string, string | undefined>>[],
  totalsHeader: readonly string[],
  totals: Readonly<Record<string, string | undefined>>,
): string {
  for (const name of [...header, ...totalsHeader]) {
    if (/[,\r\n`]/.test(name) || name === '') throw new TypeError(`bad bill column name ${JSON.stringify(name)}`);
  }
  const lines = [header.join(','), ...rows.map((row) => backticked(header, row)), totalsHeader.join(','), backticked(totalsHeader, totals)];
  return `${lines.join('\r\n')}\r\n`;
}
