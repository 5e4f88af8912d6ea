import request from 'supertest';
import { createTestShop, startSecondInstance, type TestShop } from '../../helpers/app';
import { DeviceShopper, USER_AGENTS } from '../../helpers/mobile';
import { RECEIVER, csrfOf } from '../../helpers/shopper';

jest.setTimeout(180_000);

/** The orders of a payment attempt, and the first one's id (the number a shopper would look up). */
async function firstOrderOf(shop: TestShop, outTradeNo: string): Promise<number> {
  const row = (await shop.db.knex('paylog_orders').where({ out_trade_no: outTradeNo }).min({ id: 'order_id' }).first()) as { id: number };
  return Number(row.id);
}

/** A form POST on the page `page` (its CSRF token), following nothing. */
async function postFrom(agent: ReturnType<typeof request.agent>, page: string, path: string, fields: Record<string, string> = {}) {
  const html = (await agent.get(page).expect(200)).text;
  return agent.post(path).type('form').send({ _csrf: csrfOf(html), ...fields });
}

/** Issue 26, item 9: payment attempts are counted per session as well as per set of orders. */
describe('a stranger who found an order cannot use up its payment attempts', () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await createTestShop({ env: { SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('the stranger\'s session makes 4 new attempts, then is refused (409, in its language); the owner still switches', async () => {
    const owner = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.iphone);
    let current = await owner.buy([['TEA-MLH-100', 1]]);
    const orderId = await firstOrderOf(shop, current);

    // the stranger knows the order number and the receiver's mobile: /orders/find lets them in
    const stranger = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.iphone);
    const found = await postFrom(stranger.agent, '/orders/find', '/orders/find', { order_id: String(orderId), mobile: RECEIVER.receiver_mobile });
    expect(found.status).toBe(303);

    const switches: number[] = [];
    for (let i = 0; i < 5; i++) {
      const to = i % 2 === 0 ? 'NATIVE' : 'MWEB';
      const res = await postFrom(stranger.agent, `/pay/${current}`, `/pay/${current}/switch`, { trade_type: to });
      switches.push(res.status);
      if (res.status === 303) current = /^\/pay\/(\w+)$/.exec(String(res.headers.location))?.[1] as string;
      else {
        expect(res.text).toContain('您在本浏览器中已为这些订单发起了太多次支付（每个浏览器最多 4 次）。请用本页显示的方式付款，或重新下单。');
      }
    }
    expect(switches).toEqual([303, 303, 303, 303, 409]);
    const attempts = Number((await shop.db.knex('paylog_orders').where({ order_id: orderId }).count({ n: '*' }).first())?.n);
    expect(attempts).toBe(5);
    // the owner's own session has its own count: it can still switch
    const mine = await postFrom(owner.agent, `/pay/${current}`, `/pay/${current}/switch`, { trade_type: 'NATIVE' });
    expect(mine.status).toBe(303);
  });
});

/** Issue 26, item 6: a JSAPI attempt left over after JSAPI is turned off offers the QR code, not WeChat's authorization. */
describe('a JSAPI attempt after JSAPI is turned off', () => {
  test('its page asks for no web authorization (whose AppSecret may be gone too): it says the way is off and offers the QR code, which works', async () => {
    const shop = await createTestShop({ env: { SWEEP_INTERVAL_SECONDS: '0' } });
    // the same shop's database, now served by an instance with JSAPI off
    const later = await startSecondInstance(shop, { env: { SWEEP_INTERVAL_SECONDS: '0', WXPAY_TRADE_TYPES: 'NATIVE,MWEB', SESSION_SECRET: undefined } });
    try {
      const inWechat = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.wechat);
      const outTradeNo = await inWechat.buy([['TEA-MLH-100', 1]]);
      expect((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_type')).trade_type).toBe('JSAPI');
      // on the shop as it was, the page starts WeChat's web authorization
      expect((await inWechat.agent.get(`/pay/${outTradeNo}`)).status).toBe(303);

      // the same browser on the shop with JSAPI off (the session lives in the database)
      const cookie = inWechat.agent.jar.getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false }).toValueString();
      const page = await request(later.url).get(`/pay/${outTradeNo}`).set('User-Agent', USER_AGENTS.wechat).set('Cookie', cookie);
      expect(page.status).toBe(200);
      expect(page.text).toContain('这种支付方式已停用，请改用二维码支付。');
      expect(page.text).not.toContain('id="pay-jsapi"');
      expect(page.text).toContain('name="trade_type" value="NATIVE"');
      const switched = await request(later.url)
        .post(`/pay/${outTradeNo}/switch`)
        .set('User-Agent', USER_AGENTS.wechat)
        .set('Cookie', cookie)
        .type('form')
        .send({ _csrf: csrfOf(page.text), trade_type: 'NATIVE' });
      expect(switched.status).toBe(303);
      const fresh = /^\/pay\/(\w+)$/.exec(String(switched.headers.location))?.[1] as string;
      const qr = await request(later.url).get(`/pay/${fresh}`).set('User-Agent', USER_AGENTS.wechat).set('Cookie', cookie).expect(200);
      expect(qr.text).toContain('<svg');
      expect((await shop.db.knex('paylog').where({ out_trade_no: fresh }).first('trade_type')).trade_type).toBe('NATIVE');
    } finally {
      await later.stop();
      await shop.close();
    }
  });
});

