import { codeTokenOf, codeUrlOf, formatBeijingDateTime, newCodeToken, newOpenid, newPrepayId, newRefundId, newTransactionId } from '../../../src/simulator/ids';

const NOW = new Date('2026-11-25T02:03:04Z'); // 10:03:04 in Beijing

describe('identifiers that look like WeChat\'s', () => {
  test('prepay_id is wx + Beijing yyyyMMddHHmmss + 20 characters', () => {
    expect(newPrepayId(NOW)).toMatch(/^wx20261125100304[0-9a-f]{20}$/);
  });

  test('transaction_id is 28 digits starting 4200 with the Beijing date inside', () => {
    const id = newTransactionId(NOW);
    expect(id).toMatch(/^4200\d{24}$/);
    expect(id.slice(10, 18)).toBe('20261125');
  });

  test('refund_id is 29 digits starting 50', () => {
    expect(newRefundId(NOW)).toMatch(/^50\d{27}$/);
  });

  test('openid is 28 characters starting with o', () => {
    expect(newOpenid()).toMatch(/^o[\w-]{27}$/);
  });

  test('a code_url is weixin://wxpay/bizpayurl?pr= and 7 letters or digits, and reads back to its token', () => {
    const token = newCodeToken();
    expect(token).toMatch(/^[0-9A-Za-z]{7}$/);
    expect(codeUrlOf(token)).toBe(`weixin://wxpay/bizpayurl?pr=${token}`);
    expect(codeTokenOf(codeUrlOf(token))).toBe(token);
  });

  test.each(['', 'weixin://wxpay/bizpayurl?pr=abc', 'weixin://wxpay/bizpayurl?pr=abcdefgh', 'http://x/?pr=abcdefg', 'weixin://wxpay/bizpayurl?pr=abc-efg'])(
    'codeTokenOf(%j) is undefined',
    (url) => {
      expect(codeTokenOf(url)).toBeUndefined();
    },
  );

  test('refund times are written yyyy-MM-dd HH:mm:ss in Beijing time', () => {
    expect(formatBeijingDateTime(NOW)).toBe('2026-11-25 10:03:04');
    expect(formatBeijingDateTime(new Date('2026-12-31T16:00:00Z'))).toBe('2027-01-01 00:00:00');
  });
});
