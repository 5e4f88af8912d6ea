import { newOutRefundNo, OUT_REFUND_NO } from '../../../src/ledger';
import { parseBeijingForPeople as parseSuccessTime } from '../../../src/wechatpay';
import { refundNotifyUrl } from '../../../src/webhooks/routes';

describe('refund helpers', () => {
  test('out_refund_no: R + Beijing time + 12 random digits, within WeChat\'s rules, never twice', () => {
    const now = new Date('2026-11-25T02:03:04Z');
    const numbers = new Set(Array.from({ length: 1000 }, () => newOutRefundNo(now)));
    expect(numbers.size).toBe(1000);
    for (const no of numbers) {
      expect(no).toMatch(/^R20261125100304\d{12}$/);
      expect(OUT_REFUND_NO.test(no)).toBe(true);
    }
  });

  test("WeChat's success_time is Beijing time", () => {
    expect(parseSuccessTime('2026-11-25 10:00:00')?.toISOString()).toBe('2026-11-25T02:00:00.000Z');
    expect(parseSuccessTime('2026-02-30 10:00:00')).toBeUndefined();
    expect(parseSuccessTime('20261125100000')).toBeUndefined();
    expect(parseSuccessTime(undefined)).toBeUndefined();
  });

  test('the refund notify URL sits beside the payment notify URL', () => {
    expect(refundNotifyUrl('https://shop.example.com/wxpay/notify')).toBe('https://shop.example.com/wxpay/refund-notify');
    expect(refundNotifyUrl('http://127.0.0.1:3000/wxpay/notify')).toBe('http://127.0.0.1:3000/wxpay/refund-notify');
    expect(refundNotifyUrl('https://shop.example.com/prefix/wxpay/notify')).toBe('https://shop.example.com/prefix/wxpay/refund-notify');
    expect(refundNotifyUrl('https://shop.example.com/hooks/wechat')).toBe('https://shop.example.com/wxpay/refund-notify');
  });
});
