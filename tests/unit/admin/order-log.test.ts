import { describeLogged, translateOperator } from '../../../src/admin/order-log';
import { translator } from '../../../src/i18n';
import { ORDER_EVENT_CODES, orderEvent, type OrderEvent } from '../../../src/ledger';

/**
 * The order log is data (an event code and its parameters, src/ledger/events.ts), rendered in the
 * reader's language: every event the ledger writes has its sentence in both languages, amounts
 * read as money and codes as words, and an old row's remark is shown as it was written.
 */

const zh = translator('zh');
const en = translator('en');

/** One example of every event, with every parameter it can have. */
const EXAMPLES: Record<OrderEvent['event'], OrderEvent[]> = {
  checkout_wxpay: [orderEvent('checkout_wxpay', { outTradeNo: '202612071030001234567890' })],
  checkout_cod: [orderEvent('checkout_cod', {})],
  paid: [orderEvent('paid', { transactionId: '4200000000202612070000000001', source: 'notify' })],
  paid_late: [orderEvent('paid_late', { transactionId: '4200000000202612070000000001', source: 'sweeper' })],
  stock_short: [orderEvent('stock_short', { lines: [{ title: '明前龙井 250g', short: 2 }, { title: '茶杯', short: 1 }] })],
  closed_expired: [orderEvent('closed_expired', {})],
  closed_by_shopper: [orderEvent('closed_by_shopper', {})],
  cancel_requested: [orderEvent('cancel_requested', {})],
  aftersale_requested: [orderEvent('aftersale_requested', { id: 3, kind: 'cancel', amountFen: 1200, approved: true }), orderEvent('aftersale_requested', { id: 4, kind: 'cancel', amountFen: 1200, approved: false }), orderEvent('aftersale_requested', { id: 5, kind: 'return_refund', amountFen: 1200, approved: false })],
  aftersale_withdrawn: [orderEvent('aftersale_withdrawn', { id: 4 })],
  aftersale_approved: [orderEvent('aftersale_approved', { id: 4, amountFen: 1200 })],
  aftersale_rejected: [orderEvent('aftersale_rejected', { id: 4, note: '已发货' }), orderEvent('aftersale_rejected', { id: 5 })],
  closed_by_admin: [orderEvent('closed_by_admin', {})],
  closed_paid_elsewhere: [orderEvent('closed_paid_elsewhere', { outTradeNo: '202612071030001234567890' })],
  attempt_replaced: [orderEvent('attempt_replaced', { fresh: 'NEW', old: 'OLD' })],
  attempt_switched: [
    orderEvent('attempt_switched', { fresh: 'NEW', old: 'OLD', tradeType: 'NATIVE', oldTradeType: 'MWEB', closeLater: false }),
    orderEvent('attempt_switched', { fresh: 'NEW', old: 'OLD', tradeType: 'JSAPI', oldTradeType: 'NATIVE', closeLater: true }),
  ],
  refund_requested: [orderEvent('refund_requested', { outRefundNo: 'R1', amountFen: 16800 }), orderEvent('refund_requested', { outRefundNo: 'R1', amountFen: 16800, reason: '尺码不合适' })],
  refund_refused: [orderEvent('refund_refused', { outRefundNo: 'R1', error: 'the provider said no' })],
  refund_not_accepted: [orderEvent('refund_not_accepted', { outRefundNo: 'R1', error: 'no answer' })],
  refund_closed: [orderEvent('refund_closed', { outRefundNo: 'R1', amountFen: 100 })],
  refund_change: [orderEvent('refund_change', { outRefundNo: 'R1', amountFen: 100 })],
  refund_succeeded: [orderEvent('refund_succeeded', { outRefundNo: 'R1', amountFen: 100 })],
  refund_succeeded_all: [orderEvent('refund_succeeded_all', { outRefundNo: 'R1', amountFen: 100 })],
  refund_succeeded_after_close: [orderEvent('refund_succeeded_after_close', { outRefundNo: 'R1', amountFen: 100 })],
  paid_by_other_payment: [orderEvent('paid_by_other_payment', { from: 'A', to: 'B' })],
  cod_accepted: [orderEvent('cod_accepted', {})],
  cod_delivered_paid: [orderEvent('cod_delivered_paid', {})],
  cod_cancelled: [orderEvent('cod_cancelled', {})],
  cod_expired: [orderEvent('cod_expired', { hours: 48 })],
  query_answered: [orderEvent('query_answered', { fact: 'paying', state: 'USER_AT_IT' }), orderEvent('query_answered', { fact: 'paid', state: 'SUCCESS', outcome: 'amount_mismatch' })],
  query_not_found: [orderEvent('query_not_found', {})],
  query_failed: [orderEvent('query_failed', { error: 'timed out' })],
  close_asked: [orderEvent('close_asked', { outcome: 'too_early' })],
  close_failed: [orderEvent('close_failed', { error: 'timed out' })],
  flag_resolved: [orderEvent('flag_resolved', { flag: 'late_payment', note: 'restocked' })],
  refund_flag_resolved: [orderEvent('refund_flag_resolved', { outRefundNo: 'R1', note: 'checked' })],
  shipped: [orderEvent('shipped', { courier: 'sf', trackingNo: 'SF1234567890123' }), orderEvent('shipped', { courier: 'other', courierName: '同城闪送', trackingNo: 'TC123456' })],
  tracking_corrected: [
    orderEvent('tracking_corrected', { courier: 'zto', trackingNo: '773012345678', oldCourier: 'sf', oldTrackingNo: 'SF1234567890123' }),
    orderEvent('tracking_corrected', { courier: 'sf', trackingNo: 'SF1234567890123', oldCourier: 'other', oldCourierName: '同城闪送', oldTrackingNo: 'TC123456' }),
  ],
  completed: [orderEvent('completed', {})],
  completed_auto: [orderEvent('completed_auto', { days: 10 })],
};

