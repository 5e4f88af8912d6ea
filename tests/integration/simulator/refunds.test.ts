import crypto from 'node:crypto';
import {
  WxDecryptError,
  decryptReqInfo,
  parseRefundNotify,
  parseXml,
  type SignType,
} from '../../../src/wechatpay';
import { MAX_REFUNDS_PER_TRADE, addFault } from '../../../src/simulator';
import { MD5_MERCHANT, MERCHANTS, businessError, newOutTradeNo, orderArgs, startHarness, startReceiver, type Harness, type Receiver, type TestMerchant } from './harness';

const REFUND_DELAY_MS = 5000;
const TIME_SCALE = 10;
const MINUTE = 60_000;

describe.each(MERCHANTS)('refunds and refundquery through the real client (%s)', (_name, merchant, signType) => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await startHarness({ timeScale: TIME_SCALE, refundDelayMs: REFUND_DELAY_MS });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  const client = () => h.client(merchant, signType);

  /** A trade paid through the phone, its payment notify delivered. */
  async function paidTrade(totalFee = 10000, m: TestMerchant = merchant, st: SignType = signType) {
    const outTradeNo = newOutTradeNo('R');
    const order = await h.client(m, st).unifiedOrder(orderArgs(outTradeNo, receiver.url, { totalFee }));
    expect((await h.pay(order.codeUrl)).status).toBe(200);
    await h.sim.runDueWork();
    return (await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first()) as { id: number; out_trade_no: string; transaction_id: string };
  }
  const refundRows = (tradeId: number) => h.knex('sim_refunds').where({ trade_id: tradeId }).orderBy('id');

  test('a refund is PROCESSING, turns SUCCESS after the scaled delay, marks the trade REFUND and sends a refund notify that decrypts with md5(key)', async () => {
    const trade = await paidTrade();
    const seen = receiver.requests.length;
    const accepted = await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `RF${trade.out_trade_no}`, totalFee: 10000, refundFee: 2500, notifyUrl: receiver.url, refundDesc: '退货' });
    expect(accepted).toMatchObject({ outRefundNo: `RF${trade.out_trade_no}`, refundFee: 2500, totalFee: 10000, outTradeNo: trade.out_trade_no, transactionId: trade.transaction_id });
    expect(accepted.refundId).toMatch(/^50\d{27}$/);
    const [row] = await refundRows(trade.id);
    expect(row).toMatchObject({ status: 'PROCESSING', refund_fee: 2500, total_fee: 10000, refund_desc: '退货', notify_url: receiver.url, success_time: null });
    expect(row.complete_at.getTime()).toBe(h.clock().getTime() + REFUND_DELAY_MS / TIME_SCALE);

    const processing = await client().refundQuery({ outRefundNo: `RF${trade.out_trade_no}` });
    expect(processing.refunds).toEqual([expect.objectContaining({ refundStatus: 'PROCESSING', refundFee: 2500, refundId: accepted.refundId })]);
    expect(processing.refunds[0]!.successTime).toBeUndefined();
    expect((await client().orderQuery({ outTradeNo: trade.out_trade_no })).tradeState).toBe('SUCCESS');

    h.clock.advance(REFUND_DELAY_MS / TIME_SCALE - 1);
    expect(await h.sim.runDueWork()).toBe(0);
    expect((await refundRows(trade.id))[0].status).toBe('PROCESSING');

    h.clock.advance(1);
    expect(await h.sim.runDueWork()).toBe(2); // the refund completed, its notify sent
    const done = (await refundRows(trade.id))[0];
    expect(done.status).toBe('SUCCESS');
    expect(done.success_time.getTime()).toBe(h.clock().getTime());
    expect((await client().orderQuery({ outTradeNo: trade.out_trade_no })).tradeState).toBe('REFUND');
    const query = await client().refundQuery({ refundId: accepted.refundId });
    expect(query.refunds[0]).toMatchObject({ refundStatus: 'SUCCESS', refundRecvAccout: '支付用户的零钱' });
    expect(query.refunds[0]!.successTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    expect(receiver.requests).toHaveLength(seen + 1);
    const body = receiver.requests[seen]!.body;
    const outer = await parseXml(body);
    expect(outer.sign).toBeUndefined();
    expect(outer).toMatchObject({ return_code: 'SUCCESS', appid: merchant.appId, mch_id: merchant.mchId });
    const notice = await parseRefundNotify(body, merchant);
    expect(notice).toMatchObject({
      outTradeNo: trade.out_trade_no,
      transactionId: trade.transaction_id,
      refundId: accepted.refundId,
      outRefundNo: `RF${trade.out_trade_no}`,
      totalFee: 10000,
      refundFee: 2500,
      refundStatus: 'SUCCESS',
      successTime: query.refunds[0]!.successTime,
      refundRequestSource: 'API',
    });
    // the AES key is the hex md5 of the API key, not the key itself
    const md5Key = crypto.createHash('md5').update(merchant.apiKey).digest('hex');
    const decipher = crypto.createDecipheriv('aes-256-ecb', Buffer.from(md5Key, 'ascii'), null);
    const plain = Buffer.concat([decipher.update(Buffer.from(outer.req_info!, 'base64')), decipher.final()]).toString('utf8');
    expect(plain).toMatch(/^<root>.*<refund_status><!\[CDATA\[SUCCESS\]\]><\/refund_status>.*<\/root>$/);
    expect(() => decryptReqInfo(outer.req_info!, 'someotherkey000000000000000000zz')).toThrow(WxDecryptError);
    const note = await h.knex('sim_notifications').where({ kind: 'refund', refund_id: done.id }).first();
    expect(note).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  test('a refund without notify_url completes without a notify', async () => {
    const trade = await paidTrade();
    await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `RN${trade.out_trade_no}`, totalFee: 10000, refundFee: 100 });
    h.clock.advance(REFUND_DELAY_MS);
    await h.sim.runDueWork();
    const [row] = await refundRows(trade.id);
    expect(row.status).toBe('SUCCESS');
    expect(await h.knex('sim_notifications').where({ refund_id: row.id })).toHaveLength(0);
  });

  test('a retry with the same out_refund_no and amount answers the same refund (idempotent), even within the minute', async () => {
    const trade = await paidTrade();
    const args = { transactionId: trade.transaction_id, outRefundNo: `RI${trade.out_trade_no}`, totalFee: 10000, refundFee: 3000 };
    const first = await client().refund(args);
    const again = await client().refund(args);
    expect(again.refundId).toBe(first.refundId);
    expect(await refundRows(trade.id)).toHaveLength(1);
    h.clock.advance(REFUND_DELAY_MS);
    await h.sim.runDueWork();
    expect((await client().refund(args)).refundId).toBe(first.refundId);
    expect((await h.knex('sim_trades').where({ id: trade.id }).first()).refunded_fee).toBe(3000);
  });

  // 申请退款: err_code INVALID_REQUEST, in WeChat's words "订单金额或退款金额与之前请求不一致，请核实后再试"
  test('the same out_refund_no with another amount is INVALID_REQUEST, and changes nothing', async () => {
    const trade = await paidTrade();
    await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `RA${trade.out_trade_no}`, totalFee: 10000, refundFee: 3000 });
    h.clock.advance(MINUTE);
    const err = await businessError(client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `RA${trade.out_trade_no}`, totalFee: 10000, refundFee: 3001 }));
    expect(err.errCode).toBe('INVALID_REQUEST');
    expect(err.errCodeDes).toBe('订单金额或退款金额与之前请求不一致，请核实后再试');
    expect(await refundRows(trade.id)).toEqual([expect.objectContaining({ refund_fee: 3000 })]);
  });

  // 申请退款 error table: NOTENOUGH is "余额不足" (the merchant's balance); a refund over what is left
  // of the trade is INVALID_REQUEST "申请退款金额超过订单可退金额"
  test('refunds beyond what is left are INVALID_REQUEST (not NOTENOUGH), and change nothing', async () => {
    const trade = await paidTrade(5000);
    await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `N1${trade.out_trade_no}`, totalFee: 5000, refundFee: 4000 });
    h.clock.advance(MINUTE);
    const err = await businessError(client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `N2${trade.out_trade_no}`, totalFee: 5000, refundFee: 1001 }));
    expect(err.errCode).toBe('INVALID_REQUEST');
    expect(err.errCodeDes).toBe('申请退款金额超过订单可退金额');
    expect(await refundRows(trade.id)).toHaveLength(1);
    const last = await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `N3${trade.out_trade_no}`, totalFee: 5000, refundFee: 1000 });
    expect(last.refundFee).toBe(1000);
    expect((await h.knex('sim_trades').where({ id: trade.id }).first()).refunded_fee).toBe(5000);
  });

  test('two refunds of one trade less than a minute apart: the second is FREQUENCY_LIMITED; a minute later it is taken', async () => {
    const trade = await paidTrade();
    await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `F1${trade.out_trade_no}`, totalFee: 10000, refundFee: 100 });
    h.clock.advance(MINUTE - 1);
    const err = await businessError(client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `F2${trade.out_trade_no}`, totalFee: 10000, refundFee: 100 }));
    expect(err.errCode).toBe('FREQUENCY_LIMITED');
    expect(await refundRows(trade.id)).toHaveLength(1);
    h.clock.advance(1);
    await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `F2${trade.out_trade_no}`, totalFee: 10000, refundFee: 100 });
    expect(await refundRows(trade.id)).toHaveLength(2);
  });

  test('refundquery lists several partial refunds, indexed from 0, by out_trade_no and by transaction_id', async () => {
    const trade = await paidTrade();
    const fees = [1000, 2000, 3000];
    const ids: string[] = [];
    for (const [i, fee] of fees.entries()) {
      ids.push((await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `Q${i}${trade.out_trade_no}`, totalFee: 10000, refundFee: fee })).refundId);
      h.clock.advance(MINUTE);
    }
    await h.sim.runDueWork(); // all three are due by now (delay 0.5 s, the clock a minute on)
    const byTrade = await client().refundQuery({ outTradeNo: trade.out_trade_no });
    expect(byTrade.totalFee).toBe(10000);
    expect(byTrade.transactionId).toBe(trade.transaction_id);
    expect(byTrade.refunds.map((r) => [r.outRefundNo, r.refundId, r.refundFee, r.refundStatus])).toEqual([
      [`Q0${trade.out_trade_no}`, ids[0], 1000, 'SUCCESS'],
      [`Q1${trade.out_trade_no}`, ids[1], 2000, 'SUCCESS'],
      [`Q2${trade.out_trade_no}`, ids[2], 3000, 'SUCCESS'],
    ]);
    expect(byTrade.fields.refund_count).toBe('3');
    expect(byTrade.fields.refund_channel_0).toBe('ORIGINAL');
    const byTransaction = await client().refundQuery({ transactionId: trade.transaction_id });
    expect(byTransaction.refunds.map((r) => r.refundId)).toEqual(ids);
    const one = await client().refundQuery({ outRefundNo: `Q1${trade.out_trade_no}` });
    expect(one.refunds.map((r) => r.refundId)).toEqual([ids[1]]);
  });

  test('refundquery with an offset pages by 10 and tells total_refund_count', async () => {
    const trade = await paidTrade();
    for (let i = 0; i < 12; i++) {
      await client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `P${String(i).padStart(2, '0')}${trade.out_trade_no}`, totalFee: 10000, refundFee: 10 });
      h.clock.advance(MINUTE);
    }
    const page = await client().refundQuery({ outTradeNo: trade.out_trade_no, offset: 10 });
    expect(page.refunds.map((r) => r.outRefundNo)).toEqual([`P10${trade.out_trade_no}`, `P11${trade.out_trade_no}`]);
    expect(page.totalRefundCount).toBe(12);
  });

  test('refundquery for a trade without refunds, or an unknown refund, is REFUNDNOTEXIST', async () => {
    const trade = await paidTrade();
    expect((await businessError(client().refundQuery({ outTradeNo: trade.out_trade_no }))).errCode).toBe('REFUNDNOTEXIST');
    expect((await businessError(client().refundQuery({ outRefundNo: 'NOSUCHREFUND' }))).errCode).toBe('REFUNDNOTEXIST');
    expect((await businessError(client().refundQuery({ refundId: '50000000000000000000000000000' }))).errCode).toBe('REFUNDNOTEXIST');
  });

  test('a refund of an unknown trade is ORDERNOTEXIST; of an unpaid one ERROR "订单未支付"; with a wrong total_fee PARAM_ERROR', async () => {
    expect((await businessError(client().refund({ outTradeNo: 'NOSUCH000009', outRefundNo: 'X1', totalFee: 100, refundFee: 1 }))).errCode).toBe('ORDERNOTEXIST');
    const outTradeNo = newOutTradeNo('U');
    await client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { totalFee: 100 }));
    const unpaid = await businessError(client().refund({ outTradeNo, outRefundNo: `X2${outTradeNo}`, totalFee: 100, refundFee: 1 }));
    expect([unpaid.errCode, unpaid.errCodeDes]).toEqual(['ERROR', '订单未支付']);
    const trade = await paidTrade(100);
    const wrongTotal = await businessError(client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `X3${trade.out_trade_no}`, totalFee: 99, refundFee: 1 }));
    expect(wrongTotal.errCode).toBe('PARAM_ERROR');
    expect(await h.knex('sim_refunds').where('out_refund_no', 'like', 'X%')).toHaveLength(0);
  });

  test('a trade paid more than a year ago is TRADE_OVERDUE', async () => {
    const trade = await paidTrade(100);
    h.clock.advance(366 * 24 * 60 * MINUTE);
    expect((await businessError(client().refund({ outTradeNo: trade.out_trade_no, outRefundNo: `O${trade.out_trade_no}`, totalFee: 100, refundFee: 1 }))).errCode).toBe('TRADE_OVERDUE');
  });

  test('a SYSTEMERROR fault on refund makes no refund; the retry with the same out_refund_no is accepted', async () => {
    const trade = await paidTrade();
    await addFault(h.knex, h.clock(), { mchId: merchant.mchId, outTradeNo: trade.out_trade_no, kind: 'systemerror', api: 'refund', count: 1 });
    const args = { outTradeNo: trade.out_trade_no, outRefundNo: `S${trade.out_trade_no}`, totalFee: 10000, refundFee: 500 };
    const err = await businessError(client().refund(args));
    expect(err.retryable).toBe(true);
    expect(await refundRows(trade.id)).toHaveLength(0);
    expect((await client().refund(args)).refundFee).toBe(500);
  });
});

describe('the 50-refund limit', () => {
  test(`a trade takes at most ${MAX_REFUNDS_PER_TRADE} refunds; the next is ERROR`, async () => {
    const h = await startHarness({ refundDelayMs: 0 });
    try {
      const client = h.client(MD5_MERCHANT, 'MD5');
      const outTradeNo = newOutTradeNo('L');
      const order = await client.unifiedOrder(orderArgs(outTradeNo, 'http://127.0.0.1:9/notify', { totalFee: 1000 }));
      await h.pay(order.codeUrl);
      for (let i = 0; i < MAX_REFUNDS_PER_TRADE; i++) {
        await client.refund({ outTradeNo, outRefundNo: `L${i}`, totalFee: 1000, refundFee: 1 });
        h.clock.advance(MINUTE);
      }
      const err = await businessError(client.refund({ outTradeNo, outRefundNo: 'L50', totalFee: 1000, refundFee: 1 }));
      expect(err.errCode).toBe('ERROR');
      expect(err.errCodeDes).toContain('50');
      expect(await h.knex('sim_refunds')).toHaveLength(MAX_REFUNDS_PER_TRADE);
    } finally {
      await h.close();
    }
  });
});
