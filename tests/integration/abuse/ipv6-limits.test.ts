import request from 'supertest';
import { manualClock, type ManualClock } from '../../helpers/app';
import { Shopper, csrfOf } from '../../helpers/shopper';
import { ADMIN_PASSWORD, ADMIN_USER, Admin, adminShop } from '../admin/helpers';
import type { TestShop } from '../../helpers/app';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

/**
 * Issue 26, item 1: one subscriber holds a whole IPv6 /64, so every per-address limit counts an
 * IPv6 client by its /64 (an IPv4-mapped one as the IPv4 address it is). Behind a trusted proxy
 * (TRUST_PROXY=loopback here), the client address is X-Forwarded-For's.
 */
describe('the per-address limits count an IPv6 client by its /64', () => {
  let shop: TestShop;
  let clock: ManualClock;
  const orderCount = async () => Number((await shop.db.knex('orders').count({ n: '*' }).first())?.n);

  beforeAll(async () => {
    clock = manualClock(new Date());
    shop = await adminShop({
      clock,
      env: {
        TRUST_PROXY: 'loopback',
        SWEEP_INTERVAL_SECONDS: '0',
        CHECKOUT_MAX_OPEN_PER_SESSION: '3',
        CHECKOUT_MAX_OPEN_PER_ADDRESS: '3',
        CHECKOUT_MAX_UNITS_PER_ADDRESS: '1000',
      },
    });
  });
  afterAll(async () => {
    await shop.close();
  });
  beforeEach(() => {
    // each test after the windows of the one before
    clock.advance(2 * 3600 * 1000);
  });

  test('checkouts from four addresses of one /64 (each a new session) are one address: the fourth is refused, another /64 is not', async () => {
    const statuses: number[] = [];
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff:ffff:ffff:fffe', '2001:0db8:0001:0002::9']) {
      const shopper = new Shopper(shop.url, shop.db.knex);
      shopper.agent.set('X-Forwarded-For', ip);
      await shopper.add('GEEK-CBL-01', 1);
      statuses.push((await shopper.submitCheckout({ pay_type: 'cod' })).status);
    }
    expect(statuses).toEqual([303, 303, 303, 409]);
    // what the shop records and counts: the /64
    expect(Number((await shop.db.knex('orders').where({ client_ip: '2001:db8:1:2::/64' }).count({ n: '*' }).first())?.n)).toBe(3);
    const neighbour = new Shopper(shop.url, shop.db.knex);
    neighbour.agent.set('X-Forwarded-For', '2001:db8:1:3::1');
    await neighbour.add('GEEK-CBL-01', 1);
    expect((await neighbour.submitCheckout({ pay_type: 'cod' })).status).toBe(303);
  });

  test('an IPv4-mapped IPv6 address is the IPv4 address it is', async () => {
    const before = await orderCount();
    const statuses: number[] = [];
    for (const ip of ['198.51.100.77', '::ffff:198.51.100.77', '::FFFF:198.51.100.77', '198.51.100.77']) {
      const shopper = new Shopper(shop.url, shop.db.knex);
      shopper.agent.set('X-Forwarded-For', ip);
      await shopper.add('GEEK-CBL-01', 1);
      statuses.push((await shopper.submitCheckout({ pay_type: 'cod' })).status);
    }
    expect(statuses).toEqual([303, 303, 303, 409]);
    expect(await orderCount()).toBe(before + 3);
    expect(Number((await shop.db.knex('orders').where({ client_ip: '198.51.100.77' }).count({ n: '*' }).first())?.n)).toBe(3);
  });

  test('order lookup: five misses from addresses of one /64 refuse the sixth from a seventh address of it; another /64 still looks up', async () => {
    const guess = async (ip: string, orderId: string) => {
      const agent = request.agent(shop.url);
      const token = csrfOf((await agent.get('/orders/find').set('X-Forwarded-For', ip).expect(200)).text);
      return (await agent.post('/orders/find').set('X-Forwarded-For', ip).type('form').send({ _csrf: token, order_id: orderId, mobile: '13900000000' })).status;
    };
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i++) statuses.push(await guess(`2001:db8:77:1::${i.toString(16)}`, String(100000 + i)));
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    expect(await guess('2001:db8:77:1:abcd::1', '200001')).toBe(429);
    expect(await guess('2001:db8:77:2::1', '200002')).toBe(400);
  });

  test("the admin's login: twenty wrong passwords from one /64, spread over its addresses and user names, lock that /64 out, not the next", async () => {
    for (let i = 1; i <= 20; i++) {
      const res = await new Admin(shop.url).login(`user${i}`, 'wrong', undefined, { 'X-Forwarded-For': `2001:db8:99:1::${i.toString(16)}` });
      expect([i, res.status]).toEqual([i, 401]);
    }
    const locked = await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, { 'X-Forwarded-For': '2001:db8:99:1:ffff::1' });
    expect(locked.status).toBe(429);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, { 'X-Forwarded-For': '2001:db8:99:2::1' })).status).toBe(303);
  });
});

/** Issue 26, item 4: the lookup's per-order counter is keyed on the order number, not the text typed. */
describe("the order lookup counts an order number however it is typed", () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = manualClock(new Date());
    shop = await adminShop({ clock, env: { TRUST_PROXY: 'loopback', SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('"7", "07", "#7", "007" and " 7 " from five addresses are five misses of order 7: the next try of 7 waits, whatever the spelling', async () => {
    const guess = async (ip: string, orderId: string) => {
      const agent = request.agent(shop.url);
      const token = csrfOf((await agent.get('/orders/find').set('X-Forwarded-For', ip).expect(200)).text);
      return agent.post('/orders/find').set('X-Forwarded-For', ip).type('form').send({ _csrf: token, order_id: orderId, mobile: '13900000000' });
    };
    const spellings = ['7', '07', '#7', '007', ' 7 '];
    for (const [i, spelling] of spellings.entries()) expect([spelling, (await guess(`198.51.100.${i + 1}`, spelling)).status]).toEqual([spelling, 400]);
    const next = await guess('198.51.100.50', '0007');
    expect(next.status).toBe(429);
    expect(Number(next.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // another order number is not slowed down by it
    expect((await guess('198.51.100.51', '8')).status).toBe(400);
    const keys = await shop.db.knex('admin_login_attempts').where('username', 'like', 'order:%').distinct('username').pluck('username');
    expect(keys.sort()).toEqual(['order:7', 'order:8']);
  });
});