const logged = (e: OrderEvent) => ({ event: e.event, params: JSON.parse(JSON.stringify(e.params)) as unknown, remark: null });

describe('the order log in the reader\'s language', () => {
  test('every event code has an example here', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual([...ORDER_EVENT_CODES].sort());
  });

  test.each(Object.values(EXAMPLES).flat().map((e) => [`${e.event} ${JSON.stringify(e.params)}`, e] as const))('%s reads whole in both languages', (_name, e) => {
    for (const t of [zh, en]) {
      const text = describeLogged(logged(e), t);
      // every placeholder filled: nothing like {amount} left, no code where a word belongs
      expect(text).not.toMatch(/\{\w+\}/);
      expect(text).not.toMatch(/amountFen|undefined|\[object/);
      expect(text.length).toBeGreaterThan(3);
    }
  });

  test('amounts read as money, codes as words, the refund reason and the later close only when there', () => {
    expect(describeLogged(logged(orderEvent('refund_requested', { outRefundNo: 'R1', amountFen: 16800 })), en)).toBe('Refund R1 of ¥168.00 requested');
    expect(describeLogged(logged(orderEvent('refund_requested', { outRefundNo: 'R1', amountFen: 16800, reason: 'too small' })), en)).toBe('Refund R1 of ¥168.00 requested: too small');
    expect(describeLogged(logged(orderEvent('paid', { transactionId: 'T9', source: 'notify' })), zh)).toBe('微信支付交易 T9（来自支付通知）');
    expect(describeLogged(logged(orderEvent('attempt_switched', { fresh: 'N', old: 'O', tradeType: 'NATIVE', oldTradeType: 'MWEB', closeLater: true })), en)).toBe(
      'Switched to the QR code: new payment attempt N replaces O (H5 payment), which is closed once WeChat allows',
    );
    expect(describeLogged(logged(orderEvent('stock_short', { lines: [{ title: 'Tea', short: 2 }, { title: 'Cup', short: 1 }] })), en)).toContain('Tea × 2, Cup × 1');
    // parameters as PGlite or node-postgres may hand them back: an object, or JSON text
    expect(describeLogged({ event: 'cod_expired', params: '{"hours":48}', remark: null }, en)).toBe('Cash on delivery not accepted within 48 h: cancelled, stock returned');
  });

  test('a parcel reads with its courier by name, "other" by the name the merchant typed', () => {
    expect(describeLogged(logged(orderEvent('shipped', { courier: 'sf', trackingNo: 'SF1234567890123' })), en)).toBe('Shipped by SF Express, tracking number SF1234567890123');
    expect(describeLogged(logged(orderEvent('shipped', { courier: 'other', courierName: '同城闪送', trackingNo: 'TC123456' })), zh)).toBe('已发货：同城闪送，运单号 TC123456');
    expect(describeLogged(logged(orderEvent('tracking_corrected', { courier: 'zto', trackingNo: '773012345678', oldCourier: 'sf', oldTrackingNo: 'SF1234567890123' })), en)).toBe(
      'Tracking corrected: ZTO Express 773012345678 (was SF Express SF1234567890123)',
    );
    expect(describeLogged(logged(orderEvent('completed_auto', { days: 10 })), en)).toBe('Completed automatically: no word from the shopper 10 days after shipment');
  });

  test('a row from before events keeps its remark, as written; an unknown code is not guessed at', () => {
    expect(describeLogged({ event: null, params: null, remark: 'WeChat Pay transaction 42 via notify' }, zh)).toBe('WeChat Pay transaction 42 via notify');
    expect(describeLogged({ event: 'from_the_future', params: {}, remark: null }, zh)).toBe('');
  });

  test('operators as people read them', () => {
    expect(translateOperator('system', en)).toBe('System');
    expect(translateOperator('admin:ops', en)).toBe('Admin ops');
    expect(translateOperator('shopper:s_1', zh)).toBe('顾客（会话 s_1）');
  });
});
