import { DEFAULT_QR_TTL_SECONDS } from '../../src/config';
import request from 'supertest';
import { closeAttempt, orderEvent } from '../../src/ledger';
import { buildPaymentNotify, successReply } from '../../src/wechatpay';
import { startSecondInstance, type ManualClock, type TestShop } from '../helpers/app';
import { addFault, merchantOf, postNotify, shopOnClock, signedNotify, tradeWithQr } from '../helpers/settlement';
import { payOnPhone } from '../helpers/shopper';
import { ordersOfTrade } from '../helpers/ledger';

const SUCCESS = successReply();

async function rowsOf(shop: TestShop, outTradeNo: string) {
  const knex = shop.db.knex;
  const paylog = await knex('paylog').where({ out_trade_no: outTradeNo }).first();
  const orders = await ordersOfTrade(knex, outTradeNo).select('orders.*');
  const logs = await knex('order_log').whereIn('order_id', orders.map((o: { id: number }) => o.id)).orderBy('id');
  return { paylog, orders, logs };
}

describe('settlement: the notify webhook and markPaid', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    ({ shop, clock } = await shopOnClock());
  });
  afterAll(async () => {
    await shop.close();
  });

  test('50 concurrent copies of one notify: one state change, one order_log row per order, 50 SUCCESS replies', async () => {
    const { outTradeNo, paylog } = await tradeWithQr(shop);
    const body = signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee, transaction_id: '4200000000202611250000000050' });
    const replies = await Promise.all(Array.from({ length: 50 }, () => postNotify(shop, body)));
    expect(replies.map((r) => r.status)).toEqual(new Array(50).fill(200));
    expect(new Set(replies.map((r) => r.text))).toEqual(new Set([SUCCESS]));
    expect(replies[0]?.headers['content-type']).toMatch(/^text\/xml/);

    const { paylog: after, orders, logs } = await rowsOf(shop, outTradeNo);
    expect(after).toMatchObject({ trade_state: 'SUCCESS', transaction_id: '4200000000202611250000000050', flag: null });
    expect(orders.map((o: { status: string }) => o.status)).toEqual(['paid', 'paid']);
    const paidLogs = logs.filter((l: { to_status: string }) => l.to_status === 'paid');
    expect(paidLogs).toHaveLength(2);
    expect(paidLogs.every((l: { operator: string; event: string; params: unknown }) => l.operator === 'system' && l.event === 'paid' && JSON.stringify(l.params).includes('4200000000202611250000000050'))).toBe(true);
    const verdicts = await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo }).pluck('verdict');
    expect(verdicts).toHaveLength(50);
    const metrics = (await request(shop.url).get('/metrics')).text;
    expect(metrics).toMatch(/wxpay_notifies_total\{kind="pay",verdict="duplicate"\} (49|[5-9]\d|\d{3,})/);
    expect(metrics).toMatch(/pay_markpaid_outcomes_total\{outcome="paid",source="notify"\} [1-9]/);
    expect(verdicts.filter((v: string) => v === 'paid')).toHaveLength(1);
    expect(verdicts.filter((v: string) => v === 'duplicate')).toHaveLength(49);
  });

  describe('a notify that must be refused answers FAIL, changes nothing and is on record', () => {
    const cases: [string, (shop: TestShop, outTradeNo: string, fee: number) => string, number, string][] = [
      ['a bad signature', (s, no, fee) => signedNotify(s, { out_trade_no: no, total_fee: fee }).replace(/<sign><!\[CDATA\[(\w)/, (_m, c: string) => `<sign><![CDATA[${c === 'A' ? 'B' : 'A'}`), 401, 'bad_signature'],
      ['no signature at all', (s, no, fee) => signedNotify(s, { out_trade_no: no, total_fee: fee }).replace(/<sign>.*?<\/sign>/, ''), 400, 'missing_signature'],
      ['a tampered amount under the original signature', (s, no, fee) => signedNotify(s, { out_trade_no: no, total_fee: fee }).replace(`<total_fee><![CDATA[${fee}]]></total_fee>`, `<total_fee><![CDATA[${fee + 100}]]></total_fee>`), 401, 'bad_signature'],
      ['a validly signed wrong amount', (s, no, fee) => signedNotify(s, { out_trade_no: no, total_fee: fee + 1, cash_fee: fee + 1 }), 409, 'amount_mismatch'],
      ['a wrong appid', (s, no, fee) => buildPaymentNotify({ out_trade_no: no, total_fee: fee, transaction_id: '4200000000202611250000000002', time_end: '20261125120000' }, { ...merchantOf(s), appId: 'wx1111111111111111' }), 403, 'wrong_merchant'],
      ['a wrong mch_id', (s, no, fee) => buildPaymentNotify({ out_trade_no: no, total_fee: fee, transaction_id: '4200000000202611250000000003', time_end: '20261125120000' }, { ...merchantOf(s), mchId: '1234567890' }), 403, 'wrong_merchant'],
      ['a foreign currency', (s, no, fee) => signedNotify(s, { out_trade_no: no, total_fee: fee, fee_type: 'USD' }), 400, 'bad_fee_type'],
      ['an unknown trade', (s, _no, fee) => signedNotify(s, { out_trade_no: '209901010000000000000000', total_fee: fee }), 404, 'unknown_trade'],
      ['hostile XML (XXE)', () => '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><out_trade_no>&x;</out_trade_no></xml>', 400, 'bad_xml'],
      ['a __proto__ field', (s, no, fee) => signedNotify(s, { out_trade_no: no, total_fee: fee }).replace('<xml>', '<xml><__proto__>x</__proto__>'), 400, 'bad_xml'],
      ['not XML', () => 'total_fee=1&out_trade_no=x', 400, 'bad_xml'],
      ['result_code FAIL', (s, no, fee) => signedNotify(s, { out_trade_no: no, total_fee: fee, result_code: 'FAIL', err_code: 'X' }), 400, 'not_success'],
    ];
    test.each(cases)('%s', async (_name, makeBody, status, verdict) => {
      const { outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
      const before = await rowsOf(shop, outTradeNo);
      const res = await postNotify(shop, makeBody(shop, outTradeNo, paylog.total_fee));
      expect(res.status).toBe(status);
      expect(res.text).toMatch(/^<xml><return_code><!\[CDATA\[FAIL\]\]><\/return_code><return_msg><!\[CDATA\[[^\]]+\]\]><\/return_msg><\/xml>$/);
      expect(await rowsOf(shop, outTradeNo)).toEqual(before);
      const logged = await shop.db.knex('notify_log').orderBy('id', 'desc').first();
      expect(logged).toMatchObject({ kind: 'pay', verdict });
      expect(logged.raw_body.length).toBeGreaterThan(0);
    });

    test('a body over 64 KiB', async () => {
      const res = await postNotify(shop, `<xml><attach>${'x'.repeat(70 * 1024)}</attach></xml>`);
      expect(res.status).toBe(413);
      expect(res.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
    });
  });

  test('a database failure during a notify never answers SUCCESS, and WeChat\'s retry lands it once the database is back', async () => {
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-HNY-500', 1]]);
    const knex = shop.db.knex;
    // the database refuses every change to paylog, as a broken or read-only database would
    await knex.raw(`CREATE FUNCTION refuse_paylog_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'database unavailable'; END $$`);
    await knex.raw('CREATE TRIGGER refuse_paylog_writes BEFORE UPDATE ON paylog FOR EACH ROW EXECUTE FUNCTION refuse_paylog_writes()');
    try {
      const res = await payOnPhone(shop.url, paylog.code_url);
      expect(res.status).toBe(200);
      await shop.simulator?.runDueWork();
      const notification = await knex('sim_notifications').orderBy('id', 'desc').first();
      expect(notification.attempts).toBeGreaterThanOrEqual(1);
      expect(notification.delivered_at).toBeNull();
      expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('NOTPAY');
      expect(await knex('notify_log').where({ out_trade_no: outTradeNo }).pluck('verdict')).toContain('error');
    } finally {
      await knex.raw('DROP TRIGGER refuse_paylog_writes ON paylog');
      await knex.raw('DROP FUNCTION refuse_paylog_writes()');
    }
    // the simulator retries on WeChat's schedule (15 s, divided by SIM_TIME_SCALE=1000 here)
    clock.advance(1000);
    await shop.simulator?.runDueWork();
    const { paylog: after, orders } = await rowsOf(shop, outTradeNo);
    expect(after.trade_state).toBe('SUCCESS');
    expect(orders.map((o: { status: string }) => o.status)).toEqual(['paid']);
    expect(await knex('notify_log').where({ out_trade_no: outTradeNo, verdict: 'paid' }).count({ n: '*' }).first()).toEqual({ n: 1 });
  });

  test('a second, different transaction id for a paid trade is kept for the admin and overwrites nothing', async () => {
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-DATE-1', 1]]);
    await postNotify(shop, signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee, transaction_id: '4200000000202611250000000111' })).expect(200);
    const res = await postNotify(shop, signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee, transaction_id: '4200000000202611250000000222' }));
    expect(res.text).toBe(SUCCESS);
    expect(await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'transaction_id', 'flag', 'conflict_transaction_id')).toEqual({
      trade_state: 'SUCCESS',
      transaction_id: '4200000000202611250000000111',
      flag: 'conflict',
      conflict_transaction_id: '4200000000202611250000000222',
    });
  });
});