/** Issue 26, item 7: behind a proxy, a browser is sent to the shop's public origin, never the address it listens on. */
describe('where a browser is sent, behind a proxy', () => {
  test('the H5 cashier and the way back are on the forwarded host (TRUST_PROXY), or SHOP_URL when set; no page allows a form to the internal address', async () => {
    const shop = await createTestShop({ env: { SWEEP_INTERVAL_SECONDS: '0', TRUST_PROXY: 'loopback' } });
    const withShopUrl = await startSecondInstance(shop, { env: { SWEEP_INTERVAL_SECONDS: '0', TRUST_PROXY: 'loopback', SHOP_URL: 'https://shop.example.test' } });
    try {
      const internal = new URL(shop.url).host;
      const phone = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.iphone);
      // (plain http: a Secure cookie would not come back to this test's client)
      for (const header of [['X-Forwarded-Host', 'shop.example.test:8080'], ['X-Forwarded-Proto', 'http'], ['X-Forwarded-For', '203.0.113.40']] as const) phone.agent.set(header[0], header[1]);
      const outTradeNo = await phone.buy([['TEA-MLH-100', 1]]);
      const payPage = await phone.agent.get(`/pay/${outTradeNo}`).expect(200);
      expect(String(payPage.headers['content-security-policy'])).not.toContain(internal);
      const h5 = await phone.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/h5`);
      expect(h5.status).toBe(303);
      const cashier = new URL(String(h5.headers.location));
      expect(cashier.origin).toBe('http://shop.example.test:8080');
      expect(cashier.pathname).toMatch(/^\/wxsim\/h5pay\//);
      expect(new URL(String(cashier.searchParams.get('redirect_url'))).origin).toBe('http://shop.example.test:8080');
      // the cashier is the shop's own simulator, at that same path: it opens through the proxy
      const opened = await request(shop.url)
        .get(`${cashier.pathname}${cashier.search}`)
        .set('X-Forwarded-For', '203.0.113.40')
        .set('Referer', `http://shop.example.test:8080/pay/${outTradeNo}`);
      expect(opened.status).toBe(200);

      // SHOP_URL: the browser goes there, and the pages' CSP allows a form to lead there
      const viaShopUrl = new DeviceShopper(withShopUrl.url, shop.db.knex, USER_AGENTS.iphone);
      viaShopUrl.agent.set('X-Forwarded-For', '203.0.113.41');
      const second = await viaShopUrl.buy([['TEA-MLH-100', 1]]);
      const page = await viaShopUrl.agent.get(`/pay/${second}`).expect(200);
      const formAction = /form-action ([^;]+)/.exec(String(page.headers['content-security-policy']))?.[1] ?? '';
      expect(formAction.split(' ')).toEqual(["'self'", 'https://shop.example.test']);
      const h5b = await viaShopUrl.postFrom(`/pay/${second}`, `/pay/${second}/h5`);
      expect(new URL(String(h5b.headers.location)).origin).toBe('https://shop.example.test');
    } finally {
      await withShopUrl.stop();
      await shop.close();
    }
  });
});
