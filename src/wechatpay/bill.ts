import { WxResponseError } from './errors';

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

/** The totals title row, the same for every bill type. */
export const BILL_TOTALS_HEADER: readonly string[] = [
  T.tradeCount, T.settlementTotalFee, T.refundFee, T.couponRefundFee, T.serviceFee, T.totalFee, T.refundApplyFee,
];

export interface Bill {
  header: string[];
  rows: Record<string, string>[];
  totalsHeader: string[];
  totals: Record<string, string>;
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
