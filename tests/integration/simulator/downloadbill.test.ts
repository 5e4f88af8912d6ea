import zlib from 'node:zlib';
import {
  BILL_COLUMNS as C,
  BILL_HEADER_ALL,
  BILL_HEADER_REFUND,
  BILL_HEADER_SUCCESS,
  BILL_TOTALS_COLUMNS as T,
  BILL_TOTALS_HEADER,
  BILL_TOTALS_HEADER_SUCCESS,
  WxReturnError,
  parseBill,
  parseXml,
  yuanToFen,
  type Bill,
} from '../../../src/wechatpay';
import { serviceFeeFen } from '../../../src/simulator';
import { HMAC_MERCHANT, MD5_MERCHANT, manualClock, newOutTradeNo, orderArgs, startHarness, type Harness } from './harness';

const NOTIFY = 'http://127.0.0.1:9/wxpay/notify';
const MINUTE = 60_000;

/** 2026-11-24 23:58 Beijing: the evening before the harness's usual day. */
const EVENING = new Date('2026-11-24T15:58:00Z');
/** 2026-11-26 10:00 Beijing: the 25th's bill is served from now (下载交易账单: made at 9:00, fetch after 10:00). */
const NEXT_MORNING = new Date('2026-11-26T02:00:00Z');

const sumColumn = (bill: Bill, column: string) => bill.rows.reduce((sum, row) => sum + yuanToFen(row[column] ?? ''), 0);
/** the fee column has 5 decimals: whole fen with three zeros */
const feeFen = (text: string) => yuanToFen(text.replace(/000$/, ''));

