import { formatBeijingTime, parseXml, verifySignature } from '../../../src/wechatpay';
import { addFault } from '../../../src/simulator';
import { MERCHANTS, businessError, newOutTradeNo, orderArgs, startHarness, startReceiver, type Harness, type Receiver } from './harness';

const HOUR = 60 * 60 * 1000;

describe.each(MERCHANTS)('unifiedorder, orderquery and closeorder through the real client (%s)', (_name, merchant, signType) => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await startHarness();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  const client = () => h.client(merchant, signType);
  const tradeRow = (outTradeNo: string) => h.knex('sim_trades').where({ mch_id: merchant.mchId, out_trade_no: outTradeNo }).first();

  test('a new out_trade_no makes a NOTPAY trade with a WeChat-looking prepay_id and a 2-hour code_url', async () => {
    const outTradeNo = newOutTradeNo();
    const result = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { attach: 'cart=7' }));
    expect(result.prepayId).toMatch(new RegExp(`^wx${formatBeijingTime(h.clock())}[0-9a-f]{20}$`));
    expect(result.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]{7}$/);
    expect(result.tradeType).toBe('NATIVE');
    const row = await tradeRow(outTradeNo);
    expect(row).toMatchObject({
      trade_state: 'NOTPAY',
      total_fee: 1234,
      body: '示例小店-茶叶',
      attach: 'cart=7',
      product_id: 'P001',
      notify_url: receiver.url,
      sign_type: signType,
      prepay_id: result.prepayId,
      code_token: result.codeUrl.slice(-7),
      transaction_id: null,
    });
    expect(row.code_expires_at.getTime()).toBe(h.clock().getTime() + 2 * HOUR);
  });

  test('an identical re-send while the code lives answers the same prepay_id and code_url, with one trade', async () => {
    const outTradeNo = newOutTradeNo();
    const first = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    h.clock.advance(30 * 60 * 1000);
    const again = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    expect(again.prepayId).toBe(first.prepayId);
    expect(again.codeUrl).toBe(first.codeUrl);
    expect(await h.knex('sim_trades').where({ out_trade_no: outTradeNo })).toHaveLength(1);
  });

  test('concurrent identical unifiedorders make exactly one trade and all get its code_url', async () => {
    const outTradeNo = newOutTradeNo();
    const results = await Promise.all(Array.from({ length: 5 }, () => client().unifiedOrder(orderArgs(outTradeNo, receiver.url))));
    expect(new Set(results.map((r) => r.codeUrl)).size).toBe(1);
    expect(await h.knex('sim_trades').where({ out_trade_no: outTradeNo })).toHaveLength(1);
  });

  test.each([
    ['total_fee', { totalFee: 1235 }],
    ['body', { body: '另一件商品' }],
    ['product_id', { productId: 'P002' }],
    ['attach', { attach: 'other' }],
  ])('the same out_trade_no with another %s is INVALID_REQUEST "201 商户订单号重复" and the trade keeps its values', async (_field, change) => {
    const outTradeNo = newOutTradeNo();
    await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const before = await tradeRow(outTradeNo);
    const err = await businessError(client().unifiedOrder(orderArgs(outTradeNo, receiver.url, change)));
    expect(err.errCode).toBe('INVALID_REQUEST');
    expect(err.errCodeDes).toBe('201 商户订单号重复');
    expect(await tradeRow(outTradeNo)).toEqual(before);
  });

  test('orderquery of an unpaid trade says NOTPAY with its amount and attach, and no transaction fields', async () => {
    const outTradeNo = newOutTradeNo();
    await client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { attach: 'a1', totalFee: 1 }));
    const q = await client().orderQuery({ outTradeNo });
    expect(q).toMatchObject({ tradeState: 'NOTPAY', tradeStateDesc: '订单未支付', outTradeNo, totalFee: 1, feeType: 'CNY', attach: 'a1' });
    expect(q.transactionId).toBeUndefined();
    expect(q.timeEnd).toBeUndefined();
    expect(q.fields.trade_type).toBe('NATIVE');
  });

  test('orderquery of an unknown trade is ORDERNOTEXIST, by out_trade_no and by transaction_id', async () => {
    expect((await businessError(client().orderQuery({ outTradeNo: 'NOSUCH000001' }))).errCode).toBe('ORDERNOTEXIST');
    expect((await businessError(client().orderQuery({ transactionId: '4200000000202611250000000000' }))).errCode).toBe('ORDERNOTEXIST');
  });

  test('a paid trade: orderquery says SUCCESS with every field (also by transaction_id); re-send is ORDERPAID; close is ORDERPAID', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { attach: 'x' }));
    expect((await h.pay(order.codeUrl)).status).toBe(200);
    const row = await tradeRow(outTradeNo);
    const q = await client().orderQuery({ outTradeNo });
    expect(q).toMatchObject({
      tradeState: 'SUCCESS',
      tradeStateDesc: '支付成功',
      outTradeNo,
      transactionId: row.transaction_id,
      totalFee: 1234,
      cashFee: 1234,
      feeType: 'CNY',
      timeEnd: formatBeijingTime(h.clock()),
      attach: 'x',
      openid: row.openid,
      bankType: 'OTHERS',
    });
    expect(q.fields).toMatchObject({ trade_type: 'NATIVE', is_subscribe: 'N' });
    const byId = await client().orderQuery({ transactionId: row.transaction_id });
    expect(byId.outTradeNo).toBe(outTradeNo);

    const again = await businessError(client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { attach: 'x' })));
    expect(again.errCode).toBe('ORDERPAID');
    const close = await businessError(client().closeOrder({ outTradeNo }));
    expect(close.errCode).toBe('ORDERPAID');
    expect((await tradeRow(outTradeNo)).trade_state).toBe('SUCCESS');
  });

  // 关闭订单 (closeorder), 注意: "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟"; its error
  // table names no code for it, so the simulator answers its one "call again" code, SYSTEMERROR.
  test('closeorder sooner than 5 minutes after the order was made is refused and changes nothing', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    h.clock.advance(5 * 60 * 1000 - 1000);
    const early = await businessError(client().closeOrder({ outTradeNo }));
    expect(early.errCode).toBe('SYSTEMERROR');
    expect(early.errCodeDes).toContain('5分钟');
    expect((await tradeRow(outTradeNo)).trade_state).toBe('NOTPAY');
    expect((await h.scan(order.codeUrl)).token).toBeDefined();
  });

  test('closeorder counts the 5 minutes from time_start, the order\'s generation time, when the order carried one', async () => {
    const outTradeNo = newOutTradeNo();
    const made = new Date(h.clock().getTime() - 4 * 60 * 1000);
    const args = { ...orderArgs(outTradeNo, receiver.url), timeStart: made };
    await client().unifiedOrder(args);
    expect((await businessError(client().closeOrder({ outTradeNo }))).errCode).toBe('SYSTEMERROR');
    h.clock.advance(60 * 1000);
    await client().closeOrder({ outTradeNo });
    expect((await tradeRow(outTradeNo)).trade_state).toBe('CLOSED');
  });

  test('closeorder 5 minutes after creation closes it; then ORDERCLOSED everywhere', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const { token } = await h.scan(order.codeUrl);
    h.clock.advance(5 * 60 * 1000);
    await client().closeOrder({ outTradeNo });
    const row = await tradeRow(outTradeNo);
    expect(row.trade_state).toBe('CLOSED');
    expect(row.closed_at.getTime()).toBe(h.clock().getTime());
    expect(await client().orderQuery({ outTradeNo })).toMatchObject({ tradeState: 'CLOSED', tradeStateDesc: '订单已关闭' });
    expect((await businessError(client().closeOrder({ outTradeNo }))).errCode).toBe('ORDERCLOSED');
    expect((await businessError(client().unifiedOrder(orderArgs(outTradeNo, receiver.url)))).errCode).toBe('ORDERCLOSED');
    const page = await h.scan(order.codeUrl);
    expect(page.html).toContain('订单已关闭');
    expect(page.token).toBeUndefined();
    // a page opened before the close still carries a token: its Pay button is refused
    const phone = await h.pay(order.codeUrl, { token });
    expect(phone.status).toBe(409);
    expect(phone.html).toContain('订单已关闭');
    expect((await tradeRow(outTradeNo)).trade_state).toBe('CLOSED');
  });

  test('closeorder of an unknown trade is ORDERNOTEXIST', async () => {
    expect((await businessError(client().closeOrder({ outTradeNo: 'NOSUCH000002' }))).errCode).toBe('ORDERNOTEXIST');
  });

  test('after 2 hours the code_url is dead (the phone says so), orderquery still says NOTPAY, and a re-send issues a new code_url', async () => {
    const outTradeNo = newOutTradeNo();
    const first = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const { token } = await h.scan(first.codeUrl);
    h.clock.advance(2 * HOUR);
    expect((await h.scan(first.codeUrl)).html).toContain('二维码已过期');
    const phone = await h.pay(first.codeUrl, { token });
    expect(phone.status).toBe(409);
    expect(phone.html).toContain('二维码已过期');
    expect((await client().orderQuery({ outTradeNo })).tradeState).toBe('NOTPAY');

    const renewed = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    expect(renewed.codeUrl).not.toBe(first.codeUrl);
    expect(renewed.prepayId).not.toBe(first.prepayId);
    expect((await h.scan(first.codeUrl)).status).toBe(404);
    const row = await tradeRow(outTradeNo);
    expect(row.code_expires_at.getTime()).toBe(h.clock().getTime() + 2 * HOUR);
    expect((await h.pay(renewed.codeUrl)).status).toBe(200);
    expect((await tradeRow(outTradeNo)).trade_state).toBe('SUCCESS');
  });

  test('time_expire shortens the code_url; past it the phone refuses, orderquery says NOTPAY, and a re-send is ORDERCLOSED', async () => {
    const outTradeNo = newOutTradeNo();
    const timeExpire = new Date(h.clock().getTime() + 10 * 60 * 1000);
    const order = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { timeExpire }));
    expect((await tradeRow(outTradeNo)).code_expires_at.getTime()).toBe(timeExpire.getTime());
    const { token } = await h.scan(order.codeUrl);
    h.clock.advance(10 * 60 * 1000);
    const phone = await h.pay(order.codeUrl, { token });
    expect(phone.status).toBe(409);
    expect(phone.html).toContain('二维码已过期');
    expect((await client().orderQuery({ outTradeNo })).tradeState).toBe('NOTPAY');
    // the client refuses a time_expire in the past, so this re-send goes raw, as an SDK would send it
    const resend = await h.postRaw(
      '/pay/unifiedorder',
      h.signedXml(merchant, signType, {
        body: '示例小店-茶叶',
        out_trade_no: outTradeNo,
        total_fee: '1234',
        spbill_create_ip: '127.0.0.1',
        notify_url: receiver.url,
        trade_type: 'NATIVE',
        product_id: 'P001',
        time_expire: formatBeijingTime(timeExpire),
      }),
    );
    const fields = await parseXml(resend.text);
    expect(fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'ORDERCLOSED' });
    expect(verifySignature(fields, merchant.apiKey, signType)).toBe(true);
    expect((await tradeRow(outTradeNo)).trade_state).toBe('NOTPAY');
  });

  test('a time_expire less than a minute away is INVALID_REQUEST and makes no trade', async () => {
    const outTradeNo = newOutTradeNo();
    const err = await businessError(client().unifiedOrder(orderArgs(outTradeNo, receiver.url, { timeExpire: new Date(h.clock().getTime() + 30_000) })));
    expect(err.errCode).toBe('INVALID_REQUEST');
    expect(err.errCodeDes).toContain('time_expire时间过短');
    expect(await tradeRow(outTradeNo)).toBeUndefined();
  });

  test('a JSAPI order for an openid this AppID never issued is PARAM_ERROR, and an APP order NOAUTH: nothing is made', async () => {
    const outTradeNo = newOutTradeNo();
    const err = await businessError(client().unifiedOrder({ ...orderArgs(outTradeNo, receiver.url), tradeType: 'JSAPI', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' }));
    expect([err.errCode, err.errCodeDes]).toEqual(['PARAM_ERROR', 'appid和openid不匹配']);
    expect(await tradeRow(outTradeNo)).toBeUndefined();
    const app = await businessError(client().unifiedOrder({ ...orderArgs(outTradeNo, receiver.url), tradeType: 'APP' }));
    expect(app.errCode).toBe('NOAUTH');
    expect(await tradeRow(outTradeNo)).toBeUndefined();
  });

  test('a SYSTEMERROR fault on unifiedorder for one trade strikes once, creates nothing, and the identical retry succeeds', async () => {
    const outTradeNo = newOutTradeNo();
    const other = newOutTradeNo();
    const fault = await addFault(h.knex, h.clock(), { mchId: merchant.mchId, outTradeNo, kind: 'systemerror', api: 'unifiedorder', count: 1 });
    await client().unifiedOrder(orderArgs(other, receiver.url));
    const err = await businessError(client().unifiedOrder(orderArgs(outTradeNo, receiver.url)));
    expect(err.errCode).toBe('SYSTEMERROR');
    expect(err.retryable).toBe(true);
    expect(await tradeRow(outTradeNo)).toBeUndefined();
    const retry = await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    expect(retry.codeUrl).toMatch(/^weixin:/);
    expect(await h.knex('sim_faults').where({ id: fault.id }).first()).toMatchObject({ remaining: 0, used: 1 });
  });

  test('a merchant-wide SYSTEMERROR fault for orderquery leaves the other calls alone and applies `count` times', async () => {
    const outTradeNo = newOutTradeNo();
    await addFault(h.knex, h.clock(), { mchId: merchant.mchId, kind: 'systemerror', api: 'orderquery', count: 2 });
    await client().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    expect((await businessError(client().orderQuery({ outTradeNo }))).errCode).toBe('SYSTEMERROR');
    expect((await businessError(client().orderQuery({ outTradeNo }))).errCode).toBe('SYSTEMERROR');
    expect((await client().orderQuery({ outTradeNo })).tradeState).toBe('NOTPAY');
  });
});
