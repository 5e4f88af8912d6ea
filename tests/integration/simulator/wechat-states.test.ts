import { addFault } from '../../../src/simulator';
import { BILL_COLUMNS as C, billTimes, formatBeijingDate, parsePaymentNotify, parseRefundNotify, verifySignature } from '../../../src/wechatpay';
import { HMAC_MERCHANT, MD5_MERCHANT, businessError, newOutTradeNo, orderArgs, startHarness, startReceiver, type Harness, type Receiver } from './harness';

/**
 * WeChat's less friendly states, as faults of the simulator (src/simulator/faults.ts), each read
 * back through the real client over HTTP. Every test names the v2 page and field it follows.
 */

const MINUTE = 60_000;

describe('WeChat states a shop must survive, as simulator faults', () => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await startHarness({ refundDelayMs: 5000 });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  const client = () => h.client(MD5_MERCHANT, 'MD5');
  const fault = (outTradeNo: string, kind: string, extra: Record<string, unknown> = {}) =>
    addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, outTradeNo, kind, count: 1, ...extra } as Parameters<typeof addFault>[2]);

  async function paidTrade(totalFee = 10000) {
    const outTradeNo = newOutTradeNo('W');
    const order = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { totalFee }));
    expect((await h.pay(order.codeUrl)).status).toBe(200);
    await h.sim.runDueWork();
    return outTradeNo;
  }

  // 查询订单 (orderquery), trade_state: USERPAYING 用户支付中 and PAYERROR 支付失败
  test('orderquery answers USERPAYING, then PAYERROR, while such faults last, then NOTPAY again; the trade itself is unchanged', async () => {
    const outTradeNo = newOutTradeNo('W');
    await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    await fault(outTradeNo, 'orderquery_userpaying');
    await fault(outTradeNo, 'orderquery_payerror');
    expect(await client().orderQuery({ outTradeNo })).toMatchObject({ tradeState: 'USERPAYING', tradeStateDesc: expect.stringContaining('用户支付中') });
    expect(await client().orderQuery({ outTradeNo })).toMatchObject({ tradeState: 'PAYERROR', tradeStateDesc: expect.stringContaining('支付失败') });
    expect((await client().orderQuery({ outTradeNo })).tradeState).toBe('NOTPAY');
    expect((await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('NOTPAY');
  });

  test('a paid trade never answers USERPAYING: the fault waits for an unpaid one', async () => {
    const outTradeNo = await paidTrade();
    await fault(outTradeNo, 'orderquery_userpaying');
    expect((await client().orderQuery({ outTradeNo })).tradeState).toBe('SUCCESS');
  });

  // WeChat has been seen to take a payment after time_expire; 关闭订单 (closeorder) is best effort
  test('pay_after_expire: the phone pays a closed trade; orderquery says SUCCESS and the payment notify is sent', async () => {
    const outTradeNo = newOutTradeNo('W');
    const order = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { timeExpire: new Date(h.clock().getTime() + 10 * MINUTE) }));
    h.clock.advance(11 * MINUTE);
    await client().closeOrder({ outTradeNo });
    expect((await h.scan(order.codeUrl)).token).toBeUndefined();
    expect((await h.pay(order.codeUrl, { token: 'none' })).status).toBe(403);

    await fault(outTradeNo, 'pay_after_expire');
    const page = await h.scan(order.codeUrl);
    expect(page.token).toBeDefined();
    const seen = receiver.requests.length;
    expect((await h.pay(order.codeUrl, { token: page.token })).status).toBe(200);
    const answer = await client().orderQuery({ outTradeNo });
    expect(answer.tradeState).toBe('SUCCESS');
    await h.sim.runDueWork();
    const notice = await parsePaymentNotify(receiver.requests[seen]!.body, MD5_MERCHANT);
    expect(notice).toMatchObject({ outTradeNo, transactionId: answer.transactionId });
    // used up: another code of the same trade is not payable again
    expect((await h.scan(order.codeUrl)).html).toContain('无需重复付款');
  });

  // 支付结果通知 (payment notify): sign_type is an optional field, signed like the others
  test('notify_sign_type: the payment notify carries sign_type=HMAC-SHA256 and verifies with it', async () => {
    const outTradeNo = newOutTradeNo('W');
    await addFault(h.knex, h.clock(), { mchId: HMAC_MERCHANT.mchId, outTradeNo, kind: 'notify_sign_type', count: 1 });
    const order = await h.client(HMAC_MERCHANT, 'HMAC-SHA256').unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const seen = receiver.requests.length;
    await h.pay(order.codeUrl);
    await h.sim.runDueWork();
    const body = receiver.requests[seen]!.body;
    expect(body).toContain('<sign_type><![CDATA[HMAC-SHA256]]></sign_type>');
    const notice = await parsePaymentNotify(body, { appId: HMAC_MERCHANT.appId, mchId: HMAC_MERCHANT.mchId, apiKey: HMAC_MERCHANT.apiKey, signType: 'MD5' });
    expect(notice.fields.sign).toHaveLength(64);
    expect(verifySignature({ ...notice.fields }, HMAC_MERCHANT.apiKey, 'HMAC-SHA256')).toBe(true);
  });

  // 申请退款 (refund), err_code NOTENOUGH: "余额不足" (the merchant's balance), retry later
  test('refund_notenough: the refund is refused NOTENOUGH and nothing is kept; the same refund then goes through', async () => {
    const outTradeNo = await paidTrade();
    await fault(outTradeNo, 'refund_notenough');
    const args = { outTradeNo, outRefundNo: `RN${outTradeNo}`, totalFee: 10000, refundFee: 100 };
    const err = await businessError(client().refund(args));
    expect(err.errCode).toBe('NOTENOUGH');
    expect(err.errCodeDes).toContain('余额不足');
    expect(await h.knex('sim_refunds').where({ out_refund_no: args.outRefundNo })).toHaveLength(0);
    await expect(client().refund(args)).resolves.toMatchObject({ refundFee: 100 });
  });

  // 查询退款 refund_status_$n and 退款结果通知 refund_status: CHANGE 退款异常, REFUNDCLOSE 退款关闭
  test.each([
    ['refund_change', 'CHANGE', 9000],
    ['refund_close', 'REFUNDCLOSE', 10000],
  ])('%s: the refund ends %s; refundquery and the refund notify say so, with no success time', async (kind, status, refundableAfter) => {
    const outTradeNo = await paidTrade();
    await fault(outTradeNo, kind);
    const outRefundNo = `RC${outTradeNo}`;
    await client().refund({ outTradeNo, outRefundNo, totalFee: 10000, refundFee: 1000, notifyUrl: receiver.url });
    expect((await client().refundQuery({ outRefundNo })).refunds[0]!.refundStatus).toBe('PROCESSING');
    const seen = receiver.requests.length;
    h.clock.advance(5000);
    await h.sim.runDueWork();
    const item = (await client().refundQuery({ outRefundNo })).refunds[0]!;
    expect(item).toMatchObject({ refundStatus: status, successTime: undefined });
    const notice = await parseRefundNotify(receiver.requests[seen]!.body, MD5_MERCHANT);
    expect(notice).toMatchObject({ outRefundNo, refundStatus: status, successTime: undefined });
    const trade = await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first();
    // REFUNDCLOSE gives the amount back to refund; CHANGE keeps it taken (the merchant handles it on the platform)
    expect(10000 - trade.refunded_fee).toBe(refundableAfter);
    expect(trade.trade_state).toBe('SUCCESS');
  });

  test('refund_slow: the refund stays PROCESSING for delay_seconds, then succeeds', async () => {
    const outTradeNo = await paidTrade();
    await fault(outTradeNo, 'refund_slow', { delaySeconds: 3600 });
    const outRefundNo = `RS${outTradeNo}`;
    await client().refund({ outTradeNo, outRefundNo, totalFee: 10000, refundFee: 1000 });
    h.clock.advance(3600 * 1000 - 1);
    await h.sim.runDueWork();
    expect((await client().refundQuery({ outRefundNo })).refunds[0]!.refundStatus).toBe('PROCESSING');
    h.clock.advance(1);
    await h.sim.runDueWork();
    expect((await client().refundQuery({ outRefundNo })).refunds[0]!.refundStatus).toBe('SUCCESS');
  });

  // 申请退款, notify_url: "如果参数中传了notify_url，则商户平台上配置的回调地址将不会生效"
  test('a refund that names no notify_url is notified to the merchant\'s platform-configured URL; one that names one, there', async () => {
    const platform = await startReceiver();
    try {
      await h.sim.ensureMerchant({ ...MD5_MERCHANT, refundNotifyUrl: platform.url });
      const outTradeNo = await paidTrade();
      h.clock.advance(MINUTE);
      await client().refund({ outTradeNo, outRefundNo: `RP${outTradeNo}`, totalFee: 10000, refundFee: 100 });
      h.clock.advance(MINUTE);
      const named = receiver.requests.length;
      await client().refund({ outTradeNo, outRefundNo: `RQ${outTradeNo}`, totalFee: 10000, refundFee: 100, notifyUrl: receiver.url });
      h.clock.advance(5000);
      await h.sim.runDueWork();
      await h.sim.runDueWork();
      expect(platform.requests).toHaveLength(1);
      expect((await parseRefundNotify(platform.requests[0]!.body, MD5_MERCHANT)).outRefundNo).toBe(`RP${outTradeNo}`);
      expect((await parseRefundNotify(receiver.requests[named]!.body, MD5_MERCHANT)).outRefundNo).toBe(`RQ${outTradeNo}`);
    } finally {
      await h.sim.ensureMerchant(MD5_MERCHANT);
      await platform.close();
    }
  });

  // 交易账单详细说明: "退款发起成功就会出账，出账后退款状态不会更新" (runs last: it moves the clock days on)
  test('a refund still in progress when the bill is made stays PROCESSING in that bill, even once it has succeeded', async () => {
    const outTradeNo = await paidTrade();
    await fault(outTradeNo, 'refund_slow', { delaySeconds: 2 * 24 * 3600 });
    const outRefundNo = `RB${outTradeNo}`;
    await client().refund({ outTradeNo, outRefundNo, totalFee: 10000, refundFee: 700 });
    const billDate = formatBeijingDate(h.clock());
    h.clock.set(billTimes(billDate).servedFrom);
    const rowOf = async () => (await client().downloadBill({ billDate, billType: 'REFUND' })).rows.find((r) => r[C.outRefundNo] === outRefundNo);
    expect(await rowOf()).toMatchObject({ [C.refundStatus]: 'PROCESSING', [C.refundSuccessTime]: '' });
    h.clock.advance(2 * 24 * 3600 * 1000);
    await h.sim.runDueWork();
    expect((await client().refundQuery({ outRefundNo })).refunds[0]!.refundStatus).toBe('SUCCESS');
    expect(await rowOf()).toMatchObject({ [C.refundStatus]: 'PROCESSING', [C.refundSuccessTime]: '' });
  });
});
