import { describeRemark, translateOperator, translateRemark } from '../../../src/admin/remarks';
import { translator } from '../../../src/i18n';

// the sentences src/pay, src/refunds, src/checkout and src/admin write into order_log
const WRITTEN = [
  'QR code expired unpaid, or its orders paid through another attempt (sweeper)',
  'orders paid through T202611250001',
  'closed by admin:boss',
  'new payment attempt T202611250002 replaces T202611250001',
  'WeChat Pay transaction 4200000001 via notify',
  'WeChat Pay transaction 4200000001 via query (paid after the trade was closed)',
  'refund R1 of 0.50 yuan requested',
  'refund R1 of 0.50 yuan requested: 少发一件',
  'refund R1 refused: NOTENOUGH',
  'refund R1 not accepted yet: SYSTEMERROR',
  'refund R1 of 0.50 yuan closed by WeChat',
  'refund R1 of 0.50 yuan failed at the bank (CHANGE): handle it in the merchant platform',
  'refund R1 of 0.50 yuan succeeded',
  'refund R1 of 12.00 yuan succeeded: the whole payment is back',
  'checkout, WeChat Pay T202611250001',
  'checkout, cash on delivery',
  'cash on delivery not accepted within 48 h: cancelled, stock returned',
  'cash on delivery: accepted for delivery',
  'cash on delivery: delivered and paid',
  'cash on delivery: cancelled, stock returned',
  'queried WeChat Pay: trade_state=NOTPAY',
  'queried WeChat Pay: trade_state=SUCCESS (duplicate)',
  'queried WeChat Pay: ORDERNOTEXIST',
  'queried WeChat Pay: failed: connect ECONNREFUSED',
  'asked to close the trade: too_early',
  'asked to close the trade: failed: SYSTEMERROR',
];

describe('order-log remarks in the admin\'s language', () => {
  test.each(WRITTEN)('%s is known and reads in both languages without a placeholder left', (remark) => {
    expect(describeRemark(remark)).toBeDefined();
    for (const locale of ['zh', 'en'] as const) {
      const text = translateRemark(remark, translator(locale));
      expect(text).not.toMatch(/\{\w+\}/);
      expect(text).not.toBe(remark);
    }
  });

  test('a remark in no known wording, and a word we have no key for, are shown as written', () => {
    const t = translator('zh');
    expect(translateRemark('hand-fixed after the outage', t)).toBe('hand-fixed after the outage');
    expect(translateRemark('queried WeChat Pay: trade_state=SOMETHING_NEW', t)).toBe('queried WeChat Pay: trade_state=SOMETHING_NEW');
    expect(translateRemark(null, t)).toBe('');
  });

  test('operators: system, a shopper session and an admin read as people; anything else as written', () => {
    const t = translator('en');
    expect(['system', 'shopper:s_1', 'admin:boss', 'ops-script'].map((o) => translateOperator(o, t))).toEqual(['System', 'Shopper (session s_1)', 'Admin boss', 'ops-script']);
  });
});
