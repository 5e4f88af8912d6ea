import {
  BILL_COLUMNS,
  BILL_HEADER_ALL,
  BILL_HEADER_REFUND,
  BILL_HEADER_SUCCESS,
  BILL_TOTALS_COLUMNS,
  BILL_TOTALS_HEADER,
  WxResponseError,
  buildBill,
  fenToYuan,
  parseBill,
  yuanToFen,
} from '../../../src/wechatpay';

// The layout of a real ALL bill: a BOM, CRLF, back-ticked cells, empty cells, a JSON attach with
// commas, a REFUND row, a fee with 5 decimals, then the totals title row and totals row.
const REAL_ALL_BILL =
  '\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n' +
  '`2024-07-09 10:06:33,`wxd930ea5d5a258f4f,`10000100,`0,`,`4200002360202407091150650780,`PAY20240709000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`60.00,`0.00,`0,`0,`0.00,`0.00,`,`,`测试商品,`{"cart":42,"items":[1,2]},`0.36000,`0.60%,`60.00,`0.00,`\r\n' +
  '`2024-07-09 16:47:58,`wxd930ea5d5a258f4f,`10000100,`0,`,`4200002166202406250324636876,`PAY20240625000007,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50302709992024070991956632208,`RF20240709000001,`50.00,`0.00,`ORIGINAL,`SUCCESS,`测试商品,`,`-0.27000,`0.54%,`0.00,`50.00,`\r\n' +
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n' +
  '`2,`60.00,`50.00,`0.00,`0.09000,`60.00,`50.00\r\n';

describe('bill columns', () => {
  it('when WeChat sends an ALL bill, its 27 columns are the ones we name', () => {
    expect(BILL_HEADER_ALL).toHaveLength(27);
    expect(BILL_HEADER_ALL.join(',')).toBe(
      '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注',
    );
  });

  it('when WeChat sends a SUCCESS or REFUND bill, their headers are 20 and 29 columns', () => {
    expect(BILL_HEADER_SUCCESS).toHaveLength(20);
    expect(BILL_HEADER_REFUND).toHaveLength(29);
    expect(BILL_HEADER_REFUND).toContain(BILL_COLUMNS.refundSuccessTime);
    expect(BILL_HEADER_SUCCESS).not.toContain(BILL_COLUMNS.refundFee);
  });

  it('when a bill ends, its totals title row has the 7 documented columns', () => {
    expect(BILL_TOTALS_HEADER.join(',')).toBe('总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额');
  });
});

describe('parseBill', () => {
  it('when given a real-looking ALL bill, it keys every cell by the header without back-ticks', () => {
    const bill = parseBill(REAL_ALL_BILL);
    expect(bill.header).toEqual(BILL_HEADER_ALL);
    expect(bill.rows).toHaveLength(2);
    const [sale, refund] = bill.rows;
    expect(sale?.[BILL_COLUMNS.outTradeNo]).toBe('PAY20240709000001');
    expect(sale?.[BILL_COLUMNS.tradeState]).toBe('SUCCESS');
    expect(sale?.[BILL_COLUMNS.deviceInfo]).toBe('');
    expect(sale?.[BILL_COLUMNS.attach]).toBe('{"cart":42,"items":[1,2]}');
    expect(sale?.[BILL_COLUMNS.rateNote]).toBe('');
    expect(yuanToFen(sale?.[BILL_COLUMNS.totalFee] ?? '')).toBe(6000);
    expect(refund?.[BILL_COLUMNS.tradeState]).toBe('REFUND');
    expect(refund?.[BILL_COLUMNS.outRefundNo]).toBe('RF20240709000001');
    expect(yuanToFen(refund?.[BILL_COLUMNS.refundFee] ?? '')).toBe(5000);
    expect(refund?.[BILL_COLUMNS.serviceFee]).toBe('-0.27000');
    expect(bill.totalsHeader).toEqual(BILL_TOTALS_HEADER);
    expect(bill.totals[BILL_TOTALS_COLUMNS.tradeCount]).toBe('2');
    expect(yuanToFen(bill.totals[BILL_TOTALS_COLUMNS.refundFee] ?? '')).toBe(5000);
    for (const row of bill.rows) for (const cell of Object.values(row)) expect(cell.startsWith('`')).toBe(false);
  });

  it('when a day has no trades left in the bill, the rows are empty and the totals are read', () => {
    const bill = parseBill(`${BILL_HEADER_ALL.join(',')}\n${BILL_TOTALS_HEADER.join(',')}\n\`0,\`0.00,\`0.00,\`0.00,\`0.00000,\`0.00,\`0.00\n`);
    expect(bill.rows).toEqual([]);
    expect(bill.totals[BILL_TOTALS_COLUMNS.tradeCount]).toBe('0');
  });

  it.each([
    ['is empty', ''],
    ['has a row with too few cells', `a,b,c\n\`1,\`2\nt\n\`1\n`],
    ['has no totals rows', `a,b\n\`1,\`2\n`],
    ['has a totals row with too many cells', `a,b\n\`1,\`2\nt\n\`1,\`2\n`],
    ['starts with a data row', `\`1,\`2\nt\n\`1\n`],
    ['has text after the totals row', `a,b\n\`1,\`2\nt\n\`1\nmore\n`],
    ['has a repeated column', `a,a\n\`1,\`2\nt\n\`1\n`],
    ['has a totals row without back-ticks', `a,b\n\`1,\`2\nt\n1\n`],
  ])('when the text %s, it throws WxResponseError', (_name, text) => {
    expect(() => parseBill(text)).toThrow(WxResponseError);
  });
});

