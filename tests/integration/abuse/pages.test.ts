import request from 'supertest';
import { createTestShop, type TestShop } from '../../helpers/app';
import { RECEIVER, Shopper } from '../../helpers/shopper';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

describe('what every page says and keeps: demo banner, no-store, /metrics token, control characters', () => {
  let shop: TestShop;
  const METRICS_TOKEN = 'metrics-token-for-the-tests-0123';

  beforeAll(async () => {
    shop = await createTestShop({ env: { METRICS_TOKEN, SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('in simulator mode every shop and admin page carries the "demo: no real money" banner, in the shopper\'s language', async () => {
    for (const path of ['/', '/cart', '/admin/login', '/no/such/page']) {
      const res = await request(shop.url).get(path);
      expect(res.text).toContain('<p class="demo-banner" role="note">演示模式：使用内置的微信支付模拟器，不会收取真实货币。</p>');
    }
    const en = await request(shop.url).get('/?lang=en').expect(200);
    expect(en.text).toContain('Demo: payments go to the built-in WeChat Pay simulator, no real money is taken.');
  });

  test('pages with the receiver\'s name and phone are sent with Cache-Control: no-store', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    const pay = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(pay.headers['cache-control']).toBe('no-store');
    await shopper.add('TEA-MLH-100', 1);
    const form = await shopper.agent.get('/checkout').expect(200);
    expect(form.headers['cache-control']).toBe('no-store');
    const cod = await shopper.submitCheckout({ pay_type: 'cod' });
    const complete = await shopper.agent.get(cod.headers.location ?? '').expect(200);
    expect(complete.text).toContain(RECEIVER.receiver_mobile);
    expect(complete.headers['cache-control']).toBe('no-store');
    // the catalog shows nobody's data and may be cached as before
    expect((await request(shop.url).get('/')).headers['cache-control']).not.toBe('no-store');
    expect((await request(shop.url).get('/admin/login')).headers['cache-control']).toBe('no-store');
  });

  test('with METRICS_TOKEN set, /metrics answers 401 without the bearer token and the metrics with it', async () => {
    const none = await request(shop.url).get('/metrics').expect(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(none.text).not.toContain('process_cpu');
    await request(shop.url).get('/metrics').set('Authorization', 'Bearer wrong-token-of-some-length').expect(401);
    const ok = await request(shop.url).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    expect(ok.text).toContain('process_cpu');
  });

  test.each([
    ['NUL', '张\u0000三'],
    ['escape', '张\u001b[31m三'],
    ['DEL', '张三\u007f'],
    ['C1', '张三\u0085'],
  ])('a %s character in a checkout field answers 400 with a message in the shopper\'s language, and makes no order', async (_what, name) => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    await shopper.add('TEA-MLH-100', 1);
    const before = Number((await shop.db.knex('orders').count({ n: '*' }).first())?.n);
    const res = await shopper.submitCheckout({ receiver_name: name });
    expect(res.status).toBe(400);
    expect(res.text).toContain('表单中含有不允许的控制字符，请删除后重试。');
    const en = await shopper.agent.post('/checkout?lang=en').type('form').send({ _csrf: await shopper.csrf(), checkout_token: 'abcdefghijklmnopqrstuvwx', pay_type: 'wxpay', ...RECEIVER, receiver_address: `a\u0000ddress 100` });
    expect(en.status).toBe(400);
    expect(en.text).toContain('The form contains control characters that are not allowed.');
    expect(Number((await shop.db.knex('orders').count({ n: '*' }).first())?.n)).toBe(before);
  });

  test('control characters elsewhere too: a cart line, the admin login, an admin filter in the query string', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    expect((await shopper.add('TEA-MLH-100', '1\u0000')).status).toBe(400);
    const login = await request.agent(shop.url);
    const form = await login.get('/admin/login').expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '';
    const res = await login.post('/admin/login').type('form').send({ _csrf: csrf, username: 'admin\u0000', password: 'x' });
    expect(res.status).toBe(400);
    expect(Number((await shop.db.knex('admin_login_attempts').count({ n: '*' }).first())?.n)).toBe(0);
    expect((await request(shop.url).get('/admin/paylog').query({ q: 'a\u0000b' })).status).toBe(400);
  });
});
