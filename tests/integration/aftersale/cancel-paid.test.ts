import { cancelPaidOrder, shipOrder } from '../../../src/ledger';
import type { TestShop } from '../../helpers/app';
import { expectCleanLedger, ledgerOf } from '../../helpers/ledger';
import { addFault } from '../../helpers/settlement';
import { csrfOf, payOnPhone, Shopper } from '../../helpers/shopper';
import { adminShop, loggedIn, waitFor } from '../admin/helpers';
import { addMember, memberLoggedIn } from '../admin/team-helpers';

/**
 * Issue 24, step 2: the shopper cancels a paid order that has not shipped. Refunded in full at once
 * through the refund machinery (AFTERSALE_CANCEL_APPROVAL=auto), or once the merchant approves
 * (`merchant`); the order page shows the refund's progress until WeChat's refund notify settles it;
 * an order with a refund in progress cannot be shipped, and a shipped order cannot be cancelled.
 */

const PARCEL = { courier: 'sf', courierName: null, trackingNo: 'SF1234567890123' };

async function paidOrder(shop: TestShop, items: [string, number][] = [['TEA-MLH-100', 1]]) {
  const knex = shop.db.knex;
  const shopper = new Shopper(shop.url, knex);
  const outTradeNo = await shopper.buy(items);
  await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
  const row = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url', 'total_fee')) as { code_url: string; total_fee: number };
  expect((await payOnPhone(shop.url, row.code_url)).status).toBe(200);
  await waitFor(`${outTradeNo} paid`, async () => ((await knex('orders').where({ out_trade_no: outTradeNo }).first('status')) as { status: string }).status === 'paid');
  const orderId = Number(((await knex('orders').where({ out_trade_no: outTradeNo }).first('id')) as { id: number }).id);
  return { shopper, outTradeNo, orderId, totalFee: Number(row.total_fee) };
}

async function cancelPaid(shopper: Shopper, orderId: number | string) {
  const token = csrfOf((await shopper.agent.get('/').expect(200)).text);
  return shopper.agent.post(`/orders/${orderId}/cancel-paid`).type('form').send({ _csrf: token });
}

const refundsOf = (shop: TestShop, orderId: number) => shop.db.knex('refunds').where({ order_id: orderId }).orderBy('created_at').select('out_refund_no', 'refund_fee', 'status') as Promise<{ out_refund_no: string; refund_fee: string | number; status: string }[]>;
const requestsOf = (shop: TestShop, orderId: number) => shop.db.knex('aftersales').where({ order_id: orderId }).orderBy('id').select('id', 'kind', 'status', 'amount_fen', 'out_refund_no') as Promise<{ id: number; kind: string; status: string; amount_fen: string | number; out_refund_no: string | null }[]>;
const orderOf = async (shop: TestShop, orderId: number) => (await shop.db.knex('orders').where({ id: orderId }).first('status', 'delivery_status', 'refunded_fen')) as { status: string; delivery_status: string; refunded_fen: number };

