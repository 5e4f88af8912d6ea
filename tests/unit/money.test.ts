import { fenToYuanString, formatFen, yuanStringToFen } from '../../src/money';

describe('money (integer fen)', () => {
  test.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [10, '¥0.10'],
    [1234, '¥12.34'],
    [16800, '¥168.00'],
    [123456789, '¥1,234,567.89'],
    [-5, '-¥0.05'],
  ])('formatFen(%d) is %s', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  test('fenToYuanString has no float error at any cent', () => {
    for (let fen = 0; fen < 100_000; fen += 7) expect(yuanStringToFen(fenToYuanString(fen))).toBe(fen);
  });

  test('a non-integer amount is a programming error, not a rounding', () => {
    expect(() => formatFen(12.5)).toThrow(TypeError);
    expect(() => formatFen(Number.NaN)).toThrow(TypeError);
  });

  test.each([
    ['12.34', 1234],
    ['12.3', 1230],
    ['12', 1200],
    ['0.01', 1],
  ])('yuanStringToFen(%s) is %d', (text, fen) => {
    expect(yuanStringToFen(text)).toBe(fen);
  });

  test.each(['12.345', '-1', '1e3', 'abc', '', '1,000.00', '0x10'])('yuanStringToFen(%s) is refused', (text) => {
    expect(yuanStringToFen(text)).toBeUndefined();
  });
});