describe('downloadbill: the day\'s CSV in WeChat\'s layout, read by the real client', () => {
  let h: Harness;
  const trades: { outTradeNo: string; fee: number; transactionId?: string }[] = [];

  beforeAll(async () => {
    h = await startHarness({ clock: manualClock(EVENING), refundDelayMs: 1000 });
    const client = h.client(MD5_MERCHANT, 'MD5');
    const pay = async (fee: number, body: string) => {
      const outTradeNo = newOutTradeNo('B');
      const order = await client.unifiedOrder(orderArgs(outTradeNo, NOTIFY, { totalFee: fee, body, attach: '{"cart":1,"x":2}' }));
      await h.pay(order.codeUrl);
      const row = await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first();
      trades.push({ outTradeNo, fee, transactionId: row.transaction_id });
    };
    // Nov 24, 23:58 and 23:59 Beijing: two payments that belong to the 24th
    await pay(1000, '前一天的订单');
    h.clock.advance(MINUTE);
    await pay(2000, '前一天的订单二');
    // Nov 25, 00:00:30 Beijing on: two payments, a refund of the 24th's first trade, one unpaid trade
    h.clock.advance(90_000);
    await pay(12345, '龙井, 250g');
    h.clock.advance(MINUTE);
    await pay(1, '一分钱');
    await client.unifiedOrder(orderArgs(newOutTradeNo('B'), NOTIFY, { totalFee: 999 }));
    await client.refund({ outTradeNo: trades[0]!.outTradeNo, outRefundNo: 'BR1', totalFee: 1000, refundFee: 400 });
    h.clock.advance(MINUTE);
    await h.sim.runDueWork();
    // a payment of another merchant that day must not show
    const other = await h.client(HMAC_MERCHANT, 'HMAC-SHA256').unifiedOrder(orderArgs(newOutTradeNo('H'), NOTIFY, { totalFee: 777 }));
    await h.pay(other.codeUrl);
    h.clock.set(NEXT_MORNING);
  });
  afterAll(async () => {
    await h.close();
  });

  const client = () => h.client(MD5_MERCHANT, 'MD5');

  test('the ALL bill of a past day lists that day\'s payments by Beijing date, with totals that add up', async () => {
    const bill = await client().downloadBill({ billDate: '20261124', billType: 'ALL' });
    expect(bill.header).toEqual([...BILL_HEADER_ALL]);
    expect(bill.rows.map((r) => r[C.outTradeNo])).toEqual([trades[0]!.outTradeNo, trades[1]!.outTradeNo]);
    const first = bill.rows[0]!;
    expect(first).toMatchObject({
      [C.tradeTime]: '2026-11-24 23:58:00',
      [C.appId]: MD5_MERCHANT.appId,
      [C.mchId]: MD5_MERCHANT.mchId,
      [C.transactionId]: trades[0]!.transactionId,
      [C.tradeType]: 'NATIVE',
      [C.tradeState]: 'SUCCESS',
      [C.feeType]: 'CNY',
      [C.totalFee]: '10.00',
      [C.settlementTotalFee]: '10.00',
      [C.body]: '前一天的订单',
      [C.attach]: '{"cart":1,"x":2}',
      [C.rate]: '0.60%',
      [C.serviceFee]: '0.06000',
    });
    expect(bill.totals).toMatchObject({ [T.tradeCount]: '2', [T.totalFee]: '30.00', [T.refundFee]: '0.00' });
    expect(sumColumn(bill, C.totalFee)).toBe(yuanToFen(bill.totals[T.totalFee]!));
  });

  // 下载交易账单: "微信在次日9点启动生成前一天的对账单，建议商户10点后再获取"; its error table: "Bill Creating" 账单未生成
  test('a day\'s bill does not exist before 10:00 Beijing the next day: "Bill Creating", for today and for yesterday', async () => {
    try {
      h.clock.set(new Date(NEXT_MORNING.getTime() - 1000));
      for (const billDate of ['20261125', '20261126']) {
        const err = await client().downloadBill({ billDate, billType: 'ALL' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WxReturnError);
        expect((err as WxReturnError).returnMsg).toBe('Bill Creating');
      }
    } finally {
      h.clock.set(NEXT_MORNING);
    }
    await expect(client().downloadBill({ billDate: '20261125', billType: 'ALL' })).resolves.toBeDefined();
  });

  test('the ALL bill of a day, served the next morning: payments and refunds of that day, and every total is the sum of its column', async () => {
    const bill = await client().downloadBill({ billDate: '20261125', billType: 'ALL' });
    expect(bill.rows.map((r) => [r[C.outTradeNo], r[C.tradeState]])).toEqual([
      [trades[2]!.outTradeNo, 'SUCCESS'],
      [trades[3]!.outTradeNo, 'SUCCESS'],
      [trades[0]!.outTradeNo, 'REFUND'],
    ]);
    const refund = bill.rows[2]!;
    // 交易账单详细说明, 交易时间: a refund row's is when the refund was accepted, not the payment's
    expect(refund[C.tradeTime]).toBe('2026-11-25 00:01:30');
    expect(refund).toMatchObject({ [C.outRefundNo]: 'BR1', [C.refundFee]: '4.00', [C.refundApplyFee]: '4.00', [C.refundStatus]: 'SUCCESS', [C.refundType]: 'ORIGINAL', [C.serviceFee]: '-0.02000' });
    expect(refund[C.refundId]).toMatch(/^50\d{27}$/);
    // the comma in a body survives: cells are split on ",`"
    expect(bill.rows[0]![C.body]).toBe('龙井, 250g');

    expect(bill.totals[T.tradeCount]).toBe(String(bill.rows.length));
    expect(yuanToFen(bill.totals[T.totalFee]!)).toBe(sumColumn(bill, C.totalFee));
    expect(yuanToFen(bill.totals[T.totalFee]!)).toBe(12345 + 1);
    expect(yuanToFen(bill.totals[T.settlementTotalFee]!)).toBe(sumColumn(bill, C.settlementTotalFee));
    expect(yuanToFen(bill.totals[T.refundFee]!)).toBe(sumColumn(bill, C.refundFee));
    expect(yuanToFen(bill.totals[T.refundFee]!)).toBe(400);
    expect(yuanToFen(bill.totals[T.refundApplyFee]!)).toBe(sumColumn(bill, C.refundApplyFee));
    const fees = bill.rows.map((r) => feeFen(r[C.serviceFee]!));
    expect(fees).toEqual([serviceFeeFen(12345), serviceFeeFen(1), -serviceFeeFen(400)]);
    expect(feeFen(bill.totals[T.serviceFee]!)).toBe(fees.reduce((a, b) => a + b, 0));
  });

  // 交易账单详细说明: each bill type has its own 汇总数据表头; SUCCESS has no refund totals
  test('bill_type SUCCESS has only payments, 20 columns and 4 totals; REFUND only refunds, 29 columns with apply and success times, 7 totals', async () => {
    const success = await client().downloadBill({ billDate: '20261125', billType: 'SUCCESS' });
    expect(success.header).toEqual([...BILL_HEADER_SUCCESS]);
    expect(success.totalsHeader).toEqual([...BILL_TOTALS_HEADER_SUCCESS]);
    expect(success.totals).toEqual({ [T.tradeCount]: '2', [T.settlementTotalFee]: '123.46', [T.serviceFee]: expect.any(String), [T.totalFee]: '123.46' });
    expect(success.rows.map((r) => r[C.tradeState])).toEqual(['SUCCESS', 'SUCCESS']);
    expect(success.totals[T.totalFee]).toBe('123.46');
    const refunds = await client().downloadBill({ billDate: '20261125', billType: 'REFUND' });
    expect(refunds.header).toEqual([...BILL_HEADER_REFUND]);
    expect(refunds.rows).toHaveLength(1);
    expect(refunds.rows[0]![C.refundApplyTime]).toBe('2026-11-25 00:01:30');
    expect(refunds.rows[0]![C.refundSuccessTime]).toBe('2026-11-25 00:02:30');
    expect(refunds.totalsHeader).toEqual([...BILL_TOTALS_HEADER]);
    expect(refunds.totals).toMatchObject({ [T.tradeCount]: '1', [T.refundFee]: '4.00', [T.totalFee]: '0.00' });
  });

  test('the bill is unsigned CSV sent as text/plain, every data cell after a back-tick', async () => {
    const res = await h.postRaw('/pay/downloadbill', h.signedXml(MD5_MERCHANT, 'MD5', { bill_date: '20261125', bill_type: 'ALL' }));
    expect(res.contentType).toMatch(/^text\/plain/);
    expect(res.text.startsWith('<')).toBe(false);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe(BILL_HEADER_ALL.join(','));
    for (const line of lines.slice(1, -2)) expect(line.split(',`').length).toBe(BILL_HEADER_ALL.length);
    expect(lines.at(-1)!.startsWith('`')).toBe(true);
    expect(parseBill(res.text).rows).toHaveLength(3);
  });

  test('tar_type=GZIP answers the same CSV gzipped', async () => {
    const plain = await h.postRaw('/pay/downloadbill', h.signedXml(MD5_MERCHANT, 'MD5', { bill_date: '20261125', bill_type: 'ALL' }));
    const res = await fetch(`${h.baseUrl}/pay/downloadbill`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml' },
      body: h.signedXml(MD5_MERCHANT, 'MD5', { bill_date: '20261125', bill_type: 'ALL', tar_type: 'GZIP' }),
    });
    const unzipped = zlib.gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
    expect(unzipped).toBe(plain.text);
  });

  test('a day without any trade is return_code=FAIL "No Bill Exist"', async () => {
    const err = await client().downloadBill({ billDate: '20261120', billType: 'ALL' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WxReturnError);
    expect((err as WxReturnError).returnMsg).toBe('No Bill Exist');
    expect((err as WxReturnError).fields.error_code).toBe('20002');
  });

  test('a date after today, or more than three months back, is "invalid bill_date"; a malformed date or bill_type is refused as well', async () => {
    const future = await client().downloadBill({ billDate: '20261127', billType: 'ALL' }).catch((e: unknown) => e);
    expect((future as WxReturnError).returnMsg).toBe('invalid bill_date');
    // 下载交易账单: "对账单接口只能下载三个月以内的账单" (today is 2026-11-26)
    const old = await client().downloadBill({ billDate: '20260825', billType: 'ALL' }).catch((e: unknown) => e);
    expect((old as WxReturnError).returnMsg).toBe('invalid bill_date');
    const oldest = await client().downloadBill({ billDate: '20260826', billType: 'ALL' }).catch((e: unknown) => e);
    expect((oldest as WxReturnError).returnMsg).toBe('No Bill Exist');
    for (const [fields, message] of [
      [{ bill_date: '2026-11-25', bill_type: 'ALL' }, 'invalid bill_date'],
      [{ bill_date: '20261131', bill_type: 'ALL' }, 'invalid bill_date'],
      [{ bill_date: '20261125', bill_type: 'EVERYTHING' }, 'invalid bill_type'],
      [{ bill_type: 'ALL' }, '缺少参数: bill_date'],
    ] as const) {
      const res = await h.postRaw('/pay/downloadbill', h.signedXml(MD5_MERCHANT, 'MD5', fields));
      expect(res.contentType).toMatch(/^text\/xml/);
      expect(await parseXml(res.text)).toEqual({ return_code: 'FAIL', return_msg: message });
    }
  });

  test('another merchant\'s bill holds only its own trades', async () => {
    const bill = await h.client(HMAC_MERCHANT, 'HMAC-SHA256').downloadBill({ billDate: '20261125', billType: 'ALL' });
    expect(bill.rows).toHaveLength(1);
    expect(bill.rows[0]![C.mchId]).toBe(HMAC_MERCHANT.mchId);
    expect(bill.totals[T.totalFee]).toBe('7.77');
  });
});
