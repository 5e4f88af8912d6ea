import type { ManualClock } from '../helpers/clock';
import type { TestShop } from '../helpers/app';
import { addFault, shopOnClock, tradeWithQr } from '../helpers/settlement';
import { csrfOf, payOnPhone, Shopper } from '../helpers/shopper';

/**
 * Issue 16: the pay page as Chinese shoppers know it, usable without JavaScript, with "I have
 * paid" asking WeChat through the status poll's own orderquery path, rate-limited per trade.
 */
describe('the pay page', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    ({ shop, clock } = await shopOnClock());
  });
  afterAll(async () => {
    await shop.close();
  });

  const press = async (shopper: Shopper, outTradeNo: string) => {
    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    return shopper.agent.post(`/pay/${outTradeNo}/check`).type('form').send({ _csrf: csrfOf(page.text) });
  };
  const lastQueriedAt = async (outTradeNo: string) => ((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('last_queried_at')) as { last_queried_at: Date | null }).last_queried_at;

  test('shows the merchant, the order numbers and the amount on top, the framed code with the scan hint, the time left as a duration, and works without JavaScript (no meta refresh; "I have paid" is a form)', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop);
    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const orders = (await shop.db.knex('orders').where({ out_trade_no: outTradeNo }).orderBy('id').pluck('id')) as number[];
    expect(orders.length).toBe(2);
    expect(page.text).toContain('订单提交成功，请尽快付款！');
    expect(page.text).toContain(`订单号：${orders.join('、')}`);
    expect(page.text).toContain('收款方：');
    expect(page.text).toContain('请使用微信扫一扫');
    expect(page.text).toMatch(/请在 <strong class="time-left" id="pay-time-left">15分00秒<\/strong> 内完成支付/);
    expect(page.text).not.toContain('http-equiv="refresh"');
    expect(page.text).toContain(`<form class="inline" id="pay-check" method="post" action="/pay/${outTradeNo}/check">`);
    expect(page.text).toContain('支付遇到问题？');
    // the code appears once, in the frame, ahead of the simulator link and the payment number
    expect(page.text.indexOf('class="qr-box"')).toBeLessThan(page.text.indexOf('simulator-link'));
    expect(page.text.indexOf('simulator-link')).toBeLessThan(page.text.indexOf(`支付单号：${outTradeNo}`));
  });

  test('in the last five minutes the countdown is marked urgent and reads minutes and seconds', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const expiresAt = ((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url_expires_at')) as { code_url_expires_at: Date }).code_url_expires_at;
    const saved = clock();
    clock.set(new Date(expiresAt.getTime() - 200_000));
    try {
      const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
      expect(page.text).toContain('<p class="expiry urgent" id="pay-expiry">请在 <strong class="time-left" id="pay-time-left">3分20秒</strong>');
    } finally {
      clock.set(saved);
    }
  });

  test('when the notify is lost, "I have paid" asks WeChat and the shopper lands on the success page, the payment settled once', async () => {
    const knex = shop.db.knex;
    const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'notify_drop' });
    await payOnPhone(shop.url, paylog.code_url);
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('NOTPAY');

    const res = await press(shopper, outTradeNo);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/pay/${outTradeNo}/success`);
    const row = await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'transaction_id');
    expect(row.trade_state).toBe('SUCCESS');
    expect(row.transaction_id).toMatch(/^\d{28}$/);
    expect(await knex('orders').where({ out_trade_no: outTradeNo }).pluck('status')).toEqual(['paid']);
    const success = await shopper.agent.get(`/pay/${outTradeNo}/success`).expect(200);
    expect(success.text).toContain('支付成功');
  });

  test('"I have paid" asks WeChat at most once per POLL_QUERY_INTERVAL_SECONDS for a trade: a second press at once is told to wait and WeChat is not asked', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const first = await press(shopper, outTradeNo);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe(`/pay/${outTradeNo}`);
    expect((await shopper.agent.get(`/pay/${outTradeNo}`).expect(200)).text).toContain('微信支付还没有收到这笔付款');
    const askedAt = await lastQueriedAt(outTradeNo);
    expect(askedAt).toEqual(clock());

    clock.advance(1_000);
    await press(shopper, outTradeNo);
    expect((await shopper.agent.get(`/pay/${outTradeNo}`).expect(200)).text).toContain('刚刚已向微信支付查询过，请 10 秒后再试。');
    expect(await lastQueriedAt(outTradeNo)).toEqual(askedAt);

    clock.advance(10_000);
    await press(shopper, outTradeNo);
    expect((await shopper.agent.get(`/pay/${outTradeNo}`).expect(200)).text).toContain('微信支付还没有收到这笔付款');
    expect(await lastQueriedAt(outTradeNo)).toEqual(clock());
  });

  test('"I have paid" for another shopper\'s payment is the same 404 as a wrong number, and asks nobody', async () => {
    const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const stranger = new Shopper(shop.url, shop.db.knex);
    await stranger.add('TEA-MLH-100', 1);
    const res = await stranger.agent.post(`/pay/${outTradeNo}/check`).type('form').send({ _csrf: await stranger.csrf() });
    expect(res.status).toBe(404);
    expect(await lastQueriedAt(outTradeNo)).toBeNull();
  });

  test('"get a new QR code" pressed at the very second the code expires gives a new code, not the expired page again', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop);
    const { code_url_expires_at: expiresAt } = (await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url_expires_at')) as { code_url_expires_at: Date };
    clock.set(new Date(expiresAt.getTime()));
    const expired = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(expired.text).toContain(`action="/pay/${outTradeNo}/renew"`);
    expect(expired.text).not.toContain('data-code-url=');
    const renew = await shopper.agent.post(`/pay/${outTradeNo}/renew`).type('form').send({ _csrf: csrfOf(expired.text) });
    expect(renew.status).toBe(303);
    const next = String(renew.headers.location);
    expect(next).toMatch(/^\/pay\/\w+$/);
    expect(next).not.toBe(`/pay/${outTradeNo}`);
    const page = await shopper.agent.get(next).expect(200);
    expect(page.text).toContain('data-code-url="weixin://wxpay/bizpayurl');
    expect(await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).toEqual({ trade_state: 'CLOSED' });
  });
});
