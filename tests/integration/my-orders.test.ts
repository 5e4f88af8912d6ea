import request from 'supertest';
import { closeAttempt, orderEvent } from '../../src/ledger';
import type { TestShop } from '../helpers/app';
import { shopOnClock, tradeWithQr } from '../helpers/settlement';
import { csrfOf, RECEIVER, Shopper } from '../helpers/shopper';
import { setStockOf } from '../helpers/stock';

/**
 * Issue 16, "never a dead end": the session's "my orders" (pending first, with "pay now"), the
 * header's badge of unpaid orders, finding an order by its number and the receiver's mobile from
 * another device (rate-limited, no enumeration), and "buy these again" once the orders are closed.
 */
describe('my orders', () => {
  let shop: TestShop;
  beforeAll(async () => {
    ({ shop } = await shopOnClock({ POLL_QUERY_AFTER_SECONDS: '3600' }));
  });
  afterAll(async () => {
    await shop.close();
  });
  const knex = () => shop.db.knex;
  const orderIdsOf = async (outTradeNo: string) => (await knex()('orders').where({ out_trade_no: outTradeNo }).orderBy('id').pluck('id')) as number[];
  const listed = (html: string) => [...html.matchAll(/class="my-order panel" data-order-id="(\d+)" data-status="(\w+)"/g)].map((m) => ({ id: Number(m[1]), status: m[2] }));

  test("lists this session's orders only, the unpaid ones first with 'pay now' to their payment, and the header shows a badge with their count", async () => {
    const a = await tradeWithQr(shop, [['TEA-MLH-100', 1], ['GEEK-CBL-01', 1]]);
    const b = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    // an older paid order of A's, so the unpaid ones must be sorted ahead of it
    await knex()('orders').whereIn('id', await orderIdsOf(a.outTradeNo)).update({ created_at: new Date(Date.now() - 60_000) });
    const aOrders = await orderIdsOf(a.outTradeNo);
    const bOrders = await orderIdsOf(b.outTradeNo);
    const cod = await a.shopper.add('FARM-PIN-01', 1).then(() => a.shopper.submitCheckout({ pay_type: 'cod' }));
    expect(cod.status).toBe(303);

    const page = await a.shopper.agent.get('/orders').expect(200);
    const rows = listed(page.text);
    expect(rows.map((r) => r.id).sort()).toEqual(expect.arrayContaining(aOrders));
    expect(rows).toHaveLength(3);
    for (const id of bOrders) expect(rows.map((r) => r.id)).not.toContain(id);
    // the WeChat Pay orders waiting for money come first, the cash-on-delivery one after them
    expect(rows.slice(0, 2).map((r) => r.id).sort()).toEqual(aOrders);
    expect(page.text.split(`href="/pay/${a.outTradeNo}"`).length - 1).toBe(2);
    expect(page.text).toContain('<span class="badge" aria-hidden="true">2</span><span class="visually-hidden">（2 笔待支付）</span>');
    expect(page.text).toContain('138****8000');
    expect(page.text).not.toContain(RECEIVER.receiver_mobile);

    const other = await b.shopper.agent.get('/').expect(200);
    expect(other.text).toContain('<span class="badge" aria-hidden="true">1</span>');
    const stranger = await request(shop.url).get('/orders').expect(200);
    expect(listed(stranger.text)).toEqual([]);
    expect(stranger.text).not.toContain('class="badge"');
  });

  test('from another device, an order is found by its number and the receiver\'s mobile (+86, spaces and dashes allowed), then seen and paid there; a wrong mobile and a wrong number get the same answer', async () => {
    const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    const phone = new Shopper(shop.url, knex());
    const token = await phone.csrf();
    const find = (order_id: string, mobile: string) => phone.agent.post('/orders/find').type('form').send({ _csrf: token, order_id, mobile });

    const wrongMobile = await find(String(orderId), '13900139000');
    const wrongNumber = await find('999999', RECEIVER.receiver_mobile);
    expect(wrongMobile.status).toBe(400);
    expect(wrongNumber.status).toBe(400);
    const sentence = (html: string) => /<p class="form-errors" role="alert" id="find-error">([^<]*)<\/p>/.exec(html)?.[1];
    expect(sentence(wrongMobile.text)).toBe('没有找到订单号与手机号都相符的订单，请检查后重试。');
    expect(sentence(wrongNumber.text)).toBe(sentence(wrongMobile.text));
    await phone.agent.get(`/pay/${outTradeNo}`).expect(404);

    const found = await find(String(orderId), '+86 138-0013-8000');
    expect(found.status).toBe(303);
    expect(found.headers.location).toBe('/orders');
    const page = await phone.agent.get('/orders').expect(200);
    expect(listed(page.text)).toEqual([{ id: orderId, status: 'unpaid' }]);
    expect(page.text).toContain(`href="/pay/${outTradeNo}"`);
    const pay = await phone.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(pay.text).toContain('data-code-url="weixin://wxpay/bizpayurl?pr=');
    // the page's own long-poll (served ahead of Express) lets this session in too
    const status = await phone.agent.get(`/pay/${outTradeNo}/status?wait=0`).set('Accept', 'application/json').expect(200);
    expect(status.body).toEqual({ state: 'NOTPAY' });
  });

  test('finding orders is limited to 5 misses per address in 15 minutes: the 6th try is refused even with the right mobile, and a right answer does not reset the count', async () => {
    const { outTradeNo } = await tradeWithQr(shop, [['GEEK-CBL-01', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    const guesser = new Shopper(shop.url, knex());
    let token = await guesser.csrf();
    const find = (order_id: string, mobile: string) => guesser.agent.post('/orders/find').type('form').send({ _csrf: token, order_id, mobile });
    await knex()('admin_login_attempts').delete();
    for (let i = 0; i < 4; i += 1) expect((await find(String(orderId), `1390013900${i}`)).status).toBe(400);
    expect((await find(String(orderId), RECEIVER.receiver_mobile)).status).toBe(303);
    // (finding an order starts a shopper's session: a new session id, a new CSRF token)
    token = csrfOf((await guesser.agent.get('/orders/find').expect(200)).text);
    expect((await find(String(orderId), '13900139009')).status).toBe(400);
    const refused = await find(String(orderId), RECEIVER.receiver_mobile);
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('尝试次数过多，请 15 分钟后再试。');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    await knex()('admin_login_attempts').delete();
  });

  test('once the sweeper has closed the orders, "get a new QR code" is no dead end, and "buy these again" refills the cart with what is in stock', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['FARM-HNY-500', 2], ['SILK-PLW-02', 1]]);
    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    // as the sweeper leaves it: closed at WeChat (closeorder) and here
    await knex()('sim_trades').where({ out_trade_no: outTradeNo }).update({ trade_state: 'CLOSED' });
    expect(await closeAttempt(knex(), { outTradeNo, now: new Date(), operator: 'system', event: orderEvent('closed_expired', {}), wechat: 'closed' })).toBe('closed');
    // one of the two is sold out meanwhile
    await setStockOf(knex(), 'SILK-PLW-02', 0);

    const renew = await shopper.agent.post(`/pay/${outTradeNo}/renew`).type('form').send({ _csrf: csrfOf(page.text) });
    expect(renew.status).toBe(303);
    expect(renew.headers.location).toBe(`/pay/${outTradeNo}`);
    const expired = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(expired.text).toContain('订单已关闭，库存已释放');
    expect(expired.text).toContain(`action="/pay/${outTradeNo}/buy-again"`);

    const again = await shopper.agent.post(`/pay/${outTradeNo}/buy-again`).type('form').send({ _csrf: csrfOf(expired.text) });
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/cart');
    const cart = await shopper.agent.get('/cart').expect(200);
    expect(cart.text).toContain('已把 1 件商品放回购物车；1 件已售罄或下架，未能加入。');
    expect(cart.text).toMatch(/<tr class="cart-line" data-sku="FARM-HNY-500"/);
    expect(cart.text).not.toMatch(/data-sku="SILK-PLW-02"/);
    expect(cart.text).toMatch(/id="cart-qty-\d+" name="quantity" type="number" min="1" max="99" value="2"/);
    // nothing about the closed orders changed
    expect(await knex()('orders').where({ out_trade_no: outTradeNo }).pluck('status')).toEqual(['closed', 'closed']);
  });
});
