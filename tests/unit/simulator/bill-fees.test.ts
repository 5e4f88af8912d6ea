import { feeText, serviceFeeFen } from '../../../src/simulator/bill';

describe('the simulated 0.6% fee, in integer arithmetic', () => {
  test.each([
    [1, 0],
    [83, 0],
    [84, 1],
    [1000, 6],
    [12345, 74],
    [99_999_999, 600_000],
  ])('%i fen pays %i fen (rounded half up)', (fen, fee) => {
    expect(serviceFeeFen(fen)).toBe(fee);
  });

  test('the bill writes fees with 5 decimals, negative for refunds', () => {
    expect(feeText(6)).toBe('0.06000');
    expect(feeText(-2)).toBe('-0.02000');
    expect(feeText(0)).toBe('0.00000');
    expect(feeText(-0)).toBe('0.00000');
  });
});
