import request from 'supertest';
import type { TestShop } from '../helpers/app';
import { shopOnClock } from '../helpers/settlement';
import { csrfOf, productIdOf, RECEIVER, Shopper } from '../helpers/shopper';
import { setStockOf } from '../helpers/stock';

/**
 * Issue 16, catalog, cart and checkout: mistakes answered on the page they came from, the
 * script's JSON answer for add-to-cart, the checkout's error summary, mobile numbers as people
 * type them, the amount on the submit button, and error pages without HTTP codes in the heading.
 */
describe('the shop pages', () => {
  let shop: TestShop;
  beforeAll(async () => {
    ({ shop } = await shopOnClock());
  });
  afterAll(async () => {
    await shop.close();
  });
  const knex = () => shop.db.knex;

  test('too many of a product answers on the catalog itself, next to that product, with the quantity kept and nothing added', async () => {
    const shopper = new Shopper(shop.url, knex());
    const id = await productIdOf(knex(), 'SILK-FAN-03');
    const res = await shopper.add('SILK-FAN-03', 7);
    expect(res.status).toBe(400);
    expect(res.text).toContain('<h1>全部商品</h1>');
    const card = res.text.slice(res.text.indexOf(`id="product-${id}"`), res.text.indexOf('</li>', res.text.indexOf(`id="product-${id}"`)));
    expect(card).toContain('<p class="field-error card-note" role="alert">“苏绣团扇”库存不足，仅剩 3 件。</p>');
    expect(card).toContain('value="7" inputmode="numeric" required aria-invalid="true"');
    expect(res.text).not.toContain('出错了');
    expect((await shopper.agent.get('/cart')).text).toContain('购物车是空的');
  });

  test('a quantity over the stock in the cart answers on the cart, on that line, and the cart keeps its quantity', async () => {
    const shopper = new Shopper(shop.url, knex());
    await shopper.add('SILK-FAN-03', 1);
    const cart = await shopper.agent.get('/cart').expect(200);
    const id = await productIdOf(knex(), 'SILK-FAN-03');
    const res = await shopper.agent.post('/cart/update').type('form').send({ _csrf: csrfOf(cart.text), product_id: String(id), quantity: '9' });
    expect(res.status).toBe(400);
    expect(res.text).toContain(`<span class="field-error" role="alert" id="cart-err-${id}">“苏绣团扇”库存不足，仅剩 3 件。</span>`);
    expect(res.text).toContain('data-label="小计"');
    expect((await shopper.agent.get('/cart')).text).toMatch(new RegExp(`id="cart-qty-${id}" name="quantity" type="number" min="1" max="99" value="1"`));
  });

  test("add-to-cart from the page's script answers JSON: the note, the header's new count, and the session's new CSRF token", async () => {
    const shopper = new Shopper(shop.url, knex());
    const token = await shopper.csrf();
    const id = await productIdOf(knex(), 'TEA-MLH-100');
    const res = await shopper.agent.post('/cart/add').type('form').set('Accept', 'application/json').send({ _csrf: token, product_id: String(id), quantity: '2' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: '已加入购物车（2 件）。', cartCount: 2, cartLabel: '购物车（2）', csrfToken: expect.stringMatching(/^[\w-]{43}$/) });
    expect(res.body.csrfToken).not.toBe(token);
    const again = await shopper.agent.post('/cart/add').type('form').set('Accept', 'application/json').send({ _csrf: res.body.csrfToken, product_id: String(id), quantity: '200' });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: { status: 400, code: 'invalid', message: '数量必须是 1 到 99 之间的整数。' } });
    expect((await shopper.agent.get('/cart')).text).toMatch(/value="2"/);
  });

  test('after a plain add-to-cart the note is in the product card (where the click was), not at the top of the page', async () => {
    const shopper = new Shopper(shop.url, knex());
    const id = await productIdOf(knex(), 'TEA-LJ-250');
    expect((await shopper.add('TEA-LJ-250', 1)).headers.location).toBe(`/#product-${id}`);
    const page = await shopper.agent.get('/').expect(200);
    expect(page.text).toContain('<p class="flash card-note" role="status">已加入购物车（1 件）。</p>');
    expect(page.text).not.toContain('<p class="flash" role="status">');
  });

  test('the checkout accepts mobile numbers with +86, spaces and dashes, and its button states the amount', async () => {
    const shopper = new Shopper(shop.url, knex());
    await shopper.add('FARM-PIN-01', 2);
    const form = await shopper.checkoutForm();
    expect(form.html).toContain('提交订单 · 应付 ¥0.02');
    const res = await shopper.submitCheckout({ receiver_mobile: '+86 138-0013-8000' }, form.checkoutToken);
    expect(res.status).toBe(303);
    const order = await knex()('orders').where({ checkout_token: form.checkoutToken }).first('receiver_mobile');
    expect(order.receiver_mobile).toBe(RECEIVER.receiver_mobile);
  });

  test('a checkout with mistakes shows an error summary that takes the focus and links to each field', async () => {
    const shopper = new Shopper(shop.url, knex());
    await shopper.add('FARM-PIN-01', 1);
    const res = await shopper.submitCheckout({ receiver_mobile: '12345', receiver_address: 'x' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('id="error-summary" role="alert" tabindex="-1" autofocus');
    expect(res.text).toContain('<li><a href="#receiver_mobile">请填写 11 位中国大陆手机号码。</a></li>');
    expect(res.text).toContain('<li><a href="#receiver_address">请填写详细地址（5 到 200 个字）。</a></li>');
  });

  test('a cart that outgrew the stock by the time of checkout answers on the checkout page, not on an error page', async () => {
    const shopper = new Shopper(shop.url, knex());
    await shopper.add('GEEK-KBD-87', 2);
    const form = await shopper.checkoutForm();
    const stock = (await knex()('product_variants').where({ sku: 'GEEK-KBD-87' }).first('stock')).stock as number;
    await setStockOf(knex(), 'GEEK-KBD-87', 1);
    try {
      const res = await shopper.submitCheckout({}, form.checkoutToken);
      expect(res.status).toBe(409);
      expect(res.text).toContain('库存不足');
      expect(res.text).toContain('id="error-summary"');
      expect(res.text).toContain('<h1>结算</h1>');
      expect(await knex()('orders').where({ checkout_token: form.checkoutToken }).count({ n: '*' }).first()).toEqual({ n: 0 });
    } finally {
      await setStockOf(knex(), 'GEEK-KBD-87', stock);
    }
  });

  test('error pages say what happened without an HTTP code, with the way back that fits', async () => {
    const shopPage = await request(shop.url).get('/no-such-page').expect(404);
    expect(shopPage.text).toContain('<h1>找不到页面</h1>');
    expect(shopPage.text).not.toMatch(/\(404\)/);
    expect(shopPage.text).toContain('<a class="button" href="/">返回首页</a>');
    const payPage = await request(shop.url).get('/pay/000000000000000000000000').expect(404);
    expect(payPage.text).toContain('<a class="button" href="/orders">查看我的订单</a>');
  });
});