describe('settlement: the status long-poll', () => {
  let shop: TestShop;
  beforeAll(async () => {
    ({ shop } = await shopOnClock({ POLL_QUERY_AFTER_SECONDS: '3600' }));
  });
  afterAll(async () => {
    await shop.close();
  });

  test('a waiting poll answers as soon as the notify lands, with the success page to go to', async () => {
    const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    const started = Date.now();
    // (supertest sends a request when it is awaited: then() sends it now)
    const poll = shopper.agent.get(`/pay/${outTradeNo}/status?wait=20`).set('Accept', 'application/json').then((r) => r);
    await new Promise((r) => setTimeout(r, 200));
    expect(shop.waiters.size).toBe(1);
    await postNotify(shop, signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee, transaction_id: '4200000000202611250000000301' })).expect(200);
    const res = await poll;
    expect(res.body).toEqual({ state: 'SUCCESS', redirect: `/pay/${outTradeNo}/success` });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(shop.waiters.size).toBe(0);
  });

  test('an unpaid trade answers NOTPAY when the wait is over, and at once without a wait', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    expect((await shopper.agent.get(`/pay/${outTradeNo}/status`)).body).toEqual({ state: 'NOTPAY' });
    const started = Date.now();
    expect((await shopper.agent.get(`/pay/${outTradeNo}/status?wait=1`)).body).toEqual({ state: 'NOTPAY' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  test('a bad wait parameter is a 400 with a message', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    const res = await shopper.agent.get(`/pay/${outTradeNo}/status?wait=soon`).set('Accept', 'application/json');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('wait 参数必须是秒数。');
  });

  test('a client that goes away removes its waiter at once', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    const req = shopper.agent.get(`/pay/${outTradeNo}/status?wait=20`);
    req.then(
      () => undefined,
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(shop.waiters.size).toBe(1);
    req.abort();
    const deadline = Date.now() + 2000;
    while (shop.waiters.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(shop.waiters.size).toBe(0);
  });

  test('a waiting poll on instance A answers within 1 s of a notify received by instance B', async () => {
    const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    const other = await startSecondInstance(shop);
    try {
      const poll = shopper.agent.get(`/pay/${outTradeNo}/status?wait=20`).set('Accept', 'application/json').then((r) => r);
      await new Promise((r) => setTimeout(r, 300));
      expect(shop.waiters.size).toBe(1);
      const sent = Date.now();
      await request(other.url)
        .post('/wxpay/notify')
        .set('Content-Type', 'text/xml')
        .send(signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee, transaction_id: '4200000000202611250000000401' }))
        .expect(200);
      const res = await poll;
      expect(res.body.state).toBe('SUCCESS');
      expect(Date.now() - sent).toBeLessThan(1000);
    } finally {
      await other.stop();
    }
  });
});

