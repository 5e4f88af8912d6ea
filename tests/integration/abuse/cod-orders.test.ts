import request from 'supertest';
import { manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { Shopper } from '../../helpers/shopper';
import { adminShop, loggedIn, type Admin } from '../admin/helpers';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

describe('cash on delivery: listed for the admin, settled or cancelled by hand, and never held forever', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let admin: Admin;
  const SKU = 'TEA-MLH-100';

  beforeAll(async () => {
    clock = manualClock(new Date());
    shop = await adminShop({ clock, env: { COD_ACCEPT_HOURS: '48' } });
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });

  const stock = async (sku = SKU) => ((await shop.db.knex('product_variants').where({ sku }).first('stock')) as { stock: number }).stock;
  const order = async (id: number) => shop.db.knex('orders').where({ id }).first('status', 'delivery_status', 'delivery_at', 'paid_at', 'closed_at');
  const logOf = async (id: number) => (await shop.db.knex('order_log').where({ order_id: id }).orderBy('id').select('from_status', 'to_status', 'operator')) as { from_status: string | null; to_status: string; operator: string }[];

  async function codCheckout(quantity = 2, sku = SKU): Promise<number> {
    const shopper = new Shopper(shop.url, shop.db.knex);
    await shopper.add(sku, quantity);
    const res = await shopper.submitCheckout({ pay_type: 'cod' });
    expect(res.status).toBe(303);
    const token = /^\/checkout\/([^/]+)\/complete$/.exec(res.headers.location ?? '')?.[1] ?? '';
    return ((await shop.db.knex('orders').where({ checkout_token: decodeURIComponent(token) }).first('id')) as { id: number }).id;
  }

  test('the orders view lists COD orders with their state, and only for the admin', async () => {
    const id = await codCheckout();
    expect((await request(shop.url).get('/admin/orders')).headers.location).toMatch(/^\/admin\/login/);
    const page = await admin.agent.get('/admin/orders?pay_type=cod').expect(200);
    expect(page.text).toContain(`<tr data-order-id="${id}" data-pay-type="cod" data-status="unpaid">`);
    expect(page.text).toContain(`href="/admin/orders/${id}/paid"`);
    expect(page.headers['cache-control']).toBe('no-store');
    const wxpayOnly = await admin.agent.get('/admin/orders?pay_type=wxpay').expect(200);
    expect(wxpayOnly.text).not.toContain(`data-order-id="${id}"`);
    expect((await admin.agent.get('/admin/orders?status=bogus')).status).toBe(400);
  });

  test('accept, then delivered-and-paid: the order is paid, order_log names the admin, stock stays sold', async () => {
    const id = await codCheckout();
    const held = await stock();
    expect((await admin.confirm(`/admin/orders/${id}/accept`)).status).toBe(303);
    // accepting is the goods' side only: the money still unpaid
    expect(await order(id)).toMatchObject({ status: 'unpaid', delivery_status: 'accepted', delivery_at: expect.any(Date) as Date });
    expect((await admin.confirm(`/admin/orders/${id}/paid`)).status).toBe(303);
    expect(await order(id)).toMatchObject({ status: 'paid', delivery_status: 'completed' });
    expect(await logOf(id)).toEqual([
      { from_status: null, to_status: 'unpaid', operator: expect.stringMatching(/^shopper:/) },
      { from_status: 'unpaid', to_status: 'unpaid', operator: 'admin:boss' },
      { from_status: 'unpaid', to_status: 'paid', operator: 'admin:boss' },
    ]);
    expect(await stock()).toBe(held);
    // a second "paid" changes nothing and says so
    await admin.confirm(`/admin/orders/${id}/cancel`);
    expect((await order(id))?.status).toBe('paid');
    expect((await admin.agent.get('/admin/orders?pay_type=cod').expect(200)).text).toContain(`订单 #${id} 已不是未付款状态，未做更改。`);
  });

  test('cancel: the order is closed and its stock comes back, once', async () => {
    const before = await stock();
    const id = await codCheckout(3);
    expect(await stock()).toBe(before - 3);
    await admin.confirm(`/admin/orders/${id}/cancel`);
    expect(await order(id)).toMatchObject({ status: 'closed', delivery_status: 'cancelled' });
    expect(await stock()).toBe(before);
    await admin.confirm(`/admin/orders/${id}/cancel`);
    expect(await stock()).toBe(before);
    expect((await logOf(id)).at(-1)).toEqual({ from_status: 'unpaid', to_status: 'closed', operator: 'admin:boss' });
  });

  test('a WeChat Pay order cannot be marked paid by hand', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    const outTradeNo = await shopper.buy([[SKU, 1]]);
    const { id } = (await shop.db.knex('orders').where({ out_trade_no: outTradeNo }).first('id')) as { id: number };
    await admin.confirm(`/admin/orders/${id}/paid`);
    expect((await order(id))?.status).toBe('unpaid');
    expect((await admin.agent.get('/admin/orders').expect(200)).text).toContain(`订单 #${id} 是微信支付订单，只能通过微信支付结算。`);
  });

  test(`COD orders nobody accepted within COD_ACCEPT_HOURS are cancelled by the sweeper, stock returned; accepted ones are kept`, async () => {
    // (a product of its own: the sweep also closes what earlier tests left unpaid)
    const before = await stock('GEEK-CBL-01');
    const forgotten = await codCheckout(2, 'GEEK-CBL-01');
    const accepted = await codCheckout(1, 'GEEK-CBL-01');
    await admin.confirm(`/admin/orders/${accepted}/accept`);
    clock.advance(47 * 3600 * 1000);
    await shop.sweeper.sweepOnce();
    expect((await order(forgotten))?.status).toBe('unpaid');
    clock.advance(2 * 3600 * 1000);
    await shop.sweeper.sweepOnce();
    expect(await order(forgotten)).toMatchObject({ status: 'closed', delivery_status: 'cancelled' });
    expect((await logOf(forgotten)).at(-1)).toEqual({ from_status: 'unpaid', to_status: 'closed', operator: 'system' });
    expect(await order(accepted)).toMatchObject({ status: 'unpaid', delivery_status: 'accepted' });
    expect(await stock('GEEK-CBL-01')).toBe(before - 1);
  });
});
