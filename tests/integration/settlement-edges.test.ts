import { DEFAULT_QR_TTL_SECONDS } from '../../src/config';
import request from 'supertest';
import { closeAttempt, markPaid, orderEvent } from '../../src/ledger';
import { startSecondInstance, type TestShop } from '../helpers/app';
import { addFault, postNotify, shopOnClock, signedNotify, tradeWithQr } from '../helpers/settlement';
import { Shopper, csrfOf, payOnPhone } from '../helpers/shopper';
import { setStockOf } from '../helpers/stock';

// The edges of settlement where money could be lost, counted twice or left half-done.

/** Here the poll never asks WeChat by itself unless a test says so. */
const edgeShop = (env: NodeJS.ProcessEnv = {}) => shopOnClock({ POLL_QUERY_AFTER_SECONDS: '3600', ...env });

async function renew(shopper: Shopper, outTradeNo: string) {
  const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
  return shopper.agent.post(`/pay/${outTradeNo}/renew`).type('form').send({ _csrf: csrfOf(page.text) });
}

describe('"pay again" never lets a payment be lost or taken twice', () => {
  test('paid in the QR code\'s last seconds with the notify still on its way: "pay again" finds the payment and goes to success', async () => {
    const { shop, clock } = await edgeShop();
    try {
      const knex = shop.db.knex;
      const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-RICE-5', 1]]);
      await addFault(shop, { out_trade_no: outTradeNo, kind: 'notify_delay', delay_seconds: 3600 });
      clock.advance(DEFAULT_QR_TTL_SECONDS * 1000 - 10_000);
      await payOnPhone(shop.url, paylog.code_url);
      clock.advance(20_000);
      const res = await renew(shopper, outTradeNo);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/pay/${outTradeNo}/success`);
      expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'flag')).toEqual({ trade_state: 'SUCCESS', flag: null });
      expect(await knex('paylog_orders').join('orders', 'orders.id', 'paylog_orders.order_id').where('paylog_orders.out_trade_no', outTradeNo).pluck('orders.status')).toEqual(['paid']);
      expect(Number((await knex('paylog').where({ shopper_id: (await knex('paylog').where({ out_trade_no: outTradeNo }).first('shopper_id')).shopper_id }).count({ n: '*' }).first())?.n)).toBe(1);
    } finally {
      await shop.close();
    }
  });

  test('an unpaid expired attempt is closed at WeChat before the new one is made, so the old QR code can no longer be paid', async () => {
    const { shop, clock } = await edgeShop();
    try {
      const knex = shop.db.knex;
      const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-RICE-5', 1]]);
      clock.advance(DEFAULT_QR_TTL_SECONDS * 1000 + 1000);
      const res = await renew(shopper, outTradeNo);
      const fresh = /^\/pay\/(\d+)$/.exec(res.headers.location ?? '')?.[1];
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(outTradeNo);
      expect((await knex('sim_trades').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('CLOSED');
      const phone = await payOnPhone(shop.url, paylog.code_url).catch((err: unknown) => err);
      expect((phone as { status?: number }).status).not.toBe(200);
    } finally {
      await shop.close();
    }
  });

  test('a payment whose orders were already paid by another attempt is kept and flagged as a double payment', async () => {
    const { shop } = await edgeShop();
    try {
      const knex = shop.db.knex;
      const { outTradeNo: first, paylog } = await tradeWithQr(shop, [['FARM-HNY-500', 1]]);
      const [{ order_id: orderId }] = await knex('paylog_orders').where({ out_trade_no: first });
      // a second attempt for the same order, made by hand as "pay again" would
      const second = '209912312359590000000001';
      await knex('paylog').insert({ out_trade_no: second, shopper_id: 'x', total_fee: paylog.total_fee, trade_state: 'NOTPAY' });
      await knex('paylog_orders').insert({ out_trade_no: second, order_id: orderId });
      const now = new Date();
      expect((await markPaid(knex, { outTradeNo: first, transactionId: '4200000000202611250000009001', totalFee: paylog.total_fee, paidAt: now, source: 'notify', now })).outcome).toBe('paid');
      const result = await markPaid(knex, { outTradeNo: second, transactionId: '4200000000202611250000009002', totalFee: paylog.total_fee, paidAt: now, source: 'notify', now });
      expect(result.outcome).toBe('double_payment');
      expect(await knex('paylog').where({ out_trade_no: second }).first('trade_state', 'flag')).toEqual({ trade_state: 'SUCCESS', flag: 'double_payment' });
      expect(await knex('order_log').where({ order_id: orderId, to_status: 'paid' }).count({ n: '*' }).first()).toEqual({ n: 1 });
    } finally {
      await shop.close();
    }
  });

  test('a conflicting transaction id does not wipe a late-payment flag', async () => {
    const { shop } = await edgeShop();
    try {
      const knex = shop.db.knex;
      const { outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-DATE-1', 1]]);
      const now = new Date();
      await closeAttempt(knex, { outTradeNo, now, operator: 'system', event: orderEvent('closed_expired', {}), wechat: 'closed' });
      expect((await markPaid(knex, { outTradeNo, transactionId: '4200000000202611250000009101', totalFee: paylog.total_fee, paidAt: now, source: 'notify', now })).outcome).toBe('late_payment');
      expect((await markPaid(knex, { outTradeNo, transactionId: '4200000000202611250000009102', totalFee: paylog.total_fee, paidAt: now, source: 'notify', now })).outcome).toBe('conflict');
      expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('flag', 'conflict_transaction_id', 'transaction_id')).toEqual({
        flag: 'late_payment',
        conflict_transaction_id: '4200000000202611250000009102',
        transaction_id: '4200000000202611250000009101',
      });
    } finally {
      await shop.close();
    }
  });
});

describe('more edges', () => {
  let shop: TestShop;
  beforeAll(async () => {
    ({ shop } = await edgeShop());
  });
  afterAll(async () => {
    await shop.close();
  });

  test('ORDERPAID on unifiedorder whose orderquery does not settle here (amount differs) answers an error page, never a loop', async () => {
    const knex = shop.db.knex;
    const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'notify_drop' });
    await payOnPhone(shop.url, paylog.code_url);
    // our record lost its code_url and disagrees on the amount: WeChat's ORDERPAID cannot settle it
    await knex('paylog').where({ out_trade_no: outTradeNo }).update({ code_url: null, code_url_expires_at: null, total_fee: paylog.total_fee + 1 });
    const started = Date.now();
    const res = await shopper.agent.get(`/pay/${outTradeNo}`);
    expect(res.status).toBe(502);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await knex('sim_trades').where({ out_trade_no: outTradeNo }).count({ n: '*' }).first()).toEqual({ n: 1 });
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('NOTPAY');
  });

  test('closing a trade WeChat never saw refuses when it was ordered there (a QR code drawn) meanwhile', async () => {
    const knex = shop.db.knex;
    const { outTradeNo } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    const outcome = await closeAttempt(knex, { outTradeNo, now: new Date(), operator: 'admin:test', event: orderEvent('closed_by_admin', {}), wechat: 'not_found' });
    expect(outcome).toBe('ordered_meanwhile');
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('NOTPAY');
  });

  test('an error raised before the page middleware (a form body over 16 kB) is a page in Chinese, never a stack trace', async () => {
    const res = await request(shop.url).post('/cart/add').type('form').send(`product_id=1&quantity=1&pad=${'x'.repeat(20_000)}`);
    expect(res.status).toBe(413);
    expect(res.text).toContain('<h1>请检查后重试</h1>');
    expect(res.text).not.toMatch(/at .*\.ts:\d+|node_modules|Error:/);
  });

  test('a refused notify keeps only the first 4 KiB of its body', async () => {
    // (under the 8 KiB a webhook reads at all)
    const res = await postNotify(shop, `<xml><attach>${'y'.repeat(6_000)}</attach></xml>`);
    expect(res.status).toBe(400);
    const logged = await shop.db.knex('notify_log').orderBy('id', 'desc').first('raw_body', 'verdict');
    expect(logged.verdict).toBe('missing_signature');
    expect(logged.raw_body.length).toBeLessThan(4200);
    expect(logged.raw_body).toContain('truncated');
  });

  test('a refused refund notify keeps only the first 4 KiB of its body too', async () => {
    const res = await request(shop.url).post('/wxpay/refund-notify').set('Content-Type', 'text/xml').send(`<xml><req_info>${'z'.repeat(6_000)}</req_info></xml>`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    const logged = await shop.db.knex('notify_log').where({ kind: 'refund' }).orderBy('id', 'desc').first('raw_body');
    expect(logged.raw_body.length).toBeLessThan(4200);
    expect(logged.raw_body).toContain('truncated');
  });

  test('a visitor who only looked is kept a day; a shopper with a cart a week', async () => {
    const knex = shop.db.knex;
    const looker = request.agent(shop.url);
    await looker.get('/').expect(200);
    const shopper = new Shopper(shop.url, knex);
    await shopper.add('FARM-PIN-01', 1);
    const rows = (await knex('sessions').select('sess', 'expires_at')) as { sess: Record<string, unknown>; expires_at: Date }[];
    const lookers = rows.filter((r) => !r.sess.cart);
    const carts = rows.filter((r) => r.sess.cart);
    expect(lookers.length).toBeGreaterThan(0);
    expect(carts.length).toBeGreaterThan(0);
    for (const r of lookers) expect(r.expires_at.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000 + 5000);
    for (const r of carts) expect(r.expires_at.getTime() - Date.now()).toBeGreaterThan(6 * 24 * 3600 * 1000);
  });

  test('a session id planted before shopping is replaced when the first item goes into the cart', async () => {
    const knex = shop.db.knex;
    const attacker = request.agent(shop.url);
    const home = await attacker.get('/').expect(200);
    const planted = /wxshop\.sid=([^;]+)/.exec(String(home.headers['set-cookie']))?.[1];
    expect(planted).toBeDefined();
    // the victim's browser carries the planted cookie and shops
    const victim = request.agent(shop.url);
    const token = csrfOf(home.text);
    const productId = String((await knex('products').where({ sku: 'FARM-DATE-1' }).first('id')).id);
    const added = await victim.post('/cart/add').set('Cookie', `wxshop.sid=${planted}`).type('form').send({ _csrf: token, product_id: productId, quantity: '1' });
    expect(added.status).toBe(303);
    const fresh = /wxshop\.sid=([^;]+)/.exec(String(added.headers['set-cookie']))?.[1];
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(planted);
    // the attacker's (planted) session sees no cart
    expect((await attacker.get('/cart')).text).toContain('购物车是空的');
  });
});

describe('wake-ups survive a broken LISTEN connection (PostgreSQL server)', () => {
  const onServer = process.env.DATABASE_URL ? test : test.skip;
  onServer('after the LISTEN connection is killed, waiting polls look again, and later notifies still wake them', async () => {
    const { shop } = await edgeShop();
    const other = await startSecondInstance(shop);
    try {
      const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
      const poll = shopper.agent.get(`/pay/${outTradeNo}/status?wait=20`).set('Accept', 'application/json').then((r) => r);
      await new Promise((r) => setTimeout(r, 200));
      expect(shop.waiters.size).toBe(1);
      // kill every LISTEN connection of this database
      await shop.db.knex.raw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
      const first = await poll;
      expect(first.body).toEqual({ state: 'NOTPAY' });
      // reconnected: a notify received by the other instance wakes a new poll here
      const deadline = Date.now() + 5000;
      let listening = false;
      while (!listening && Date.now() < deadline) {
        const { rows } = await shop.db.knex.raw<{ rows: unknown[] }>("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'");
        listening = rows.length >= 2;
        if (!listening) await new Promise((r) => setTimeout(r, 50));
      }
      expect(listening).toBe(true);
      const second = shopper.agent.get(`/pay/${outTradeNo}/status?wait=20`).set('Accept', 'application/json').then((r) => r);
      await new Promise((r) => setTimeout(r, 200));
      const sent = Date.now();
      await request(other.url)
        .post('/wxpay/notify')
        .set('Content-Type', 'text/xml')
        .send(signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee, transaction_id: '4200000000202611250000009201' }))
        .expect(200);
      expect((await second).body.state).toBe('SUCCESS');
      expect(Date.now() - sent).toBeLessThan(1000);
    } finally {
      await other.stop();
      await shop.close();
    }
  });
});

describe('double submit at the last unit (concurrent transactions on a server)', () => {
  test('both submits of one form answer the same pay page, even when they raced for the last unit', async () => {
    const { shop } = await edgeShop();
    try {
      const knex = shop.db.knex;
      await setStockOf(knex, 'GEEK-KBD-87', 1);
      for (let round = 0; round < 5; round += 1) {
        await setStockOf(knex, 'GEEK-KBD-87', 1);
        const shopper = new Shopper(shop.url, knex);
        await shopper.add('GEEK-KBD-87', 1);
        const { checkoutToken } = await shopper.checkoutForm();
        const [a, b] = await Promise.all([shopper.submitCheckout({}, checkoutToken), shopper.submitCheckout({}, checkoutToken)]);
        expect([a.status, b.status]).toEqual([303, 303]);
        expect(a.headers.location).toBe(b.headers.location);
        expect((await knex('product_variants').where({ sku: 'GEEK-KBD-87' }).first('stock')).stock).toBe(0);
      }
    } finally {
      await shop.close();
    }
  });
});
