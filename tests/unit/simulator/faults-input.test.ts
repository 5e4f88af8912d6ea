import { FaultInputError, parseFaultInput } from '../../../src/simulator/faults';

describe('reading a fault request', () => {
  test('JSON numbers and form strings are both taken; count defaults to 1 and copies to 2', () => {
    expect(parseFaultInput({ mch_id: '1900000001', kind: 'notify_duplicate' })).toEqual({
      mchId: '1900000001',
      outTradeNo: undefined,
      kind: 'notify_duplicate',
      api: undefined,
      count: 1,
      delaySeconds: undefined,
      copies: 2,
    });
    expect(parseFaultInput({ mch_id: '1900000001', kind: 'notify_delay', delay_seconds: '30', count: 3 })).toMatchObject({ delaySeconds: 30, count: 3 });
  });

  test.each([
    [null, 'expected an object'],
    [{ kind: 'notify_drop' }, 'mch_id'],
    [{ mch_id: '1900000001' }, 'kind must be one of'],
    [{ mch_id: '1900000001', kind: 'notify_drop', out_trade_no: 'abc' }, 'out_trade_no'],
    [{ mch_id: '1900000001', kind: 'notify_drop', api: 'refund' }, 'api applies only'],
    [{ mch_id: '1900000001', kind: 'notify_drop', delay_seconds: 5 }, 'delay_seconds applies only'],
    [{ mch_id: '1900000001', kind: 'notify_drop', copies: 3 }, 'copies applies only'],
    [{ mch_id: '1900000001', kind: 'notify_duplicate', copies: 1 }, 'copies must be'],
    [{ mch_id: '1900000001', kind: 'notify_drop', count: '1.5' }, 'count must be'],
  ])('%j is refused (%s)', (input, message) => {
    expect(() => parseFaultInput(input)).toThrow(FaultInputError);
    expect(() => parseFaultInput(input)).toThrow(message);
  });
});

describe('reading the WeChat-state faults', () => {
  test('refund_slow needs delay_seconds; the other state faults take none', () => {
    expect(parseFaultInput({ mch_id: '1900000001', kind: 'refund_slow', delay_seconds: '600' })).toMatchObject({ kind: 'refund_slow', delaySeconds: 600 });
    expect(() => parseFaultInput({ mch_id: '1900000001', kind: 'refund_slow' })).toThrow('delay_seconds is required for refund_slow');
    for (const kind of ['orderquery_userpaying', 'orderquery_payerror', 'pay_after_expire', 'refund_change', 'refund_close', 'refund_notenough', 'notify_sign_type']) {
      expect(parseFaultInput({ mch_id: '1900000001', kind })).toMatchObject({ kind, count: 1 });
      expect(() => parseFaultInput({ mch_id: '1900000001', kind, delay_seconds: 5 })).toThrow('delay_seconds applies only');
    }
  });
});
