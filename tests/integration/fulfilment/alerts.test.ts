import type { Knex } from 'knex';
import request from 'supertest';
import { startSecondInstance, manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { startAlertReceiver, type AlertReceiver } from '../../helpers/alert-receiver';
import { expectCleanLedger, ordersOfTrade } from '../../helpers/ledger';
import { adminShop, csrfOf, loggedIn, paidTrade } from '../admin/helpers';
import { shipOrder } from '../../../src/ledger';
import { RETRY_DELAYS_SECONDS, SIGNATURE_HEADER, webhookSignature } from '../../../src/outbox';
import type { RunningShop } from '../../../src/main';

/**
 * The merchant's alerts, from the transactional outbox to a real receiver over HTTP: every event
 * delivered once (by its id) even with the receiver down for minutes (each try logged, the
 * schedule followed), in order per order, signed so that a tampered body is rejected, and two
 * instances dispatching at once never send one event twice.
 */

const SECRET = 'whsec_test_0123456789abcdef';

describe('alerts to a webhook receiver', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let knex: Knex;
  let receiver: AlertReceiver;

  beforeAll(async () => {
    clock = manualClock(new Date());
    receiver = await startAlertReceiver(SECRET, () => clock());
    shop = await adminShop({ clock, env: { ALERT_DISPATCH_INTERVAL_SECONDS: '0', ALERT_WEBHOOK_URL: receiver.url, ALERT_WEBHOOK_SECRET: SECRET } });
    knex = shop.db.knex;
  });
  afterAll(async () => {
    await shop?.close();
    await receiver?.close();
  });

  const deliveriesOf = (orderId: number) =>
    knex('outbox_deliveries as d').join('outbox as o', 'o.id', 'd.outbox_id').whereRaw('? = ANY(o.order_ids)', [orderId]).orderBy('o.id').select('o.type', 'o.event_id', 'd.status', 'd.attempts');

  test('with the receiver down for minutes, each event is retried on the schedule (every try logged), then taken exactly once, in order per order', async () => {
    receiver.mode = 'down';
    const { outTradeNo } = await paidTrade(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = ((await ordersOfTrade(knex, outTradeNo).pluck('orders.id')) as unknown[]).map(Number) as [number];
    // the first try at once: refused
    expect(await shop.dispatcher.dispatchOnce()).toBe(1);
    // shipped meanwhile: its event waits behind the paid one of the same order
    expect(await shipOrder(knex, { orderId, parcel: { courier: 'sf', courierName: null, trackingNo: 'SF1234567890123' }, operator: 'admin:test', now: clock() })).toBe('shipped');
    // down for 4 minutes: tries after 15 s, 15 s, 30 s and 3 min, all refused; the shipped event is never tried before the paid one
    for (const seconds of RETRY_DELAYS_SECONDS.slice(0, 4)) {
      expect(await shop.dispatcher.dispatchOnce()).toBe(0);
      clock.advance(seconds * 1000);
      expect(await shop.dispatcher.dispatchOnce()).toBe(1);
    }
    expect(await deliveriesOf(orderId)).toEqual([
      { type: 'order.paid', event_id: expect.any(String), status: 'pending', attempts: 5 },
      { type: 'order.shipped', event_id: expect.any(String), status: 'pending', attempts: 0 },
    ]);
    // back: the next try (10 minutes on) takes it, then the shipped one goes
    receiver.mode = 'up';
    clock.advance(RETRY_DELAYS_SECONDS[4]! * 1000);
    await shop.dispatcher.dispatchOnce();
    await shop.dispatcher.dispatchOnce();
    const [paid, shipped] = await deliveriesOf(orderId);
    expect(receiver.taken.map((r) => [r.id, r.type])).toEqual([
      [paid.event_id, 'order.paid'],
      [shipped.event_id, 'order.shipped'],
    ]);
    expect(receiver.calls.filter((c) => c.id === paid.event_id).map((c) => c.status)).toEqual([503, 503, 503, 503, 503, 200]);
    expect(await knex('outbox_attempts').where({ outbox_id: knex('outbox').select('id').where({ event_id: paid.event_id }) }).orderBy('id').select('attempt', 'ok', 'detail')).toEqual([
      ...[1, 2, 3, 4, 5].map((attempt) => ({ attempt, ok: false, detail: 'HTTP 503' })),
      { attempt: 6, ok: true, detail: 'HTTP 200' },
    ]);
    expect(await deliveriesOf(orderId)).toEqual([
      { type: 'order.paid', event_id: paid.event_id, status: 'delivered', attempts: 6 },
      { type: 'order.shipped', event_id: shipped.event_id, status: 'delivered', attempts: 1 },
    ]);
    // nothing is sent again
    clock.advance(24 * 3600 * 1000);
    expect(await shop.dispatcher.dispatchOnce()).toBe(0);
    expect([...receiver.takenCount.values()].every((n) => n === 1)).toBe(true);
    // the event as the merchant's system gets it: the payment's facts, in fen
    expect(receiver.taken[0]?.data).toMatchObject({ orders: [{ id: orderId }], pay_type: 'wxpay', out_trade_no: outTradeNo, late: false });
    await expectCleanLedger(shop, clock());
  });

  test('the signature is over the raw body and its time: a receiver that checks it rejects a tampered copy, another secret and a stale replay', async () => {
    const taken = receiver.taken[0];
    if (!taken) throw new Error('no event taken yet');
    const t = Number(/t=(\d+)/.exec(taken.signature)?.[1]);
    expect(taken.signature).toBe(webhookSignature(SECRET, t, taken.rawBody));
    const tampered = taken.rawBody.replace(/"amount_fen":(\d+)/, '"amount_fen":1');
    expect(tampered).not.toBe(taken.rawBody);
    const post = (body: string, signature: string) => request(receiver.url.replace(/\/hooks\/shop$/, '')).post('/hooks/shop').set(SIGNATURE_HEADER, signature).set('Content-Type', 'application/json').send(body);
    expect((await post(tampered, taken.signature)).status).toBe(400);
    expect((await post(taken.rawBody, webhookSignature('another secret of 16+', t, taken.rawBody))).status).toBe(400);
    // signed a day ago (the clock moved on): a replay, refused
    expect((await post(taken.rawBody, taken.signature)).status).toBe(400);
    // the same event again, signed now (as every retry is): taken, deduplicated by its id
    expect((await post(taken.rawBody, webhookSignature(SECRET, Math.floor(clock().getTime() / 1000), taken.rawBody))).status).toBe(200);
    expect(receiver.takenCount.get(taken.id)).toBe(2);
    expect(receiver.taken.filter((r) => r.id === taken.id)).toHaveLength(1);
  });

  test('a receiver that stays down: given up after the last retry (about 24 hours), shown in the admin, sent again on request', async () => {
    receiver.mode = 'down';
    const { outTradeNo } = await paidTrade(shop, [['GEEK-CBL-01', 1]]);
    const [orderId] = ((await ordersOfTrade(knex, outTradeNo).pluck('orders.id')) as unknown[]).map(Number) as [number];
    await shop.dispatcher.dispatchOnce();
    let span = 0;
    for (const seconds of RETRY_DELAYS_SECONDS) {
      clock.advance(seconds * 1000);
      span += seconds;
      await shop.dispatcher.dispatchOnce();
    }
    expect(span).toBeGreaterThanOrEqual(24 * 3600);
    const [given] = await deliveriesOf(orderId);
    expect(given).toMatchObject({ status: 'given_up', attempts: RETRY_DELAYS_SECONDS.length + 1 });
    // the admin sees it with every try, and sends it again (the clock back to today: an admin's session is timed by it)
    clock.set(new Date());
    const admin = await loggedIn(shop);
    const page = await admin.agent.get('/admin/alerts?show=given_up').expect(200);
    expect(page.text).toContain(`data-event-id="${given.event_id}"`);
    expect(page.text).toContain('HTTP 503');
    const action = new RegExp(`action="(/admin/alerts/\\d+/webhook/resend)"`).exec(page.text.split(`data-event-id="${given.event_id}"`)[1] ?? '')?.[1];
    receiver.mode = 'up';
    expect((await admin.agent.post(action as string).type('form').send({ _csrf: csrfOf(page.text), show: 'given_up' })).status).toBe(303);
    expect((await deliveriesOf(orderId))[0]).toMatchObject({ status: 'pending', attempts: 0 });
    await shop.dispatcher.dispatchOnce();
    expect((await deliveriesOf(orderId))[0]).toMatchObject({ status: 'delivered' });
    expect(receiver.takenCount.get(given.event_id)).toBe(1);
  });

  test('two instances dispatching at once never send an event twice', async () => {
    const second: RunningShop = await startSecondInstance(shop, { clock, env: { SWEEP_INTERVAL_SECONDS: '0', ALERT_DISPATCH_INTERVAL_SECONDS: '0', ALERT_WEBHOOK_URL: receiver.url, ALERT_WEBHOOK_SECRET: SECRET } });
    try {
      receiver.mode = 'up';
      receiver.delayMs = 20;
      // 30 events (written as the ledger writes them: one row each)
      const ids: string[] = [];
      for (let i = 0; i < 30; i += 1) {
        const [row] = (await knex('outbox').insert({ type: 'reconcile.mismatch', order_ids: [], data: JSON.stringify({ date: `2026-11-${String(i + 1).padStart(2, '0')}`, differences: 1, kinds: { missing_here: 1 } }), created_at: clock() }).returning('event_id')) as { event_id: string }[];
        ids.push(String(row?.event_id));
      }
      // together, and one starting while the other is sending what it claimed (its claims leased, never taken twice)
      const later = (ms: number, run: () => Promise<number>) => new Promise<number>((resolve, reject) => setTimeout(() => run().then(resolve, reject), ms));
      await Promise.all([shop.dispatcher.dispatchOnce(), second.dispatcher.dispatchOnce()]);
      await knex('outbox_deliveries').whereIn('outbox_id', knex('outbox').select('id').whereIn('event_id', ids.slice(0, 15))).update({ status: 'pending', attempts: 0, delivered_at: null });
      receiver.takenCount.clear();
      receiver.calls.length = 0;
      for (let round = 0; round < 4; round += 1) {
        await Promise.all([shop.dispatcher.dispatchOnce(), later(60, () => second.dispatcher.dispatchOnce())]);
        await Promise.all([second.dispatcher.dispatchOnce(), later(60, () => shop.dispatcher.dispatchOnce())]);
      }
      // (the first 15 were made due again by hand: each of those sent once more, once)
      for (const id of ids.slice(0, 15)) expect([id, receiver.takenCount.get(id)]).toEqual([id, 1]);
      expect(receiver.calls.filter((c) => c.id !== undefined && ids.includes(c.id))).toHaveLength(15);
      expect(Number(((await knex('outbox_deliveries').whereIn('outbox_id', knex('outbox').select('id').whereIn('event_id', ids)).whereNot('status', 'delivered').count({ n: '*' }).first()) as { n: string }).n)).toBe(0);
    } finally {
      receiver.delayMs = 0;
      await second.stop();
    }
  });
});
