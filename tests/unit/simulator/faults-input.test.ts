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