describe('buildBill', () => {
  it('when built and parsed again, the bill is the same, back-ticks and all', () => {
    const rows = [
      { [BILL_COLUMNS.tradeTime]: '2024-01-01 12:00:00', [BILL_COLUMNS.outTradeNo]: 'PAY1', [BILL_COLUMNS.totalFee]: '12.34', [BILL_COLUMNS.attach]: 'a,b`c' },
      { [BILL_COLUMNS.tradeTime]: '2024-01-01 12:01:00', [BILL_COLUMNS.outTradeNo]: 'PAY2', [BILL_COLUMNS.totalFee]: '0.01' },
    ];
    const totals = { [BILL_TOTALS_COLUMNS.tradeCount]: '2', [BILL_TOTALS_COLUMNS.totalFee]: '12.35' };
    const text = buildBill(BILL_HEADER_ALL, rows, BILL_TOTALS_HEADER, totals);
    expect(text.split('\r\n')[1]?.startsWith('`2024-01-01 12:00:00,`')).toBe(true);
    const bill = parseBill(text);
    expect(bill.header).toEqual(BILL_HEADER_ALL);
    expect(bill.rows).toHaveLength(2);
    expect(bill.rows[0]?.[BILL_COLUMNS.attach]).toBe('a,b`c');
    expect(bill.rows[1]?.[BILL_COLUMNS.totalFee]).toBe('0.01');
    expect(bill.rows[1]?.[BILL_COLUMNS.attach]).toBe('');
    expect(Object.keys(bill.rows[0] ?? {})).toEqual(BILL_HEADER_ALL);
    expect(bill.totals[BILL_TOTALS_COLUMNS.totalFee]).toBe('12.35');
    expect(bill.totals[BILL_TOTALS_COLUMNS.refundFee]).toBe('');
  });

  it('when the real bill is parsed and rebuilt, parsing it again gives the same bill', () => {
    const bill = parseBill(REAL_ALL_BILL);
    expect(parseBill(buildBill(bill.header, bill.rows, bill.totalsHeader, bill.totals))).toEqual(bill);
  });

  it.each([
    ['a line break', 'a\nb'],
    ['a comma followed by a back-tick', 'a,`b'],
  ])('when a cell holds %s, building throws (it would break the layout)', (_name, value) => {
    expect(() => buildBill(['a'], [{ a: value }], ['t'], { t: '1' })).toThrow(TypeError);
  });
});

describe('yuanToFen and fenToYuan', () => {
  it.each([
    ['12.34', 1234],
    ['0.01', 1],
    ['0.1', 10],
    ['0.0', 0],
    ['0.00', 0],
    ['5', 500],
    ['100.00', 10000],
    ['0.01000', 1],
    ['-0.27', -27],
    ['-0.00', 0],
    ['90071992547409.91', Number.MAX_SAFE_INTEGER],
  ])('when the bill says %s yuan, it is %i fen', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each(['0.005', '0.00600', '1.2.3', '', ' ', 'abc', '1e3', '¥1.00', '1,000.00', '.5', '90071992547409.92'])(
    'when the text is %j, it throws RangeError',
    (yuan) => {
      expect(() => yuanToFen(yuan)).toThrow(RangeError);
    },
  );

  it('when 0.1 + 0.2 would go wrong in floats, string arithmetic does not', () => {
    expect(yuanToFen('0.29')).toBe(29);
    expect(yuanToFen('1.15')).toBe(115);
    expect(yuanToFen('19.99')).toBe(1999);
  });

  it.each([
    [1, '0.01'],
    [10, '0.10'],
    [1234, '12.34'],
    [0, '0.00'],
    [-27, '-0.27'],
    [100000, '1000.00'],
  ])('when %i fen is written as yuan, it is %s and reads back', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it('when fen is not an integer, fenToYuan throws', () => {
    expect(() => fenToYuan(1.5)).toThrow(TypeError);
  });
});
