import { completeOrder, shipOrder } from '../../../src/ledger';
import { renderAlert } from '../../../src/outbox/message';
import { manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { expectCleanLedger, ledgerOf } from '../../helpers/ledger';
import { csrfOf, payOnPhone, Shopper } from '../../helpers/shopper';
import { adminShop, loggedIn, waitFor } from '../admin/helpers';

/**
 * Issue 24, step 3: after shipment, within the return window, a shopper asks for "refund only" or
 * "return and refund" (a reason of the list, an amount of at most what remains, a note); the
 * merchant approves (a refund through the ledger's refund path) or rejects with a reason; the
 * shopper may withdraw a request not yet decided; the sweeper approves a cancel or "refund only"
 * the merchant left undecided AFTERSALE_APPROVE_AFTER_HOURS.
 */
const PARCEL = { courier: 'sf', courierName: null, trackingNo: 'SF1234567890123' };
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

describe('after delivery: refund only, return and refund', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = manualClock(new Date());
    shop = await adminShop({ clock });
  });
  afterAll(async () => {
    await shop.close();
  });
  const knex = () => shop.db.knex;

  async function shippedOrder(items: [string, number][] = [['TEA-MLH-100', 2]]) {
    const shopper = new Shopper(shop.url, knex());
    const outTradeNo = await shopper.buy(items);
    await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const row = (await knex()('paylog').where({ out_trade_no: outTradeNo }).first('code_url', 'total_fee')) as { code_url: string; total_fee: number };
    expect((await payOnPhone(shop.url, row.code_url)).status).toBe(200);
    await waitFor('paid', async () => ((await knex()('orders').where({ out_trade_no: outTradeNo }).first('status')) as { status: string }).status === 'paid');
    const orderId = Number(((await knex()('orders').where({ out_trade_no: outTradeNo }).first('id')) as { id: number }).id);
    expect(await shipOrder(knex(), { orderId, parcel: PARCEL, operator: 'admin:test', now: clock() })).toBe('shipped');
    return { shopper, orderId, totalFee: Number(row.total_fee) };
  }
  async function ask(shopper: Shopper, orderId: number, fields: Record<string, string>) {
    const token = csrfOf((await shopper.agent.get('/').expect(200)).text);
    return shopper.agent.post(`/orders/${orderId}/aftersales`).type('form').send({ _csrf: token, kind: 'refund_only', reason: 'damaged', amount: '10.00', note: '', ...fields });
  }
  const requestsOf = async (orderId: number) => (await knex()('aftersales').where({ order_id: orderId }).orderBy('id').select('id', 'kind', 'status', 'amount_fen', 'reason', 'note', 'out_refund_no')) as { id: number; kind: string; status: string; amount_fen: number; reason: string; note: string | null; out_refund_no: string | null }[];
  const refundsOf = async (orderId: number) => (await knex()('refunds').where({ order_id: orderId }).select('refund_fee', 'status')) as { refund_fee: number; status: string }[];

  test('"refund only" of part of a shipped order: asked, approved by the merchant, refunded once; the order goes on', async () => {
    const { shopper, orderId } = await shippedOrder();
    const page = await shopper.agent.get(`/orders/${orderId}`).expect(200);
    expect(page.text).toContain(`action="/orders/${orderId}/aftersales"`);
    expect(page.text).toContain('<option value="no_reason">七天无理由退货</option>');
    const res = await ask(shopper, orderId, { amount: '10.00', note: '盒子压坏了' });
    expect(res.status).toBe(303);
    const [request] = await requestsOf(orderId);
    expect(request).toMatchObject({ kind: 'refund_only', status: 'requested', reason: 'damaged', note: '盒子压坏了', out_refund_no: null });
    expect(Number(request?.amount_fen)).toBe(1000);
    const shown = await shopper.agent.get(`/orders/${orderId}?lang=en`).expect(200);
    expect(shown.text).toContain(`After-sales request #${request?.id} sent; the merchant will decide.`);
    expect(shown.text).toContain('After-sales #' + request?.id + ' (refund only, ¥10.00): waiting for the merchant');
    expect(shown.text).toContain(`action="/orders/${orderId}/aftersales/${request?.id}/withdraw"`);
    // a second request while one waits: refused
    const again = await ask(shopper, orderId, {});
    expect(again.status).toBe(409);
    expect(again.text).toContain('A request for this order is waiting for the merchant already.');

    const admin = await loggedIn(shop);
    const queue = await admin.agent.get('/admin/aftersales').expect(200);
    const approved = await admin.agent.post(`/admin/aftersales/${request?.id}/approve`).type('form').send({ _csrf: csrfOf(queue.text) });
    expect(approved.status).toBe(303);
    await waitFor('the refund', async () => (await refundsOf(orderId))[0]?.status === 'SUCCESS');
    expect((await refundsOf(orderId)).map((r) => Number(r.refund_fee))).toEqual([1000]);
    expect(await knex()('orders').where({ id: orderId }).first('status', 'delivery_status', 'refunded_fen')).toMatchObject({ status: 'paid', delivery_status: 'shipped', refunded_fen: 1000 });
    await shopper.agent.get(`/orders/${orderId}?lang=zh`).expect(200);
    // the merchant heard of the request and of the decision through the outbox, in the same transactions
    const events = (await knex()('outbox').whereRaw('? = ANY(order_ids)', [orderId]).orderBy('id').select('id', 'event_id', 'type', 'data', 'created_at')) as { id: number; event_id: string; type: string; data: unknown; created_at: Date }[];
    expect(events.map((e) => e.type)).toEqual(['order.paid', 'order.shipped', 'aftersale.requested', 'aftersale.decided']);
    const decided = renderAlert({ id: events[3]?.id ?? 0, eventId: events[3]?.event_id ?? '', type: 'aftersale.decided', data: (typeof events[3]?.data === 'string' ? JSON.parse(events[3].data) : events[3]?.data) as Record<string, unknown>, createdAt: new Date() }, 'zh', '店', 'https://shop.example');
    expect(decided.title).toBe(`售后 #${request?.id} 已同意：仅退款，退款 ¥10.00`);
    expect(decided.lines).toContain('由商家处理');
    expect(decided.link.url).toBe(`https://shop.example/admin/orders/${orderId}`);
    await expectCleanLedger(shop, clock());
  });

  test('bad and unauthorised requests are refused with clear words and change nothing', async () => {
    const { shopper, orderId, totalFee } = await shippedOrder();
    const over = await ask(shopper, orderId, { amount: ((totalFee + 1) / 100).toFixed(2) });
    expect(over.status).toBe(409);
    expect(over.text).toContain(`退款金额不能超过 ¥${(totalFee / 100).toFixed(2)}`);
    expect((await ask(shopper, orderId, { reason: 'bored' })).status).toBe(400);
    expect((await ask(shopper, orderId, { amount: '-3' })).status).toBe(400);
    expect((await ask(shopper, orderId, { kind: 'cancel' })).status).toBe(400);
    expect((await ask(shopper, orderId, { note: '长'.repeat(201) })).status).toBe(400);
    const { shopper: stranger } = await shippedOrder();
    expect((await ask(stranger, orderId, {})).status).toBe(404);
    expect(await requestsOf(orderId)).toEqual([]);
  });

  test('"return and refund" after receipt: rejected with a reason the shopper sees; asked again and withdrawn; closed 7 days after receipt', async () => {
    const { shopper, orderId, totalFee } = await shippedOrder();
    expect(await completeOrder(knex(), { orderId, actor: 'shopper', operator: 'shopper:x', now: clock(), autoCompleteDays: 10 })).toBe('completed');
    expect((await ask(shopper, orderId, { kind: 'return_refund', reason: 'quality', amount: (totalFee / 100).toFixed(2) })).status).toBe(303);
    const [first] = await requestsOf(orderId);
    const admin = await loggedIn(shop);
    const token = csrfOf((await admin.agent.get('/admin/aftersales').expect(200)).text);
    expect((await admin.agent.post(`/admin/aftersales/${first?.id}/reject`).type('form').send({ _csrf: token, note: '未收到退货' })).status).toBe(303);
    const seen = await shopper.agent.get(`/orders/${orderId}`).expect(200);
    expect(seen.text).toContain('商家拒绝，理由：未收到退货');

    expect((await ask(shopper, orderId, { kind: 'return_refund', reason: 'no_reason', amount: '5' })).status).toBe(303);
    const second = (await requestsOf(orderId))[1];
    const withdrawToken = csrfOf((await shopper.agent.get('/').expect(200)).text);
    expect((await shopper.agent.post(`/orders/${orderId}/aftersales/${second?.id}/withdraw`).type('form').send({ _csrf: withdrawToken })).status).toBe(303);
    expect((await requestsOf(orderId)).map((r) => r.status)).toEqual(['rejected', 'withdrawn']);
    // a decided request cannot be withdrawn: it stays as decided
    const decidedWithdraw = await shopper.agent.post(`/orders/${orderId}/aftersales/${first?.id}/withdraw`).type('form').send({ _csrf: withdrawToken });
    expect(decidedWithdraw.status).toBe(303);
    expect((await shopper.agent.get(`/orders/${orderId}`).expect(200)).text).toContain(`售后申请 #${first?.id} 已经处理，不能撤销。`);
    expect((await requestsOf(orderId)).map((r) => r.status)).toEqual(['rejected', 'withdrawn']);
    // withdrawn: the merchant can no longer approve it
    expect((await admin.agent.post(`/admin/aftersales/${second?.id}/approve`).type('form').send({ _csrf: token })).status).toBe(303);
    expect(await refundsOf(orderId)).toEqual([]);

    // received 7 days and a minute ago: the window is closed
    const receivedAt = new Date(clock().getTime() - 7 * DAY - 60_000);
    await knex()('shipments').where({ order_id: orderId }).update({ completed_at: receivedAt });
    await knex()('orders').where({ id: orderId }).update({ delivery_at: receivedAt });
    const late = await ask(shopper, orderId, {});
    expect(late.status).toBe(409);
    expect(late.text).toContain('已超过确认收货后 7 天的售后期限。');
    expect((await shopper.agent.get(`/orders/${orderId}`).expect(200)).text).not.toContain(`action="/orders/${orderId}/aftersales"`);

    // the ledger check: a request over what its order cost (planted) is found
    await knex()('aftersales').where({ id: first?.id }).update({ amount_fen: totalFee + 1 });
    const report = await ledgerOf(shop, clock());
    expect(report.discrepancies.map((d) => `${d.kind} ${d.subject}`)).toEqual([`aftersale_over_paid after-sales ${first?.id}`]);
    await knex()('aftersales').where({ id: first?.id }).update({ amount_fen: totalFee });
    await expectCleanLedger(shop, clock());
  });

  test('the sweeper approves "refund only" left undecided 48 hours (and refunds it); a return waits for the merchant', async () => {
    const a = await shippedOrder();
    const b = await shippedOrder();
    expect((await ask(a.shopper, a.orderId, { amount: '1.00' })).status).toBe(303);
    expect((await ask(b.shopper, b.orderId, { kind: 'return_refund', amount: '1.00' })).status).toBe(303);
    clock.advance(47 * HOUR);
    await shop.sweeper.sweepOnce();
    expect((await requestsOf(a.orderId))[0]?.status).toBe('requested');
    clock.advance(HOUR);
    await shop.sweeper.sweepOnce();
    expect((await requestsOf(a.orderId))[0]?.status).toBe('approved');
    expect((await requestsOf(b.orderId))[0]?.status).toBe('requested');
    await waitFor('the refund', async () => (await refundsOf(a.orderId))[0]?.status === 'SUCCESS');
    expect((await refundsOf(a.orderId)).map((r) => Number(r.refund_fee))).toEqual([100]);
    expect(await refundsOf(b.orderId)).toEqual([]);
    clock.advance(-48 * HOUR);
  });
});
