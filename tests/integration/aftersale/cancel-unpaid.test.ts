import request from 'supertest';
import type { ManualClock, TestShop } from '../../helpers/app';
import { expectCleanLedger, ledgerOf } from '../../helpers/ledger';
import { addFault, shopOnClock, tradeWithQr } from '../../helpers/settlement';
import { csrfOf, payOnPhone, RECEIVER, Shopper } from '../../helpers/shopper';
import { stockOf } from '../../helpers/stock';

/**
 * Issue 24: the shopper cancels an unpaid checkout over HTTP. The whole payment attempt is closed
 * at WeChat (the simulator) first, then here, its stock given back through the ledger; in WeChat's
 * first five minutes the cancel is recorded and the sweeper carries it out; paid at WeChat after
 * all, the shopper lands on the paid page. Only the session that placed or found the order may.
 */
describe('the shopper cancels an unpaid checkout', () => {
  let shop: TestShop;
  let clock: ManualClock;
  const MINUTE = 60_000;
  beforeAll(async () => {
    ({ shop, clock } = await shopOnClock({ POLL_QUERY_AFTER_SECONDS: '3600', PAY_QR_TTL_SECONDS: '900' }));
  });
  afterAll(async () => {
    await shop.close();
  });
  const knex = () => shop.db.knex;
  const orderIdsOf = async (outTradeNo: string) => ((await knex()('orders').where({ out_trade_no: outTradeNo }).orderBy('id').pluck('id')) as number[]).map(Number);
  const statusesOf = async (outTradeNo: string) => (await knex()('orders').join('paylog_orders', 'paylog_orders.order_id', 'orders.id').where('paylog_orders.out_trade_no', outTradeNo).orderBy('orders.id').pluck('orders.status')) as string[];
  const paylogOf = async (outTradeNo: string) => (await knex()('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'cancel_requested_at')) as { trade_state: string; cancel_requested_at: Date | null };
  const simStateOf = async (outTradeNo: string) => ((await knex()('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string } | undefined)?.trade_state;
  const cancel = async (shopper: Shopper, orderId: number | string) => {
    // the token of this session now (finding an order renews the session, and its token)
    const token = csrfOf((await shopper.agent.get('/').expect(200)).text);
    return shopper.agent.post(`/orders/${orderId}/cancel`).type('form').send({ _csrf: token });
  };
  const logEvents = async (orderId: number) => (await knex()('order_log').where({ order_id: orderId }).orderBy('id').pluck('event')) as string[];

  test('my orders shows each unpaid order\'s time left and its cancel button, in both languages', async () => {
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    clock.advance(2 * MINUTE);
    const zh = await shopper.agent.get('/orders').expect(200);
    expect(zh.text).toContain('剩余 13 分钟支付');
    expect(zh.text).toContain(`action="/orders/${orderId}/cancel"`);
    expect(zh.text).toContain('>取消订单</button>');
    const en = await shopper.agent.get('/orders?lang=en').expect(200);
    expect(en.text).toContain('13 min left to pay');
    expect(en.text).toContain('>Cancel order</button>');
    const one = await shopper.agent.get(`/orders/${orderId}`).expect(200);
    expect(one.text).toContain(`action="/orders/${orderId}/cancel"`);
  });

  test('after WeChat\'s first five minutes: the whole attempt is closed at WeChat and here at once, its stock back on the shelf', async () => {
    const teaBefore = await stockOf(knex(), 'TEA-MLH-100');
    const cableBefore = await stockOf(knex(), 'GEEK-CBL-01');
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1], ['GEEK-CBL-01', 2]]);
    const ids = await orderIdsOf(outTradeNo);
    expect(ids.length).toBe(2);
    expect(await stockOf(knex(), 'TEA-MLH-100')).toBe(teaBefore - 1);
    clock.advance(6 * MINUTE);

    const res = await cancel(shopper, ids[0] ?? 0);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/orders/${ids[0]}`);
    const page = await shopper.agent.get(`/orders/${ids[0]}`).expect(200);
    expect(page.text).toContain(`订单 #${ids[0]} 已取消，商品已放回库存。`);
    expect(await simStateOf(outTradeNo)).toBe('CLOSED');
    expect(await paylogOf(outTradeNo)).toMatchObject({ trade_state: 'CLOSED', cancel_requested_at: null });
    expect(await statusesOf(outTradeNo)).toEqual(['closed', 'closed']);
    expect(await stockOf(knex(), 'TEA-MLH-100')).toBe(teaBefore);
    expect(await stockOf(knex(), 'GEEK-CBL-01')).toBe(cableBefore);
    expect(await logEvents(ids[0] ?? 0)).toEqual(['checkout_wxpay', 'closed_by_shopper']);

    // again: nothing more happens, and it says so
    const again = await cancel(shopper, ids[0] ?? 0);
    expect(again.status).toBe(303);
    expect(await logEvents(ids[0] ?? 0)).toEqual(['checkout_wxpay', 'closed_by_shopper']);
    expect(await stockOf(knex(), 'TEA-MLH-100')).toBe(teaBefore);
    await expectCleanLedger(shop, clock());
  });

  test('in WeChat\'s first five minutes: recorded, shown as requested, and closed by the sweeper once WeChat allows', async () => {
    const teaBefore = await stockOf(knex(), 'TEA-MLH-100');
    const { shopper, outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    clock.advance(1 * MINUTE);
    const res = await cancel(shopper, orderId ?? 0);
    expect(res.status).toBe(303);
    const page = await shopper.agent.get(`/orders/${orderId}?lang=en`).expect(200);
    expect(page.text).toContain(`Cancellation of order #${orderId} requested: WeChat Pay does not allow closing it yet`);
    expect(page.text).toContain('Cancellation requested: it is closed as soon as WeChat Pay allows');
    expect(page.text).not.toContain(`action="/orders/${orderId}/cancel"`);
    expect((await paylogOf(outTradeNo)).cancel_requested_at).not.toBeNull();
    expect(await statusesOf(outTradeNo)).toEqual(['unpaid']);
    expect(await simStateOf(outTradeNo)).toBe('NOTPAY');

    // the sweeper, before WeChat allows: nothing; after: closed at WeChat and here, as the shopper's cancel
    await shop.sweeper.sweepOnce();
    expect(await statusesOf(outTradeNo)).toEqual(['unpaid']);
    clock.advance(5 * MINUTE);
    await shop.sweeper.sweepOnce();
    expect(await simStateOf(outTradeNo)).toBe('CLOSED');
    expect(await statusesOf(outTradeNo)).toEqual(['closed']);
    expect(await stockOf(knex(), 'TEA-MLH-100')).toBe(teaBefore);
    expect(await logEvents(orderId ?? 0)).toEqual(['checkout_wxpay', 'cancel_requested', 'closed_by_shopper']);
    await expectCleanLedger(shop, clock());
  });

  test('paid at WeChat while its notify is on the way: the cancel records the payment and shows the paid page, never an error', async () => {
    const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    clock.advance(6 * MINUTE);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'notify_drop' });
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    expect(await statusesOf(outTradeNo)).toEqual(['unpaid']);

    const res = await cancel(shopper, orderId ?? 0);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/pay/${outTradeNo}/success`);
    const paid = await shopper.agent.get(`/pay/${outTradeNo}/success`).expect(200);
    expect(paid.text).toContain(`订单 #${orderId} 已经付款成功，无法取消。`);
    expect(await statusesOf(outTradeNo)).toEqual(['paid']);
    expect(await simStateOf(outTradeNo)).toBe('SUCCESS');
    await expectCleanLedger(shop, clock());
  });

  test('who may: another session gets "not found" and nothing changes; the shopper who found the order by number and mobile may cancel it', async () => {
    const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    clock.advance(6 * MINUTE);
    // a shopper with a session and orders of their own
    const { shopper: stranger } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    const refused = await cancel(stranger, orderId ?? 0);
    expect(refused.status).toBe(404);
    expect(refused.text).toContain('订单');
    const bad = await cancel(stranger, 'abc');
    expect(bad.status).toBe(404);
    const anonymous = await request(shop.url).post(`/orders/${orderId}/cancel`).type('form').send({});
    expect(anonymous.status).toBe(403);
    expect(await statusesOf(outTradeNo)).toEqual(['unpaid']);
    expect(await simStateOf(outTradeNo)).toBe('NOTPAY');

    const phone = new Shopper(shop.url, knex());
    const token = await phone.csrf();
    const found = await phone.agent.post('/orders/find').type('form').send({ _csrf: token, order_id: String(orderId), mobile: RECEIVER.receiver_mobile });
    expect(found.status).toBe(303);
    const res = await cancel(phone, orderId ?? 0);
    expect(res.status).toBe(303);
    expect(await statusesOf(outTradeNo)).toEqual(['closed']);
    await expectCleanLedger(shop, clock());
  });

  test('cash on delivery is not this cancel: a clear 409, nothing changes', async () => {
    const shopper = new Shopper(shop.url, knex());
    await shopper.add('FARM-PIN-01', 1);
    expect((await shopper.submitCheckout({ pay_type: 'cod' })).status).toBe(303);
    const orderId = Number(((await knex()('orders').where({ pay_type: 'cod' }).orderBy('id', 'desc').first('id')) as { id: number }).id);
    const res = await cancel(shopper, orderId);
    expect(res.status).toBe(409);
    expect(res.text).toContain('这笔订单不是待支付的微信支付订单，无法取消。');
    expect(((await knex()('orders').where({ id: orderId }).first('status')) as { status: string }).status).toBe('unpaid');
  });
});

describe('the ledger check: a cancelled checkout', () => {
  test('finds an order left unpaid under a payment its shopper cancelled (planted), and is clean again once it is put back', async () => {
    const { shop, clock } = await shopOnClock({ POLL_QUERY_AFTER_SECONDS: '3600' });
    try {
      const knex = shop.db.knex;
      const { shopper, outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      const orderId = Number(((await knex('orders').where({ out_trade_no: outTradeNo }).first('id')) as { id: number }).id);
      clock.advance(6 * 60_000);
      const token = csrfOf((await shopper.agent.get('/').expect(200)).text);
      expect((await shopper.agent.post(`/orders/${orderId}/cancel`).type('form').send({ _csrf: token })).status).toBe(303);
      await knex('paylog').where({ out_trade_no: outTradeNo }).update({ cancel_requested_at: clock() });
      await expectCleanLedger(shop, clock());

      await knex('orders').where({ id: orderId }).update({ status: 'unpaid' });
      const report = await ledgerOf(shop, clock());
      expect(report.discrepancies.filter((d) => d.kind === 'cancelled_but_open')).toEqual([
        { kind: 'cancelled_but_open', subject: `order ${orderId}`, message: `is still unpaid, but ${outTradeNo}, the payment its shopper cancelled, is closed` },
      ]);
      await knex('orders').where({ id: orderId }).update({ status: 'closed' });
      await expectCleanLedger(shop, clock());
    } finally {
      await shop.close();
    }
  });
});
