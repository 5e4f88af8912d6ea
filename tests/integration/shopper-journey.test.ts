import { DEFAULT_QR_TTL_SECONDS } from '../../src/config';
import request from 'supertest';
import { decodeQrSvg } from '../helpers/qr';
import { createTestShop, startSecondInstance, type TestShop } from '../helpers/app';
import { RECEIVER, Shopper, csrfOf, payOnPhone, productIdOf } from '../helpers/shopper';
import { addFault } from '../helpers/settlement';
import { setStockOf } from '../helpers/stock';

describe('shopper journey: catalog, cart, checkout, pay page', () => {
  let shop: TestShop;
  let knex: TestShop['db']['knex'];

  beforeAll(async () => {
    shop = await createTestShop();
    knex = shop.db.knex;
  });
  afterAll(async () => {
    await shop.close();
  });

  const stockOf = async (sku: string) => ((await knex('product_variants').where({ sku }).first('stock')) as { stock: number }).stock;
  const sim = () => {
    if (!shop.simulator) throw new Error('simulator mode expected');
    return shop.simulator;
  };
  const unifiedOrders = async (outTradeNo: string) => Number((await knex('sim_trades').where({ out_trade_no: outTradeNo }).count({ n: '*' }).first())?.n ?? 0);

  test('a shopper buys from two sellers in one checkout and reaches a pay page whose QR code decodes to the stored code_url', async () => {
    const shopper = new Shopper(shop.url, knex);
    expect((await shopper.add('TEA-LJ-250', 2)).status).toBe(303);
    expect((await shopper.add('GEEK-CBL-01', 1)).status).toBe(303);
    expect((await shopper.add('GEEK-CBL-01', 2)).status).toBe(303);

    const cart = await shopper.agent.get('/cart').expect(200);
    expect(cart.text).toContain('data-seller="山野茶园"');
    expect(cart.text).toContain('data-seller="极客数码"');
    expect(cart.text).toContain('<p class="subtotal" data-fen="33600">');
    expect(cart.text).toContain('<p class="subtotal" data-fen="8970">');
    expect(cart.text).toContain('<p class="total" data-fen="42570">');

    // change a quantity, then remove and re-add a line
    const token = csrfOf(cart.text);
    const cableId = await productIdOf(knex, 'GEEK-CBL-01');
    await shopper.agent.post('/cart/update').type('form').send({ _csrf: token, product_id: String(cableId), quantity: '4' }).expect(303);
    await shopper.agent.post('/cart/remove').type('form').send({ _csrf: token, product_id: String(cableId) }).expect(303);
    expect((await shopper.agent.get('/cart')).text).not.toContain('data-seller="极客数码"');
    await shopper.add('GEEK-CBL-01', 4);

    const stockBefore = { tea: await stockOf('TEA-LJ-250'), cable: await stockOf('GEEK-CBL-01') };
    const checkout = await shopper.submitCheckout();
    expect(checkout.status).toBe(303);
    const outTradeNo = /^\/pay\/(\d{24})$/.exec(checkout.headers.location ?? '')?.[1];
    expect(outTradeNo).toBeDefined();

    const paylog = await knex('paylog').where({ out_trade_no: outTradeNo }).first();
    expect(paylog).toMatchObject({ trade_state: 'NOTPAY', total_fee: 33600 + 4 * 2990, code_url: null });
    const orders = await knex('orders').where({ out_trade_no: outTradeNo }).orderBy('seller');
    expect(orders.map((o) => [o.seller, o.total_fen, o.status, o.pay_type])).toEqual([
      ['山野茶园', 33600, 'unpaid', 'wxpay'],
      ['极客数码', 11960, 'unpaid', 'wxpay'],
    ]);
    expect(orders[0]).toMatchObject({ receiver_name: RECEIVER.receiver_name, receiver_mobile: RECEIVER.receiver_mobile, receiver_address: RECEIVER.receiver_address });
    expect(await knex('order_log').whereIn('order_id', orders.map((o) => o.id)).select('to_status')).toEqual([{ to_status: 'unpaid' }, { to_status: 'unpaid' }]);
    expect(await stockOf('TEA-LJ-250')).toBe(stockBefore.tea - 2);
    expect(await stockOf('GEEK-CBL-01')).toBe(stockBefore.cable - 4);
    expect((await shopper.agent.get('/cart')).text).toContain('购物车是空的');

    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const stored = await knex('paylog').where({ out_trade_no: outTradeNo }).first();
    expect(stored.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[0-9A-Za-z]{7}$/);
    const svg = /<figure class="qr"[^>]*>(<svg[\s\S]*?<\/svg>)/.exec(page.text)?.[1] ?? '';
    expect(decodeQrSvg(svg)).toBe(stored.code_url);
    expect(page.text).toContain('¥455.60');
    for (const order of orders) expect(page.text).toContain(`data-order-id="${order.id}"`);
    expect(page.text).toContain(`/wxsim/scan?code_url=${encodeURIComponent(stored.code_url)}`);
    expect(page.text).toContain('<script src="/js/pay-status.js" defer></script>');
    expect(stored.code_url_expires_at.getTime() - stored.create_time.getTime()).toBe(DEFAULT_QR_TTL_SECONDS * 1000);
    // what WeChat was told
    const trade = await knex('sim_trades').where({ out_trade_no: outTradeNo }).first();
    expect(trade).toMatchObject({ total_fee: 45560, trade_type: 'NATIVE', product_id: outTradeNo });
    expect(trade.body).toBe('示例小店-明前西湖龙井 250g等6件');
  });

  test('the same journey reads in English with ?lang=en', async () => {
    const shopper = new Shopper(shop.url, knex);
    await shopper.agent.get('/?lang=en').expect(200);
    const outTradeNo = await shopper.buy([
      ['FARM-HNY-500', 1],
      ['SILK-SCF-01', 1],
    ]);
    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(page.text).toContain('Pay with WeChat');
    expect(page.text).toContain('Amount due');
    expect(page.text).not.toContain('应付金额');
    expect(page.headers['content-language']).toBe('en');
  });

  test('re-opening the pay page reuses the code_url and does not call unifiedorder again', async () => {
    const shopper = new Shopper(shop.url, knex);
    const outTradeNo = await shopper.buy([['FARM-DATE-1', 1]]);
    await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const first = await knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url');
    // from now on WeChat would fail every call: a second unifiedorder would show the error page
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'systemerror', count: 5 });
    const again = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(again.text).toContain(first.code_url);
    expect(await unifiedOrders(outTradeNo)).toBe(1);
  });

  test('a WeChat error during unifiedorder shows a page with a retry button, and changes nothing', async () => {
    const shopper = new Shopper(shop.url, knex);
    const outTradeNo = await shopper.buy([['FARM-RICE-5', 1]]);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'systemerror', api: 'unifiedorder', count: 1 });
    const before = await knex('paylog').where({ out_trade_no: outTradeNo }).first();
    const failed = await shopper.agent.get(`/pay/${outTradeNo}`);
    expect(failed.status).toBe(502);
    expect(failed.text).toContain('暂时无法生成支付二维码');
    expect(failed.text).toContain(`<a class="button retry" href="/pay/${outTradeNo}">`);
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first()).toEqual(before);
    expect(await knex('orders').where({ out_trade_no: outTradeNo }).pluck('status')).toEqual(['unpaid']);
    // the retry works once WeChat is back
    await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).code_url).toMatch(/^weixin:/);
  });

  test('another session gets 404 on someone else\'s pay page, status poll and success page', async () => {
    const owner = new Shopper(shop.url, knex);
    const outTradeNo = await owner.buy([['TEA-MLH-100', 1]]);
    const stranger = new Shopper(shop.url, knex);
    await stranger.add('TEA-MLH-100', 1);
    for (const path of [`/pay/${outTradeNo}`, `/pay/${outTradeNo}/status`, `/pay/${outTradeNo}/success`]) {
      expect((await stranger.agent.get(path)).status).toBe(404);
      expect((await request(shop.url).get(path)).status).toBe(404);
    }
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).code_url).toBeNull();
  });

  test('20 concurrent checkouts competing for the last 5 units: exactly 5 succeed and stock ends at 0', async () => {
    await setStockOf(knex, 'GEEK-EAR-02', 5);
    const shoppers = Array.from({ length: 20 }, () => new Shopper(shop.url, knex));
    for (const s of shoppers) expect((await s.add('GEEK-EAR-02', 1)).status).toBe(303);
    const forms = await Promise.all(shoppers.map((s) => s.checkoutForm()));
    const results = await Promise.all(shoppers.map((s, i) => s.submitCheckout({}, forms[i]?.checkoutToken)));
    const won = results.filter((r) => r.status === 303);
    const lost = results.filter((r) => r.status === 409);
    expect(won).toHaveLength(5);
    expect(lost).toHaveLength(15);
    for (const r of lost) expect(r.text).toContain('库存不足');
    expect(await stockOf('GEEK-EAR-02')).toBe(0);
    const earId = await productIdOf(knex, 'GEEK-EAR-02');
    expect(Number((await knex('order_items').where({ product_id: earId }).sum({ q: 'quantity' }).first())?.q)).toBe(5);
  });

  test('a form with a forged price is charged the database price', async () => {
    const shopper = new Shopper(shop.url, knex);
    await shopper.add('SILK-PLW-02', 1, { price_fen: '1', price: '0.01' });
    const res = await shopper.submitCheckout({ price_fen: '1', total_fee: '1', total_fen: '1' });
    const outTradeNo = /\/pay\/(\d+)/.exec(res.headers.location ?? '')?.[1];
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).total_fee).toBe(19900);
    const [order] = await knex('orders').where({ out_trade_no: outTradeNo });
    expect((await knex('order_items').where({ order_id: order.id }).first()).unit_price_fen).toBe(19900);
  });

  test('cash on delivery makes orders without a paylog', async () => {
    const shopper = new Shopper(shop.url, knex);
    await shopper.add('FARM-HNY-500', 2);
    const paylogsBefore = Number((await knex('paylog').count({ n: '*' }).first())?.n);
    const res = await shopper.submitCheckout({ pay_type: 'cod' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/checkout\/[\w-]+\/complete$/);
    const done = await shopper.agent.get(res.headers.location as string).expect(200);
    expect(done.text).toContain('¥136.00');
    expect(Number((await knex('paylog').count({ n: '*' }).first())?.n)).toBe(paylogsBefore);
    const token = /\/checkout\/([\w-]+)\/complete/.exec(res.headers.location as string)?.[1];
    const orders = await knex('orders').where({ checkout_token: token });
    expect(orders.map((o) => [o.pay_type, o.out_trade_no, o.status])).toEqual([['cod', null, 'unpaid']]);
  });

  test('a double-submitted checkout form (same token) makes one paylog and one set of orders', async () => {
    const shopper = new Shopper(shop.url, knex);
    await shopper.add('TEA-PE-357', 1);
    await shopper.add('SILK-FAN-03', 1);
    const { checkoutToken } = await shopper.checkoutForm();
    const stockBefore = await stockOf('TEA-PE-357');
    const [a, b] = await Promise.all([shopper.submitCheckout({}, checkoutToken), shopper.submitCheckout({}, checkoutToken)]);
    const c = await shopper.submitCheckout({}, checkoutToken);
    expect([a.status, b.status, c.status]).toEqual([303, 303, 303]);
    expect(new Set([a.headers.location, b.headers.location, c.headers.location]).size).toBe(1);
    expect(await knex('orders').where({ checkout_token: checkoutToken }).count({ n: '*' }).first()).toEqual({ n: 2 });
    expect(await stockOf('TEA-PE-357')).toBe(stockBefore - 1);
  });

  describe('the cart refuses bad input with a clear message and changes nothing', () => {
    test.each([
      ['0', '数量必须是 1 到 99 之间的整数'],
      ['100', '数量必须是 1 到 99 之间的整数'],
      ['1.5', '数量必须是 1 到 99 之间的整数'],
      ['abc', '数量必须是 1 到 99 之间的整数'],
    ])('quantity %s', async (quantity, message) => {
      const shopper = new Shopper(shop.url, knex);
      const res = await shopper.add('FARM-PIN-01', quantity);
      expect(res.status).toBe(400);
      expect(res.text).toContain(message);
      expect((await shopper.agent.get('/cart')).text).toContain('购物车是空的');
    });

    test('more than the stock', async () => {
      const shopper = new Shopper(shop.url, knex);
      await setStockOf(knex, 'TEA-CUP-01', 3);
      expect((await shopper.add('TEA-CUP-01', 2)).status).toBe(303);
      const res = await shopper.add('TEA-CUP-01', 2);
      expect(res.status).toBe(400);
      expect(res.text).toContain('“白瓷盖碗茶具套装”库存不足，仅剩 3 件');
      expect((await shopper.agent.get('/cart')).text).toContain('value="2"');
    });

    test('a sold-out product', async () => {
      const res = await new Shopper(shop.url, knex).add('SILK-TIE-04', 1);
      expect(res.status).toBe(400);
      expect(res.text).toContain('已售罄');
    });

    test('an unknown product', async () => {
      const shopper = new Shopper(shop.url, knex);
      const form = { _csrf: await shopper.csrf(), product_id: '999999', quantity: '1' };
      const res = await shopper.agent.post('/cart/add').type('form').send(form);
      expect(res.status).toBe(404);
      expect(res.text).toContain('没有这件商品');
    });

    test('a POST without the CSRF token', async () => {
      const shopper = new Shopper(shop.url, knex);
      await shopper.csrf();
      const form = { product_id: String(await productIdOf(knex, 'FARM-PIN-01')), quantity: '1' };
      const res = await shopper.agent.post('/cart/add').type('form').send(form);
      expect(res.status).toBe(403);
      expect(res.text).toContain('页面已过期');
      expect((await shopper.agent.get('/cart')).text).toContain('购物车是空的');
    });
  });

  test('a checkout form with a bad mobile number is shown again with the message, and nothing is made', async () => {
    const shopper = new Shopper(shop.url, knex);
    await shopper.add('FARM-PIN-01', 1);
    const ordersBefore = Number((await knex('orders').count({ n: '*' }).first())?.n);
    const res = await shopper.submitCheckout({ receiver_mobile: '12345' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('请填写 11 位中国大陆手机号码');
    expect(res.text).toContain(`value="${RECEIVER.receiver_name}"`);
    expect(Number((await knex('orders').count({ n: '*' }).first())?.n)).toBe(ordersBefore);
  });

  test('the cart follows the shopper across a second app instance on the same database', async () => {
    const second = await startSecondInstance(shop);
    try {
      const shopper = new Shopper(shop.url, knex);
      await shopper.add('FARM-DATE-1', 3);
      const cookie = (await shopper.agent.get('/cart')).request.cookies;
      const onSecond = await request(second.url).get('/cart').set('Cookie', cookie);
      expect(onSecond.text).toContain('data-sku="FARM-DATE-1"');
      expect(onSecond.text).toContain('value="3"');
    } finally {
      await second.stop();
    }
  });

  test('the shop\'s own pay flow works end to end: phone pays, the pay page flips to success', async () => {
    const shopper = new Shopper(shop.url, knex);
    const outTradeNo = await shopper.buy([['FARM-PIN-01', 1]]);
    await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const { code_url: codeUrl } = await knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url');
    expect((await payOnPhoneAndWait(codeUrl)).status).toBe(200);
    const success = await shopper.agent.get(`/pay/${outTradeNo}`);
    expect(success.status).toBe(303);
    expect(success.headers.location).toBe(`/pay/${outTradeNo}/success`);
    const page = await shopper.agent.get(`/pay/${outTradeNo}/success`).expect(200);
    expect(page.text).toContain('您已成功支付 ¥0.01');
  });

  async function payOnPhoneAndWait(codeUrl: string) {
    const res = await payOnPhone(shop.url, codeUrl);
    await sim().runDueWork();
    return res;
  }
});
