import { readDownloadBill, readRefund, readRefundQuery, readUnifiedOrder, sameOrderParams } from '../../../src/simulator/requests';

const ORDER = {
  body: '茶',
  out_trade_no: 'ORDER0001',
  total_fee: '100',
  spbill_create_ip: '10.0.0.1',
  notify_url: 'https://shop.example/wxpay/notify',
  trade_type: 'NATIVE',
  product_id: 'P1',
};

describe('reading request fields as WeChat checks them', () => {
  test('a good unifiedorder is read into typed parameters, with fee_type defaulting to CNY in the compared set', () => {
    const parsed = readUnifiedOrder({ ...ORDER, time_expire: '20261125120000', nonce_str: 'n', sign: 's' });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({ totalFee: 100, outTradeNo: 'ORDER0001', productId: 'P1' });
    expect(parsed.value.timeExpire?.toISOString()).toBe('2026-11-25T04:00:00.000Z');
    expect(parsed.value.orderParams).toEqual({ body: '茶', total_fee: '100', trade_type: 'NATIVE', product_id: 'P1', time_expire: '20261125120000', fee_type: 'CNY' });
  });

  // 统一下单 (unifiedorder), field body String(128) and attach String(127): WeChat counts UTF-8 bytes;
  // its answer beyond them is return_msg "body参数长度有误" (its gateway: "字节数 144,大于最大值 127").
  test('body and attach are limited to 127 UTF-8 bytes, so 43 Chinese characters are too many', () => {
    expect(readUnifiedOrder({ ...ORDER, body: `${'茶'.repeat(42)}x` }).ok).toBe(true);
    expect(readUnifiedOrder({ ...ORDER, body: '茶'.repeat(43) })).toEqual({ ok: false, returnMsg: 'body参数长度有误' });
    expect(readUnifiedOrder({ ...ORDER, body: 'x'.repeat(128) })).toEqual({ ok: false, returnMsg: 'body参数长度有误' });
    expect(readUnifiedOrder({ ...ORDER, attach: 'x'.repeat(127) }).ok).toBe(true);
    expect(readUnifiedOrder({ ...ORDER, attach: '订'.repeat(43) })).toEqual({ ok: false, returnMsg: 'attach参数长度有误' });
  });

  test('time_expire not after time_start is invalid', () => {
    expect(readUnifiedOrder({ ...ORDER, time_start: '20261125120000', time_expire: '20261125120000' })).toEqual({ ok: false, returnMsg: 'invalid time_expire' });
  });

  test('a JSAPI order needs an openid', () => {
    expect(readUnifiedOrder({ ...ORDER, trade_type: 'JSAPI' })).toEqual({ ok: false, returnMsg: '缺少参数: openid' });
  });

  test('order parameters compare as sets: order of keys does not matter, an added or changed field does', () => {
    expect(sameOrderParams({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameOrderParams({ a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(sameOrderParams({ a: '1', b: '2' }, { a: '1', b: '3' })).toBe(false);
  });

  test('refund: transaction_id wins over out_trade_no; amounts must be positive integers', () => {
    const parsed = readRefund({ transaction_id: '4200', out_trade_no: 'ORDER0001', out_refund_no: 'R1', total_fee: '100', refund_fee: '50' });
    expect(parsed).toEqual({ ok: true, value: { transactionId: '4200', outRefundNo: 'R1', totalFee: 100, refundFee: 50, refundDesc: undefined, notifyUrl: undefined } });
    expect(readRefund({ out_trade_no: 'ORDER0001', out_refund_no: 'R1', total_fee: '100', refund_fee: '0' })).toEqual({ ok: false, returnMsg: 'invalid refund_fee' });
    expect(readRefund({ out_refund_no: 'R1', total_fee: '100', refund_fee: '5' })).toEqual({ ok: false, returnMsg: '缺少参数: out_trade_no' });
  });

  test('refundquery follows WeChat\'s priority refund_id > out_refund_no > transaction_id > out_trade_no', () => {
    expect(readRefundQuery({ out_trade_no: 'ORDER0001', refund_id: '5012' })).toEqual({ ok: true, value: { by: 'refund_id', value: '5012' } });
    expect(readRefundQuery({ out_trade_no: 'ORDER0001', out_refund_no: 'R1' })).toEqual({ ok: true, value: { by: 'out_refund_no', value: 'R1' } });
    expect(readRefundQuery({ out_trade_no: 'ORDER0001', offset: '10' })).toEqual({ ok: true, value: { by: 'out_trade_no', value: 'ORDER0001', offset: 10 } });
  });

  test('downloadbill: bill_type defaults to ALL; tar_type only GZIP', () => {
    expect(readDownloadBill({ bill_date: '20261125' })).toEqual({ ok: true, value: { billDate: '20261125', billType: 'ALL', gzip: false } });
    expect(readDownloadBill({ bill_date: '20261125', tar_type: 'ZIP' })).toEqual({ ok: false, returnMsg: 'invalid tar_type' });
  });
});