describe('the shopper cancels a paid order before it ships (refunded at once)', () => {
  let shop: TestShop;
  beforeAll(async () => {
    // the refund is settled by WeChat's refund notify some seconds later (the simulator's delay, time-scaled)
    shop = await adminShop({ env: { SIM_REFUND_DELAY_SECONDS: '5', SIM_TIME_SCALE: '1' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('refunded in full through the refund machinery; the page shows the refund in progress, then back; no shipping meanwhile', async () => {
    const { shopper, outTradeNo, orderId, totalFee } = await paidOrder(shop);
    const page = await shopper.agent.get(`/orders/${orderId}`).expect(200);
    expect(page.text).toContain(`action="/orders/${orderId}/cancel-paid"`);
    expect(page.text).toContain('商品尚未发货，可以取消订单，全额退款原路退回微信。');

    const res = await cancelPaid(shopper, orderId);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/orders/${orderId}`);
    const [refund] = await refundsOf(shop, orderId);
    expect(refund).toMatchObject({ status: expect.stringMatching(/^(PENDING|PROCESSING)$/) });
    expect(Number(refund?.refund_fee)).toBe(totalFee);
    const [request] = await requestsOf(shop, orderId);
    expect(request).toMatchObject({ kind: 'cancel', status: 'approved', out_refund_no: refund?.out_refund_no });
    expect(Number(request?.amount_fen)).toBe(totalFee);

    const progress = await shopper.agent.get(`/orders/${orderId}?lang=en`).expect(200);
    expect(progress.text).toContain(`Order #${orderId} is cancelled; ¥`);
    expect(progress.text).toMatch(/Refund of ¥[\d.]+: (sent, waiting for WeChat Pay to accept it|WeChat Pay is processing it)/);
    expect(progress.text).not.toContain('action="/orders/' + orderId + '/cancel-paid"');

    // the merchant cannot ship it while the refund is in progress (fulfilment-rules' refund_in_progress)
    expect(await shipOrder(shop.db.knex, { orderId, parcel: PARCEL, operator: 'admin:test', now: new Date() })).toBe('refund_in_progress');
    // a second cancel refunds nothing more
    expect((await cancelPaid(shopper, orderId)).status).toBe(303);
    expect(await refundsOf(shop, orderId)).toHaveLength(1);

    await waitFor('the refund notify', async () => (await refundsOf(shop, orderId))[0]?.status === 'SUCCESS', 40_000);
    expect(await orderOf(shop, orderId)).toMatchObject({ status: 'refunded', refunded_fen: totalFee });
    const done = await shopper.agent.get(`/orders/${orderId}?lang=zh`).expect(200);
    expect(done.text).toMatch(/退款 ¥[\d.]+：已退回/);
    expect(await shipOrder(shop.db.knex, { orderId, parcel: PARCEL, operator: 'admin:test', now: new Date() })).toBe('refunded');
    expect(((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee')) as { refunded_fee: number }).refunded_fee).toBe(totalFee);
    await expectCleanLedger(shop);
  });

  test('WeChat refuses the refund (NOTENOUGH, the merchant\'s balance is short): the refund waits with WeChat\'s reason, shown to the shopper and the admin; nothing ships meanwhile', async () => {
    const { shopper, outTradeNo, orderId } = await paidOrder(shop);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'refund_notenough' });
    expect((await cancelPaid(shopper, orderId)).status).toBe(303);
    const [refund] = (await shop.db.knex('refunds').where({ order_id: orderId }).select('status', 'last_error')) as { status: string; last_error: string | null }[];
    expect(refund?.status).toBe('PENDING');
    expect(refund?.last_error).toMatch(/NOTENOUGH/);
    const page = await shopper.agent.get(`/orders/${orderId}?lang=en`).expect(200);
    expect(page.text).toMatch(/Refund of ¥[\d.]+: not accepted by WeChat Pay yet \([^)]*NOTENOUGH[^)]*\); the merchant will send it again/);
    const admin = await loggedIn(shop);
    expect((await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200)).text).toContain('NOTENOUGH');
    expect(await shipOrder(shop.db.knex, { orderId, parcel: PARCEL, operator: 'admin:test', now: new Date() })).toBe('refund_in_progress');
  });

  test('shipped first: the cancel is refused with a clear 409 and nothing is refunded', async () => {
    const { shopper, orderId } = await paidOrder(shop);
    expect(await shipOrder(shop.db.knex, { orderId, parcel: PARCEL, operator: 'admin:test', now: new Date() })).toBe('shipped');
    const res = await cancelPaid(shopper, orderId);
    expect(res.status).toBe(409);
    expect(res.text).toContain('这笔订单已经发货，不能取消；收到商品后可以申请退货退款。');
    expect(await refundsOf(shop, orderId)).toEqual([]);
    expect(await requestsOf(shop, orderId)).toEqual([]);
  });

  test('another session gets "not found"; nothing is refunded', async () => {
    const { orderId } = await paidOrder(shop);
    const { shopper: stranger } = await paidOrder(shop);
    expect((await cancelPaid(stranger, orderId)).status).toBe(404);
    expect((await cancelPaid(stranger, 'x1')).status).toBe(404);
    expect(await refundsOf(shop, orderId)).toEqual([]);
  });

  test('two cancels at once, and a cancel racing the shipment: one refund at most, never both shipped and refunded', async () => {
    const { orderId, totalFee } = await paidOrder(shop);
    const now = new Date();
    const results = await Promise.all([1, 2, 3].map(() => cancelPaidOrder(shop.db.knex, { orderId, approval: 'auto', operator: 'shopper:test', now })));
    expect(results.map((r) => r.kind).sort()).toEqual(['already', 'already', 'refund']);
    expect((await refundsOf(shop, orderId)).map((r) => Number(r.refund_fee))).toEqual([totalFee]);

    const race = await paidOrder(shop);
    const [shipped, cancelled] = await Promise.all([
      shipOrder(shop.db.knex, { orderId: race.orderId, parcel: PARCEL, operator: 'admin:test', now }),
      cancelPaidOrder(shop.db.knex, { orderId: race.orderId, approval: 'auto', operator: 'shopper:test', now }),
    ]);
    expect([shipped === 'shipped', cancelled.kind === 'refund']).toContainEqual(true);
    expect(shipped === 'shipped' && cancelled.kind === 'refund').toBe(false);
    const report = await ledgerOf(shop);
    expect(report.discrepancies.filter((d) => d.kind.startsWith('aftersale') || d.kind === 'shipped_but_unpaid')).toEqual([]);
  });
});

describe('the merchant approves cancels (AFTERSALE_CANCEL_APPROVAL=merchant)', () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await adminShop({ env: { AFTERSALE_CANCEL_APPROVAL: 'merchant' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('the cancel waits in the queue; approved once it is refunded once; rejected with a reason it is not', async () => {
    const a = await paidOrder(shop);
    const b = await paidOrder(shop);
    const page = await a.shopper.agent.get(`/orders/${a.orderId}`).expect(200);
    expect(page.text).toContain('商家同意后全额退款原路退回微信');
    expect((await cancelPaid(a.shopper, a.orderId)).status).toBe(303);
    expect((await cancelPaid(b.shopper, b.orderId)).status).toBe(303);
    expect(await refundsOf(shop, a.orderId)).toEqual([]);
    const [waiting] = await requestsOf(shop, a.orderId);
    expect(waiting).toMatchObject({ status: 'requested', out_refund_no: null });
    const shopperView = await a.shopper.agent.get(`/orders/${a.orderId}`).expect(200);
    expect(shopperView.text).toContain('等待商家处理');

    const admin = await loggedIn(shop);
    const queue = await admin.agent.get('/admin/aftersales').expect(200);
    expect(queue.text).toContain(`action="/admin/aftersales/${waiting?.id}/approve"`);
    const token = csrfOf(queue.text);
    const approve = () => admin.agent.post(`/admin/aftersales/${waiting?.id}/approve`).type('form').send({ _csrf: token });
    const [first, second] = await Promise.all([approve(), approve()]);
    expect([first.status, second.status]).toEqual([303, 303]);
    const refunds = await refundsOf(shop, a.orderId);
    expect(refunds.map((r) => Number(r.refund_fee))).toEqual([a.totalFee]);
    expect((await requestsOf(shop, a.orderId))[0]).toMatchObject({ status: 'approved', out_refund_no: refunds[0]?.out_refund_no });

    const [other] = await requestsOf(shop, b.orderId);
    const noReason = await admin.agent.post(`/admin/aftersales/${other?.id}/reject`).type('form').send({ _csrf: token, note: '' });
    expect(noReason.status).toBe(400);
    expect((await requestsOf(shop, b.orderId))[0]).toMatchObject({ status: 'requested' });
    const rejected = await admin.agent.post(`/admin/aftersales/${other?.id}/reject`).type('form').send({ _csrf: token, note: '已打包待发' });
    expect(rejected.status).toBe(303);
    expect((await requestsOf(shop, b.orderId))[0]).toMatchObject({ status: 'rejected' });
    expect(await refundsOf(shop, b.orderId)).toEqual([]);
    const told = await b.shopper.agent.get(`/orders/${b.orderId}`).expect(200);
    expect(told.text).toContain('商家拒绝，理由：已打包待发');
    const missing = await admin.agent.post('/admin/aftersales/999999/approve').type('form').send({ _csrf: token });
    expect(missing.status).toBe(404);
    await waitFor('the refund', async () => (await refundsOf(shop, a.orderId))[0]?.status === 'SUCCESS');
    await expectCleanLedger(shop);
  });
});

describe('an operations member decides after-sales within their refund limit', () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await adminShop({ env: { AFTERSALE_CANCEL_APPROVAL: 'merchant' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('an approval over the limit the owner set is refused (403) and refunds nothing; under it, approved; rejecting needs no limit', async () => {
    const a = await paidOrder(shop);
    expect((await cancelPaid(a.shopper, a.orderId)).status).toBe(303);
    const [waiting] = await requestsOf(shop, a.orderId);
    await addMember(shop.db.knex, 'ops.small', 'operations', a.totalFee - 1);
    await addMember(shop.db.knex, 'ops.none', 'operations', 0);
    await addMember(shop.db.knex, 'ops.enough', 'operations', a.totalFee);
    for (const username of ['ops.small', 'ops.none']) {
      const member = await memberLoggedIn(shop, username);
      const queue = await member.agent.get('/admin/aftersales').expect(200);
      // a member who may refund nothing is not offered Approve (rejecting needs no refund)
      expect(queue.text.includes(`action="/admin/aftersales/${waiting?.id}/approve"`)).toBe(username === 'ops.small');
      expect(queue.text).toContain(`action="/admin/aftersales/${waiting?.id}/reject"`);
      const token = csrfOf(queue.text);
      const res = await member.agent.post(`/admin/aftersales/${waiting?.id}/approve`).type('form').send({ _csrf: token });
      expect(res.status).toBe(403);
      expect(await refundsOf(shop, a.orderId)).toEqual([]);
      expect((await requestsOf(shop, a.orderId))[0]).toMatchObject({ status: 'requested', out_refund_no: null });
    }
    const enough = await memberLoggedIn(shop, 'ops.enough');
    const token = csrfOf((await enough.agent.get('/admin/aftersales').expect(200)).text);
    expect((await enough.agent.post(`/admin/aftersales/${waiting?.id}/approve`).type('form').send({ _csrf: token })).status).toBe(303);
    expect((await refundsOf(shop, a.orderId)).map((r) => Number(r.refund_fee))).toEqual([a.totalFee]);

    const b = await paidOrder(shop);
    expect((await cancelPaid(b.shopper, b.orderId)).status).toBe(303);
    const [other] = await requestsOf(shop, b.orderId);
    const none = await memberLoggedIn(shop, 'ops.none');
    const noneToken = csrfOf((await none.agent.get('/admin/aftersales').expect(200)).text);
    expect((await none.agent.post(`/admin/aftersales/${other?.id}/reject`).type('form').send({ _csrf: noneToken, note: '已发货途中' })).status).toBe(303);
    expect((await requestsOf(shop, b.orderId))[0]).toMatchObject({ status: 'rejected' });
    await waitFor('the refund', async () => (await refundsOf(shop, a.orderId))[0]?.status === 'SUCCESS');
    await expectCleanLedger(shop);
  });
});

describe('the ledger check: after-sales requests', () => {
  test('finds an approved request without its refund, a refund over what was approved, and approvals over the order\'s total (planted)', async () => {
    const shop = await adminShop();
    try {
      const knex = shop.db.knex;
      const { shopper, orderId, totalFee } = await paidOrder(shop);
      expect((await cancelPaid(shopper, orderId)).status).toBe(303);
      await waitFor('the refund', async () => (await refundsOf(shop, orderId))[0]?.status === 'SUCCESS');
      await expectCleanLedger(shop);
      const [request] = await requestsOf(shop, orderId);
      const kinds = async () => (await ledgerOf(shop)).discrepancies.filter((d) => d.kind.startsWith('aftersale')).map((d) => `${d.kind} ${d.subject}`);

      await knex('aftersales').where({ id: request?.id }).update({ amount_fen: totalFee - 1 });
      expect(await kinds()).toEqual([`aftersale_refund_mismatch after-sales ${request?.id}`]);
      await knex('aftersales').where({ id: request?.id }).update({ amount_fen: totalFee });

      const [second] = (await knex('aftersales')
        .insert({ order_id: orderId, kind: 'cancel', status: 'approved', amount_fen: 1, requested_by: 'shopper:x', requested_at: new Date(), decided_at: new Date(), out_refund_no: null })
        .returning('id')
        .catch(() => [undefined])) as ({ id: number } | undefined)[];
      // the schema itself refuses an approved request without a refund
      expect(second).toBeUndefined();
      const [rejected] = (await knex('aftersales').insert({ order_id: orderId, kind: 'cancel', status: 'rejected', amount_fen: 5, requested_by: 'shopper:x', requested_at: new Date(), decided_at: new Date() }).returning('id')) as { id: number }[];
      // a rejected request is clean; the schema refuses one naming a refund
      await expectCleanLedger(shop);
      await expect(knex('aftersales').where({ id: rejected?.id }).update({ out_refund_no: request?.out_refund_no ?? null })).rejects.toThrow(/aftersales_approved_has_refund/);
      await knex('aftersales').where({ id: rejected?.id }).delete();
      await knex('aftersales').where({ id: request?.id }).update({ amount_fen: totalFee + 1 });
      expect((await kinds()).sort()).toEqual([`aftersale_over_paid after-sales ${request?.id}`, `aftersale_over_paid order ${orderId}`]);
      await knex('aftersales').where({ id: request?.id }).update({ amount_fen: totalFee });
      await expectCleanLedger(shop);
    } finally {
      await shop.close();
    }
  });
});