describe('settlement: bounds of the long-poll', () => {
  test('beyond the per-instance cap of waiters, a poll gets 503 with Retry-After', async () => {
    const { shop } = await shopOnClock({ POLL_MAX_WAITERS: '1', POLL_QUERY_AFTER_SECONDS: '3600' });
    try {
      const { shopper, outTradeNo } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
      const first = shopper.agent.get(`/pay/${outTradeNo}/status?wait=2`).then((r) => r);
      await new Promise((r) => setTimeout(r, 200));
      const second = await shopper.agent.get(`/pay/${outTradeNo}/status?wait=2`).set('Accept', 'application/json');
      expect(second.status).toBe(503);
      expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
      expect((await first).body).toEqual({ state: 'NOTPAY' });
    } finally {
      await shop.close();
    }
  });
});

describe('settlement: when the notify never comes, expiry, and late payments', () => {
  test('a notify that never comes: the poll asks WeChat (orderquery) and settles the trade', async () => {
    const { shop, clock } = await shopOnClock({ POLL_QUERY_AFTER_SECONDS: '10', POLL_QUERY_INTERVAL_SECONDS: '5' });
    try {
      const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
      await addFault(shop, { out_trade_no: outTradeNo, kind: 'notify_drop', count: 1 });
      await payOnPhone(shop.url, paylog.code_url);
      await shop.simulator?.runDueWork();
      // before the threshold the poll does not ask
      expect((await shopper.agent.get(`/pay/${outTradeNo}/status`)).body).toEqual({ state: 'NOTPAY' });
      clock.advance(11_000);
      const res = await shopper.agent.get(`/pay/${outTradeNo}/status`);
      expect(res.body).toEqual({ state: 'SUCCESS', redirect: `/pay/${outTradeNo}/success` });
      const { paylog: after, logs } = await rowsOf(shop, outTradeNo);
      expect(after.trade_state).toBe('SUCCESS');
      expect(logs.some((l: { event: string; params: unknown }) => l.event === 'paid' && JSON.stringify(l.params).includes('query'))).toBe(true);
      expect(await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo }).count({ n: '*' }).first()).toEqual({ n: 0 });
    } finally {
      await shop.close();
    }
  });

  test('expiry: the sweeper closes an unpaid trade at WeChat and here, and gives its stock back', async () => {
    const { shop, clock } = await shopOnClock();
    try {
      const knex = shop.db.knex;
      const stockBefore = (await knex('product_variants').where({ sku: 'TEA-CUP-01' }).first('stock')).stock;
      const { outTradeNo } = await tradeWithQr(shop, [['TEA-CUP-01', 2]]);
      expect((await knex('product_variants').where({ sku: 'TEA-CUP-01' }).first('stock')).stock).toBe(stockBefore - 2);
      // not yet expired: nothing to do
      await shop.sweeper.sweepOnce();
      expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('NOTPAY');
      clock.advance(DEFAULT_QR_TTL_SECONDS * 1000 + 1000);
      await shop.sweeper.sweepOnce();
      const { paylog, orders, logs } = await rowsOf(shop, outTradeNo);
      expect(paylog.trade_state).toBe('CLOSED');
      expect(orders.map((o: { status: string }) => o.status)).toEqual(['closed']);
      expect(logs.map((l: { to_status: string }) => l.to_status)).toEqual(['unpaid', 'closed']);
      expect((await knex('product_variants').where({ sku: 'TEA-CUP-01' }).first('stock')).stock).toBe(stockBefore);
      expect((await knex('sim_trades').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('CLOSED');
      // a second sweep changes nothing (the stock is not given back twice)
      clock.advance(60_000);
      await shop.sweeper.sweepOnce();
      expect((await knex('product_variants').where({ sku: 'TEA-CUP-01' }).first('stock')).stock).toBe(stockBefore);
    } finally {
      await shop.close();
    }
  });

  test('a payment arriving after we closed the trade is kept, its orders paid, and flagged for the admin', async () => {
    const { shop } = await shopOnClock();
    try {
      const knex = shop.db.knex;
      const { outTradeNo, paylog } = await tradeWithQr(shop, [['SILK-SCF-01', 1]]);
      expect(await closeAttempt(knex, { outTradeNo, now: new Date(), operator: 'system', event: orderEvent('closed_expired', {}), wechat: 'closed' })).toBe('closed');
      const stockClosed = (await knex('product_variants').where({ sku: 'SILK-SCF-01' }).first('stock')).stock;
      const res = await postNotify(shop, signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee, transaction_id: '4200000000202611250000000501' }));
      expect(res.text).toBe(SUCCESS);
      const after = await rowsOf(shop, outTradeNo);
      expect(after.paylog).toMatchObject({ trade_state: 'SUCCESS', flag: 'late_payment', transaction_id: '4200000000202611250000000501' });
      expect(after.orders.map((o: { status: string }) => o.status)).toEqual(['paid']);
      expect(after.logs.at(-1)).toMatchObject({ from_status: 'closed', to_status: 'paid' });
      expect((await knex('product_variants').where({ sku: 'SILK-SCF-01' }).first('stock')).stock).toBe(stockClosed - 1);
      expect(await knex('notify_log').where({ out_trade_no: outTradeNo }).pluck('verdict')).toEqual(['late_payment']);
    } finally {
      await shop.close();
    }
  });

  test('an expired QR code offers to pay again: a new attempt for the same orders, the old one closed', async () => {
    const { shop, clock } = await shopOnClock();
    try {
      const knex = shop.db.knex;
      const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-RICE-5', 1]]);
      clock.advance(DEFAULT_QR_TTL_SECONDS * 1000 + 1000);
      expect((await shopper.agent.get(`/pay/${outTradeNo}/status`)).body).toEqual({ state: 'EXPIRED', redirect: `/pay/${outTradeNo}` });
      const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
      expect(page.text).toContain('二维码已失效');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
      const renewed = await shopper.agent.post(`/pay/${outTradeNo}/renew`).type('form').send({ _csrf: csrf });
      expect(renewed.status).toBe(303);
      const fresh = /^\/pay\/(\d+)$/.exec(renewed.headers.location ?? '')?.[1];
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(outTradeNo);
      // a second click does not make a third attempt
      const again = await shopper.agent.post(`/pay/${outTradeNo}/renew`).type('form').send({ _csrf: csrf });
      expect(again.headers.location).toBe(`/pay/${fresh}`);
      expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('CLOSED');
      const next = await knex('paylog').where({ out_trade_no: fresh }).first();
      expect(next).toMatchObject({ trade_state: 'NOTPAY', total_fee: paylog.total_fee });
      expect(await knex('orders').where({ out_trade_no: fresh }).pluck('status')).toEqual(['unpaid']);
      await shopper.agent.get(`/pay/${fresh}`).expect(200);
      const freshRow = await knex('paylog').where({ out_trade_no: fresh }).first();
      await payOnPhone(shop.url, freshRow.code_url);
      await shop.simulator?.runDueWork();
      expect((await knex('orders').where({ out_trade_no: fresh }).first()).status).toBe('paid');
    } finally {
      await shop.close();
    }
  });
});
