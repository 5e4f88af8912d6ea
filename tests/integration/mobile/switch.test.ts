import request from 'supertest';
import { waitFor } from '../admin/helpers';
import { expectCleanLedger, ordersOfTrade, v2ClientOf } from '../../helpers/ledger';
import { DeviceShopper, USER_AGENTS } from '../../helpers/mobile';
import { shopOnClock } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';
import type { ManualClock, TestShop } from '../../helpers/app';

/**
 * The visible switch between a device's own way to pay and a QR code: a new attempt each time
 * (WeChat refuses one out_trade_no with other parameters), the old one closed at WeChat and here,
 * or, inside WeChat's 5 minutes, left superseded for the sweeper; never paid twice unnoticed.
 */

const MINUTE = 60 * 1000;
const ordersOf = (shop: TestShop, outTradeNo: string) =>
  ordersOfTrade(shop.db.knex, outTradeNo).select('orders.id', 'orders.status', 'orders.out_trade_no');

describe('switching how to pay', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeEach(async () => {
    ({ shop, clock } = await shopOnClock());
  });
  afterEach(async () => {
    await shop.close();
  });

  test('before WeChat ever heard of it: "pay with a QR code instead" makes a NATIVE attempt for the same orders and closes the old one here', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const old = await shopper.buy([['TEA-MLH-100', 1], ['GEEK-CBL-01', 1]]);
    const switched = await shopper.postFrom(`/pay/${old}`, `/pay/${old}/switch`, { trade_type: 'NATIVE' });
    expect(switched.status).toBe(303);
    const fresh = /^\/pay\/(\w+)$/.exec(String(switched.headers.location))?.[1] as string;
    expect(fresh).not.toBe(old);
    // WeChat never had it, but a Pay pressed a moment before may be asking it right now: the old
    // attempt stays open, superseded, until the sweeper has asked WeChat
    expect(await knex('paylog').where({ out_trade_no: old }).first('trade_state', 'trade_type')).toEqual({ trade_state: 'NOTPAY', trade_type: 'MWEB' });
    expect(await knex('paylog').where({ out_trade_no: fresh }).first('trade_state', 'trade_type', 'total_fee')).toMatchObject({ trade_state: 'NOTPAY', trade_type: 'NATIVE' });
    expect((await ordersOf(shop, fresh)).map((o) => [o.status, o.out_trade_no])).toEqual([
      ['unpaid', fresh],
      ['unpaid', fresh],
    ]);
    // the QR code, and the switch back ("open WeChat to pay")
    const page = await shopper.agent.get(`/pay/${fresh}`).expect(200);
    expect(page.text).toContain('<svg');
    expect(page.text).toContain('name="trade_type" value="MWEB"');
    // the old page goes to the new one
    expect((await shopper.agent.get(`/pay/${old}`)).headers.location).toBe(`/pay/${fresh}`);
    // nothing was ever sent to WeChat for the old attempt; once a Pay pressed just before would long
    // be done (WeChat's 5 minutes), the sweeper asks WeChat and closes it
    expect(await knex('sim_trades').where({ out_trade_no: old }).first()).toBeUndefined();
    await shop.sweeper.sweepOnce();
    expect((await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('NOTPAY');
    clock.advance(5 * MINUTE);
    await shop.sweeper.sweepOnce();
    expect((await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('CLOSED');
    expect((await ordersOf(shop, fresh)).map((o) => o.status)).toEqual(['unpaid', 'unpaid']);
    await expectCleanLedger(shop, clock());
  });

  test("inside WeChat's first 5 minutes the old attempt stays open, superseded; its page and poll lead to the new one; the sweeper closes it once WeChat allows", async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const old = await shopper.buy([['TEA-MLH-100', 1]]);
    expect((await shopper.postFrom(`/pay/${old}`, `/pay/${old}/h5`)).status).toBe(303);
    clock.advance(MINUTE);
    const switched = await shopper.postFrom(`/pay/${old}`, `/pay/${old}/switch`, { trade_type: 'NATIVE' });
    const fresh = /^\/pay\/(\w+)$/.exec(String(switched.headers.location))?.[1] as string;
    expect(await knex('paylog').where({ out_trade_no: old }).first('trade_state')).toEqual({ trade_state: 'NOTPAY' });
    expect((await knex('sim_trades').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('NOTPAY');
    expect((await ordersOf(shop, old)).map((o) => o.out_trade_no)).toEqual([fresh]);
    expect((await shopper.agent.get(`/pay/${old}`)).headers.location).toBe(`/pay/${fresh}`);
    const poll = await shopper.agent.get(`/pay/${old}/status`).expect(200);
    expect(poll.body).toEqual({ state: 'MOVED', redirect: `/pay/${fresh}` });
    const switchedLine = (await knex('order_log').whereIn('order_id', (await ordersOf(shop, old)).map((o) => o.id)).orderBy('id', 'desc').first('event', 'params')) as { event: string; params: unknown };
    expect(switchedLine.event).toBe('attempt_switched');
    expect(typeof switchedLine.params === 'string' ? JSON.parse(switchedLine.params) : switchedLine.params).toEqual({ fresh, old, tradeType: 'NATIVE', oldTradeType: 'MWEB', closeLater: true });

    // too early for WeChat: the sweeper leaves it; past the 5 minutes it closes it there and here
    expect(await shop.sweeper.sweepOnce()).toBeGreaterThanOrEqual(0);
    expect((await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('NOTPAY');
    clock.advance(5 * MINUTE);
    await shop.sweeper.sweepOnce();
    expect((await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('CLOSED');
    expect((await knex('sim_trades').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('CLOSED');
    // its orders stay with the new attempt, unpaid
    expect((await ordersOf(shop, fresh)).map((o) => [o.status, o.out_trade_no])).toEqual([['unpaid', fresh]]);
    await expectCleanLedger(shop, clock());
  });

  test('paid at WeChat by the superseded attempt after all: the orders are paid, the new attempt shows the success, the ledger is clean', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const old = await shopper.buy([['TEA-MLH-100', 1]]);
    const pressed = await shopper.postFrom(`/pay/${old}`, `/pay/${old}/h5`);
    const cashier = new URL(String(pressed.headers.location));
    const switched = await shopper.postFrom(`/pay/${old}`, `/pay/${old}/switch`, { trade_type: 'NATIVE' });
    const fresh = /^\/pay\/(\w+)$/.exec(String(switched.headers.location))?.[1] as string;
    await shopper.agent.get(`/pay/${fresh}`).expect(200);

    // the shopper had WeChat's cashier open still, and pays there
    const opened = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`).expect(200);
    const token = /name="token" value="([^"]+)"/.exec(opened.text)?.[1] as string;
    await request(shop.url).post('/wxsim/h5pay/pay').set('Origin', shop.url).type('form').send({ prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package'), token }).expect(200);
    await waitFor('the notify', async () => (await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state === 'SUCCESS');
    expect(await knex('paylog').where({ out_trade_no: old }).first('flag')).toEqual({ flag: null });
    expect((await ordersOf(shop, fresh)).map((o) => [o.status, o.out_trade_no])).toEqual([['paid', old]]);
    // the new attempt's page and poll say paid, and lead to the payment that paid
    expect((await shopper.agent.get(`/pay/${fresh}/status`).expect(200)).body).toEqual({ state: 'SUCCESS', redirect: `/pay/${old}/success` });
    const page = await shopper.agent.get(`/pay/${fresh}`);
    expect(page.headers.location).toBe(`/pay/${old}/success`);
    await expectCleanLedger(shop, clock());
  });

  test('both attempts paid (the QR code and the old cashier): the second is kept and flagged double_payment for a refund', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const old = await shopper.buy([['TEA-MLH-100', 1]]);
    const cashier = new URL(String((await shopper.postFrom(`/pay/${old}`, `/pay/${old}/h5`)).headers.location));
    const fresh = /^\/pay\/(\w+)$/.exec(String((await shopper.postFrom(`/pay/${old}`, `/pay/${old}/switch`, { trade_type: 'NATIVE' })).headers.location))?.[1] as string;
    await shopper.agent.get(`/pay/${fresh}`).expect(200);
    const { code_url: codeUrl } = (await knex('paylog').where({ out_trade_no: fresh }).first('code_url')) as { code_url: string };
    expect((await payOnPhone(shop.url, codeUrl)).status).toBe(200);
    await waitFor('the QR payment', async () => (await knex('paylog').where({ out_trade_no: fresh }).first('trade_state')).trade_state === 'SUCCESS');
    const opened = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`).expect(200);
    const token = /name="token" value="([^"]+)"/.exec(opened.text)?.[1] as string;
    await request(shop.url).post('/wxsim/h5pay/pay').set('Origin', shop.url).type('form').send({ prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package'), token }).expect(200);
    await waitFor('the H5 payment', async () => (await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state === 'SUCCESS');
    expect(await knex('paylog').where({ out_trade_no: old }).first('flag')).toEqual({ flag: 'double_payment' });
    expect((await ordersOf(shop, fresh)).map((o) => [o.status, o.out_trade_no])).toEqual([['paid', fresh]]);
    await expectCleanLedger(shop, clock());
  });

  test('a switch never extends the time the orders hold their stock, and switching back and forth ends at 10 attempts with a 409', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    let current = await shopper.buy([['TEA-MLH-100', 1]]);
    const first = (await knex('paylog').where({ out_trade_no: current }).first('create_time')) as { create_time: Date };
    const offeredUntil = new Date(first.create_time.getTime() + 900 * 1000);
    // one session makes at most 4 new attempts (src/pay/routes.ts): the orders' own 10 are reached
    // by the shopper's browser and two more that found the order by its number and mobile
    const orderId = Number(((await knex('paylog_orders').where({ out_trade_no: current }).first('order_id')) as { order_id: number }).order_id);
    const browsers = [shopper];
    for (let b = 0; b < 2; b++) {
      const other = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
      const found = await other.postFrom('/orders/find', '/orders/find', { order_id: String(orderId), mobile: '13800138000' });
      expect(found.status).toBe(303);
      browsers.push(other);
    }
    clock.advance(2 * MINUTE);
    for (let i = 1; i < 10; i++) {
      const browser = browsers[Math.floor((i - 1) / 4)] as DeviceShopper;
      const res = await browser.postFrom(`/pay/${current}`, `/pay/${current}/switch`, { trade_type: i % 2 === 1 ? 'NATIVE' : 'MWEB' });
      expect([i, res.status]).toEqual([i, 303]);
      current = /^\/pay\/(\w+)$/.exec(String(res.headers.location))?.[1] as string;
      // the new attempt is offered until the first one's time, not a fresh 15 minutes
      const row = (await knex('paylog').where({ out_trade_no: current }).first('code_url_expires_at')) as { code_url_expires_at: Date };
      expect([i, row.code_url_expires_at.getTime()]).toEqual([i, offeredUntil.getTime()]);
    }
    // the third browser has made one: the orders' bound answers, not the session's
    const refused = await (browsers[2] as DeviceShopper).postFrom(`/pay/${current}`, `/pay/${current}/switch`, { trade_type: 'MWEB' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('这些订单已经尝试支付太多次');
    expect(Number((await knex('paylog').count({ n: '*' }).first())?.n)).toBe(10);
    await expectCleanLedger(shop, clock());
  });

  test('Pay pressed a moment before the switch (its unifiedorder still on the way): the payer is not sent to WeChat, the old trade is closed there by the sweeper', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const old = await shopper.buy([['TEA-MLH-100', 1]]);
    // WeChat answers this unifiedorder slowly: it returns only once the switch is done (time, not a mock of WeChat)
    const client = v2ClientOf(shop);
    const unifiedOrder = client.unifiedOrder.bind(client);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let asked: () => void = () => undefined;
    const askedWechat = new Promise<void>((resolve) => (asked = resolve));
    client.unifiedOrder = async (args) => {
      const answer = await unifiedOrder(args);
      asked();
      await released;
      return answer;
    };
    try {
      const page = await shopper.agent.get(`/pay/${old}`).expect(200);
      const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] as string;
      const pressing = shopper.agent.post(`/pay/${old}/h5`).type('form').send({ _csrf: token });
      const pressed = pressing.then((r) => r);
      await askedWechat;
      const switched = await shopper.agent.post(`/pay/${old}/switch`).type('form').send({ _csrf: token, trade_type: 'NATIVE' });
      expect(switched.status).toBe(303);
      const fresh = /^\/pay\/(\w+)$/.exec(String(switched.headers.location))?.[1] as string;
      release();
      const answer = await pressed;
      // not to the cashier: to the attempt that is on offer now
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe(`/pay/${old}`);
      expect((await shopper.agent.get(`/pay/${old}`)).headers.location).toBe(`/pay/${fresh}`);
    } finally {
      client.unifiedOrder = unifiedOrder;
    }
    // WeChat has the old trade (ordered just as the switch happened), unpaid: never left payable once WeChat allows closing
    expect((await knex('sim_trades').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('NOTPAY');
    expect((await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('NOTPAY');
    clock.advance(6 * MINUTE);
    await shop.sweeper.sweepOnce();
    expect((await knex('sim_trades').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('CLOSED');
    expect((await knex('paylog').where({ out_trade_no: old }).first('trade_state')).trade_state).toBe('CLOSED');
    await expectCleanLedger(shop, clock());
  });

  test('a switch to a way the shop does not offer, or to nothing, is a 400 that changes nothing', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.desktop);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    for (const tradeType of ['APP', '', 'native']) {
      const res = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/switch`, { trade_type: tradeType });
      expect([tradeType, res.status]).toEqual([tradeType, 400]);
    }
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'trade_type')).toEqual({ trade_state: 'NOTPAY', trade_type: 'NATIVE' });
    expect(Number((await knex('paylog').count({ n: '*' }).first())?.n)).toBe(1);
  });
});
