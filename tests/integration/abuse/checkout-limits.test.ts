import { checkout } from '../../../src/checkout/service';
import { Conflict } from '../../../src/errors';
import { createTestShop, type TestShop } from '../../helpers/app';
import { Shopper } from '../../helpers/shopper';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

describe('no anonymous hoarding: open checkouts and units are bounded per session and per address', () => {
  let shop: TestShop;
  const stockOf = async (sku: string) => ((await shop.db.knex('product_variants').where({ sku }).first('stock')) as { stock: number }).stock;
  const orderCount = async () => Number((await shop.db.knex('orders').count({ n: '*' }).first())?.n);

  beforeAll(async () => {
    shop = await createTestShop({
      env: {
        SWEEP_INTERVAL_SECONDS: '0',
        CHECKOUT_MAX_OPEN_PER_SESSION: '2',
        CHECKOUT_MAX_UNITS_PER_SESSION: '5',
        CHECKOUT_MAX_OPEN_PER_ADDRESS: '3',
        CHECKOUT_MAX_UNITS_PER_ADDRESS: '100',
        TRUST_PROXY: 'loopback',
      },
    });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('a session with two unpaid checkouts cannot make a third: 409 with a message in its language, nothing reserved', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    shopper.agent.set('X-Forwarded-For', '198.51.100.10');
    await shopper.buy([['TEA-MLH-100', 1]]);
    await shopper.buy([['TEA-MLH-100', 1]]);
    await shopper.add('TEA-MLH-100', 1);
    const stock = await stockOf('TEA-MLH-100');
    const orders = await orderCount();
    const third = await shopper.submitCheckout();
    expect(third.status).toBe(409);
    expect(third.text).toContain('您在本浏览器中已有 2 笔未付款的订单，已达上限（每个浏览器最多 2 笔）。请先在“我的订单”中付款，或等待其过期后再下单。');
    expect(await stockOf('TEA-MLH-100')).toBe(stock);
    expect(await orderCount()).toBe(orders);
    // once one is paid or closed, the session may check out again
    const open = (await shop.db.knex('orders').where({ status: 'unpaid' }).whereRaw("client_ip = '198.51.100.10'").first('id', 'out_trade_no')) as { id: number; out_trade_no: string };
    await shop.db.knex('orders').where({ id: open.id }).update({ status: 'closed' });
    expect((await shopper.submitCheckout()).status).toBe(303);
  });

  test('a session cannot hold more units than allowed, across its open checkouts', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    shopper.agent.set('X-Forwarded-For', '198.51.100.20');
    await shopper.buy([['TEA-MLH-100', 3]]);
    await shopper.add('TEA-MLH-100', 3);
    const res = await shopper.agent.post('/checkout?lang=en').type('form').send({
      _csrf: await shopper.csrf(),
      checkout_token: (await shopper.checkoutForm()).checkoutToken,
      pay_type: 'cod',
      receiver_name: 'Li Si',
      receiver_mobile: '13900139000',
      receiver_address: '北京市朝阳区建国路1号',
    });
    expect(res.status).toBe(409);
    expect(res.text).toContain('With these 3 items, the unpaid orders of this browser would hold more than 5 items, the most one browser may hold. Please pay your unpaid orders under “My orders” first, or buy fewer.');
  });

  test('an order bigger than the per-session bound, from a session that holds nothing: told that the order itself is too big, and to lower the quantities (400)', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    shopper.agent.set('X-Forwarded-For', '198.51.100.30');
    await shopper.add('TEA-MLH-100', 6);
    const orders = await orderCount();
    const en = await shopper.agent.post('/checkout?lang=en').type('form').send({
      _csrf: await shopper.csrf(),
      checkout_token: (await shopper.checkoutForm()).checkoutToken,
      pay_type: 'cod',
      receiver_name: 'Li Si',
      receiver_mobile: '13900139000',
      receiver_address: '北京市朝阳区建国路1号',
    });
    expect(en.status).toBe(400);
    expect(en.text).toContain('This order has 6 items, more than the 5 that unpaid orders may hold at once. Please lower the quantities in your cart');
    expect(en.text).not.toContain('already');
    expect(await orderCount()).toBe(orders);
  });

  test('an address cannot hold more open checkouts than allowed, whatever sessions it uses', async () => {
    const made: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const shopper = new Shopper(shop.url, shop.db.knex);
      shopper.agent.set('X-Forwarded-For', '203.0.113.55');
      await shopper.add('GEEK-CBL-01', 1);
      made.push((await shopper.submitCheckout()).status);
    }
    expect(made).toEqual([303, 303, 303, 409]);
    const fourth = new Shopper(shop.url, shop.db.knex);
    fourth.agent.set('X-Forwarded-For', '203.0.113.55');
    await fourth.add('GEEK-CBL-01', 1);
    // the network's limit, said as such: not "you already have" to a shopper who has nothing
    expect((await fourth.submitCheckout()).text).toContain('您所在的网络已有 3 笔未付款的订单，已达上限（同一网络最多 3 笔；公司和移动网络常为多人共用）。请稍后再试，或先为未付款的订单付款。');
    // another address is not refused for it
    const elsewhere = new Shopper(shop.url, shop.db.knex);
    elsewhere.agent.set('X-Forwarded-For', '203.0.113.56');
    await elsewhere.add('GEEK-CBL-01', 1);
    expect((await elsewhere.submitCheckout()).status).toBe(303);
  });

  test('checkouts made at once for one shopper at its bound: exactly one more gets through (the per-shopper lock; PostgreSQL runs them in parallel)', async () => {
    const shopperId = 's_concurrent_shopper_000001';
    const productId = ((await shop.db.knex('products').where({ sku: 'GEEK-CBL-01' }).first('id')) as { id: number }).id;
    const limits = { openPerSession: 1, unitsPerSession: 100, openPerAddress: 100, unitsPerAddress: 1000 };
    const attempt = (i: number) =>
      checkout(shop.db.knex, {
        shopperId,
        cart: { [productId]: 1 },
        receiver: { name: '王五', mobile: '13700137000', address: '广州市天河区体育西路1号' },
        payType: 'cod',
        tradeType: 'NATIVE',
        checkoutToken: `concurrent-token-${String(i).padStart(8, '0')}`,
        clientIp: '192.0.2.200',
        now: new Date(),
        limits,
      }).then(
        () => 'made',
        (err: unknown) => (err instanceof Conflict ? err.messageKey : String(err)),
      );
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(i)));
    expect(outcomes.filter((o) => o === 'made')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'checkout.error.tooManyOpen.session')).toHaveLength(5);
    expect(Number((await shop.db.knex('orders').where({ shopper_id: shopperId }).count({ n: '*' }).first())?.n)).toBe(1);
  });
});
