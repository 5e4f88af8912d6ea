import request from 'supertest';
import { buildRefundNotify, successReply } from '../../../src/wechatpay';
import { manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { payOnPhone } from '../../helpers/shopper';
import { type Admin, adminShop, checkedOrderOf, csrfOf, insertPaylog, loggedIn, markRowPaid, paidTrade, waitFor } from './helpers';
import { ordersOfTrade, v2ClientOf } from '../../helpers/ledger';

const SUCCESS = successReply();

async function rowsOf(shop: TestShop, outTradeNo: string) {
  const knex = shop.db.knex;
  const paylog = (await knex('paylog').where({ out_trade_no: outTradeNo }).first()) as { total_fee: number; refunded_fee: number; trade_state: string; transaction_id: string };
  const refunds = (await knex('refunds').where({ out_trade_no: outTradeNo }).orderBy('created_at').orderBy('out_refund_no').select('*')) as {
    out_refund_no: string;
    refund_fee: number;
    status: string;
    refund_id: string | null;
    reason: string | null;
    operator: string;
    last_error: string | null;
    success_time: Date | null;
  }[];
  const orders = (await ordersOfTrade(knex, outTradeNo).select('orders.id', 'orders.status', 'orders.refunded_fen', 'orders.total_fen')) as {
    id: number;
    status: string;
    refunded_fen: number;
    total_fen: number;
  }[];
  const logs = (await knex('order_log')
    .whereIn(
      'order_id',
      orders.map((o) => o.id),
    )
    .orderBy('id')
    .select('order_id', 'from_status', 'to_status', 'operator', 'event', 'params')) as { order_id: number; from_status: string; to_status: string; operator: string; event: string | null; params: unknown }[];
  const simRefunds = (await knex('sim_refunds').join('sim_trades', 'sim_trades.id', 'sim_refunds.trade_id').where('sim_trades.out_trade_no', outTradeNo).select('sim_refunds.out_refund_no', 'sim_refunds.refund_fee', 'sim_refunds.status')) as {
    out_refund_no: string;
    refund_fee: number;
    status: string;
  }[];
  return { paylog, refunds, orders, logs, simRefunds };
}

/** An order_log row's parameters, whichever way the driver hands jsonb back. */
const paramsOf = (row: { params: unknown }): Record<string, unknown> => (typeof row.params === 'string' ? (JSON.parse(row.params) as Record<string, unknown>) : ((row.params ?? {}) as Record<string, unknown>));

async function noticeOf(admin: Admin, location: string | undefined): Promise<string> {
  const page = await admin.agent.get(location ?? '/admin').expect(200);
  return /<div class="admin-notice[^"]*" role="status">\s*<p>([^<]*)<\/p>/.exec(page.text)?.[1] ?? '';
}

describe('refunds through the admin and the simulator', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let admin: Admin;
  beforeAll(async () => {
    clock = manualClock(new Date());
    shop = await adminShop({ clock });
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });
  beforeEach(() => {
    // WeChat wants refunds of one trade a minute apart; each test starts well after the last one's
    clock.advance(5 * 60 * 1000);
  });

  test('a partial refund completes through the refund notify; the rest of it later marks the order refunded', async () => {
    // one seller: one order
    const { outTradeNo, totalFee } = await paidTrade(shop, [['TEA-MLH-100', 1], ['TEA-LJ-250', 1]]);
    const form = await admin.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    expect(form.text).toMatch(/<label for="refund-amount">/);
    expect(form.text).toMatch(/<label for="refund-reason">/);
    const outRefundNo = /name="out_refund_no" value="([^"]+)"/.exec(form.text)?.[1] as string;
    const _csrf = csrfOf(form.text);

    // step 1: the form shows a confirmation, nothing is stored yet
    const confirm = await admin.agent.post(`/admin/paylog/${outTradeNo}/refund`).type('form').send({ _csrf, out_refund_no: outRefundNo, amount: '0.50', reason: '少发一件' });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('确认为交易');
    expect(confirm.text).toContain('¥0.50');
    expect(await shop.db.knex('refunds').where({ out_trade_no: outTradeNo })).toEqual([]);

    // step 2: confirmed
    const done = await admin.agent.post(`/admin/paylog/${outTradeNo}/refund`).type('form').send({ _csrf, out_refund_no: outRefundNo, amount: '0.50', reason: '少发一件', confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(`/admin/paylog/${outTradeNo}`);
    expect(await noticeOf(admin, done.headers.location)).toMatch(/微信支付已受理 ¥0.50 的退款|¥0.50 的退款已成功/);

    await waitFor('the refund notify', async () => (await rowsOf(shop, outTradeNo)).refunds[0]?.status === 'SUCCESS');
    const partial = await rowsOf(shop, outTradeNo);
    expect(partial.refunds).toHaveLength(1);
    expect(partial.refunds[0]).toMatchObject({ out_refund_no: outRefundNo, refund_fee: 50, status: 'SUCCESS', reason: '少发一件', operator: 'admin:boss', last_error: null });
    expect(partial.refunds[0]?.refund_id).toMatch(/^\d+$/);
    expect(partial.refunds[0]?.success_time).toBeInstanceOf(Date);
    expect(partial.paylog).toMatchObject({ refunded_fee: 50, trade_state: 'REFUND', total_fee: totalFee });
    expect(partial.orders.map((o) => [o.status, Number(o.refunded_fen)])).toEqual([['paid', 50]]);
    expect(partial.simRefunds).toEqual([{ out_refund_no: outRefundNo, refund_fee: 50, status: 'SUCCESS' }]);
    // the refund's events on its order, as data
    expect(partial.logs.filter((l) => l.operator === 'admin:boss' && l.event === 'refund_requested').map(paramsOf)).toEqual([{ outRefundNo, amountFen: 50, reason: '少发一件' }]);
    expect(partial.logs.filter((l) => l.operator === 'system' && l.event === 'refund_succeeded').map(paramsOf)).toEqual([{ outRefundNo, amountFen: 50 }]);
    // the notify goes on record just after the settling transaction
    const notifies = await waitFor('the refund notify on record', async () => {
      const rows = (await shop.db.knex('notify_log').where({ kind: 'refund', out_trade_no: outTradeNo }).select('verdict', 'raw_body')) as { verdict: string; raw_body: string }[];
      return rows.length > 0 ? rows : undefined;
    });
    expect(notifies.map((n: { verdict: string }) => n.verdict)).toEqual(['refunded']);
    expect(notifies[0]?.raw_body).toContain('<req_info>');

    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(page.text).toContain('退款成功');
    expect(page.text).toMatch(/id="refunded-fee" data-fen="50"/);

    // the rest, a minute later
    clock.advance(61_000);
    const rest = totalFee - 50;
    const second = await admin.refund(outTradeNo, (rest / 100).toFixed(2), '全部退款');
    expect(second.res.status).toBe(303);
    await waitFor('the second refund notify', async () => (await rowsOf(shop, outTradeNo)).refunds.every((r) => r.status === 'SUCCESS') && (await rowsOf(shop, outTradeNo)).refunds.length === 2);
    const full = await rowsOf(shop, outTradeNo);
    expect(full.paylog).toMatchObject({ refunded_fee: totalFee, trade_state: 'REFUND' });
    expect(full.orders.map((o) => [o.status, Number(o.refunded_fen)])).toEqual([['refunded', totalFee]]);
    expect(full.logs.filter((l) => l.from_status === 'paid' && l.to_status === 'refunded' && l.operator === 'system' && l.event === 'refund_succeeded_all')).toHaveLength(1);
    const after = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(after.text).not.toContain(`/admin/paylog/${outTradeNo}/refund"`);
    const more = await admin.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    expect(more.text).toContain('这笔支付已没有可退的金额');
  });

  test('a payment for two sellers\' orders is refunded order by order: each never past its own total, each refunded when its own amount is back', async () => {
    const { outTradeNo, totalFee } = await paidTrade(shop, [['TEA-LJ-250', 1], ['GEEK-CBL-01', 2]]);
    const [first, second] = (await rowsOf(shop, outTradeNo)).orders;
    if (!first || !second) throw new Error('two orders expected');
    // the form names the orders, each with what is left of it
    const form = await admin.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    expect(form.text).toContain(`name="order_id" value="${first.id}" checked`);
    expect(form.text).toContain(`name="order_id" value="${second.id}"`);
    // no order named: refused with a message, nothing stored
    const unnamed = await admin.agent
      .post(`/admin/paylog/${outTradeNo}/refund`)
      .type('form')
      .send({ _csrf: csrfOf(form.text), out_refund_no: /name="out_refund_no" value="([^"]+)"/.exec(form.text)?.[1], amount: '1.00', confirm: 'yes' });
    expect(unnamed.status).toBe(400);
    expect(unnamed.text).toContain('请选择为哪个订单退款');
    // one fen more than the first order cost: refused, though the payment took more
    const over = await admin.refund(outTradeNo, ((Number(first.total_fen) + 1) / 100).toFixed(2), '', first.id);
    expect(over.res.status).toBe(409);
    expect(over.res.text).toContain('退款金额超过了可退金额');
    // the whole of the first order
    const done = await admin.refund(outTradeNo, (Number(first.total_fen) / 100).toFixed(2), '整单退款', first.id);
    expect(done.res.status).toBe(303);
    await waitFor('the refund', async () => (await rowsOf(shop, outTradeNo)).refunds[0]?.status === 'SUCCESS');
    const rows = await rowsOf(shop, outTradeNo);
    expect(rows.orders.map((o) => [o.id, o.status, Number(o.refunded_fen)])).toEqual([
      [first.id, 'refunded', Number(first.total_fen)],
      [second.id, 'paid', 0],
    ]);
    expect(rows.paylog).toMatchObject({ trade_state: 'REFUND', refunded_fee: Number(first.total_fen), total_fee: totalFee });
    expect(await shop.db.knex('refunds').where({ out_trade_no: outTradeNo }).pluck('order_id')).toEqual([first.id]);
    // the detail shows each order's refund beside it
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(page.text).toContain(`data-order-id="${first.id}"`);
    expect(page.text).toMatch(new RegExp(`class="refunded" data-fen="${Number(first.total_fen)}"`));
    // the first order has nothing left; the second still all of it
    const again = await admin.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    expect(again.text).toMatch(new RegExp(`name="order_id" value="${first.id}" disabled`));
    expect(again.text).toContain(`name="order_id" value="${second.id}" checked`);
  });

  test('two admins refunding at once can never refund more than was paid', async () => {
    const { outTradeNo, totalFee } = await paidTrade(shop, [['GEEK-CBL-01', 2]]);
    const other = await loggedIn(shop);
    const share = Math.floor(totalFee * 0.3);
    const admins = [admin, other, admin, other, admin];
    // five forms open (five refund numbers), all sent at once: 5 x 30% > 100%
    const forms: { text: string }[] = [];
    for (const a of admins) forms.push(await a.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200));
    const answers = await Promise.all(
      admins.map((a, i) => {
        const html = forms[i]?.text ?? '';
        return a.agent
          .post(`/admin/paylog/${outTradeNo}/refund`)
          .type('form')
          .send({ _csrf: csrfOf(html), out_refund_no: /name="out_refund_no" value="([^"]+)"/.exec(html)?.[1], order_id: checkedOrderOf(html), amount: (share / 100).toFixed(2), reason: '', confirm: 'yes' });
      }),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([303, 303, 303, 409, 409]);
    const refused = answers.find((r) => r.status === 409);
    expect(refused?.text).toContain('退款金额超过了可退金额');
    const { refunds, paylog } = await rowsOf(shop, outTradeNo);
    expect(refunds).toHaveLength(3);
    const live = refunds.filter((r) => r.status !== 'REFUNDCLOSE').reduce((sum, r) => sum + r.refund_fee, 0);
    expect(live).toBe(3 * share);
    expect(live).toBeLessThanOrEqual(paylog.total_fee);
    // WeChat took one of them; the other two wait (a minute apart, WeChat says) and still count
    expect(refunds.filter((r) => r.status === 'PENDING' && r.last_error?.startsWith('FREQUENCY_LIMITED'))).toHaveLength(2);
  });

  test('FREQUENCY_LIMITED is explained, and a retry a minute later sends the same out_refund_no once', async () => {
    const { outTradeNo } = await paidTrade(shop);
    const first = await admin.refund(outTradeNo, '0.10', 'first');
    expect(first.res.status).toBe(303);
    const second = await admin.refund(outTradeNo, '0.20', 'second');
    expect(second.res.status).toBe(303);
    expect(await noticeOf(admin, second.res.headers.location)).toContain('同一笔交易的两次退款至少间隔一分钟');
    let rows = await rowsOf(shop, outTradeNo);
    expect(rows.refunds.find((r) => r.out_refund_no === second.outRefundNo)).toMatchObject({ status: 'PENDING', refund_id: null });
    expect(rows.simRefunds.map((r) => r.out_refund_no)).toEqual([first.outRefundNo]);
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(page.text).toContain(`/refunds/${second.outRefundNo}/retry`);

    clock.advance(61_000);
    const retried = await admin.confirm(`/admin/paylog/${outTradeNo}/refunds/${second.outRefundNo}/retry`);
    expect(retried.status).toBe(303);
    await waitFor('both refunds done', async () => (await rowsOf(shop, outTradeNo)).refunds.every((r) => r.status === 'SUCCESS'));
    rows = await rowsOf(shop, outTradeNo);
    expect(rows.simRefunds.map((r) => r.out_refund_no).sort()).toEqual([first.outRefundNo, second.outRefundNo].sort());
    expect(rows.paylog.refunded_fee).toBe(30);
    // retrying a refund that is no longer pending sends nothing
    const again = await admin.confirm(`/admin/paylog/${outTradeNo}/refunds/${second.outRefundNo}/sync`);
    expect(await noticeOf(admin, again.headers.location)).toContain('记录已是最新');
  });

  test('a double-submitted refund form refunds once', async () => {
    const { outTradeNo } = await paidTrade(shop);
    const form = await admin.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    const fields = { _csrf: csrfOf(form.text), out_refund_no: /name="out_refund_no" value="([^"]+)"/.exec(form.text)?.[1], order_id: checkedOrderOf(form.text), amount: '0.01', reason: 'x', confirm: 'yes' };
    const [a, b] = await Promise.all([admin.agent.post(`/admin/paylog/${outTradeNo}/refund`).type('form').send(fields), admin.agent.post(`/admin/paylog/${outTradeNo}/refund`).type('form').send(fields)]);
    expect([a.status, b.status]).toEqual([303, 303]);
    await waitFor('the refund', async () => (await rowsOf(shop, outTradeNo)).refunds[0]?.status === 'SUCCESS');
    const rows = await rowsOf(shop, outTradeNo);
    expect(rows.refunds).toHaveLength(1);
    expect(rows.simRefunds).toHaveLength(1);
    expect(rows.paylog.refunded_fee).toBe(1);
  });

  test('a SYSTEMERROR leaves the refund waiting; the retry reuses its out_refund_no', async () => {
    const { outTradeNo } = await paidTrade(shop);
    const mchId = shop.app.locals.deps.config.wxpay.mchId;
    await admin.agent.post('/wxsim/faults').send({ mch_id: mchId, kind: 'systemerror', api: 'refund', out_trade_no: outTradeNo, count: 1 }).expect(201);
    const { res, outRefundNo } = await admin.refund(outTradeNo, '0.05');
    expect(await noticeOf(admin, res.headers.location)).toContain('微信支付暂时出错（SYSTEMERROR');
    expect((await rowsOf(shop, outTradeNo)).refunds).toEqual([expect.objectContaining({ out_refund_no: outRefundNo, status: 'PENDING', last_error: expect.stringContaining('SYSTEMERROR') })]);
    const retried = await admin.confirm(`/admin/paylog/${outTradeNo}/refunds/${outRefundNo}/retry`);
    expect(retried.status).toBe(303);
    await waitFor('the refund', async () => (await rowsOf(shop, outTradeNo)).refunds[0]?.status === 'SUCCESS');
    const rows = await rowsOf(shop, outTradeNo);
    expect(rows.simRefunds).toEqual([{ out_refund_no: outRefundNo, refund_fee: 5, status: 'SUCCESS' }]);
  });

  test('a bad amount or reason is refused with a message and stores nothing', async () => {
    const { outTradeNo, totalFee } = await paidTrade(shop);
    for (const [amount, status, message] of [
      ['0', 400, '请填写大于 0 的金额'],
      ['abc', 400, '请填写大于 0 的金额'],
      ['1.234', 400, '请填写大于 0 的金额'],
      ['-1', 400, '请填写大于 0 的金额'],
      ['1e2', 400, '请填写大于 0 的金额'],
      [((totalFee + 1) / 100).toFixed(2), 409, '退款金额超过了可退金额'],
    ] as const) {
      const { res } = await admin.refund(outTradeNo, amount);
      expect([amount, res.status]).toEqual([amount, status]);
      expect(res.text).toContain(message);
    }
    const long = await admin.refund(outTradeNo, '0.01', '长'.repeat(81));
    expect(long.res.status).toBe(400);
    expect(long.res.text).toContain('退款原因最多 80 个字');
    const { refunds, simRefunds } = await rowsOf(shop, outTradeNo);
    expect(refunds).toEqual([]);
    expect(simRefunds).toEqual([]);
  });

  test('an unpaid trade cannot be refunded: the form offers none, and a forged POST is refused', async () => {
    const outTradeNo = await insertPaylog(shop.db.knex, { total_fee: 500 });
    const form = await admin.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    expect(form.text).toContain('只有已支付的交易才能退款');
    expect(form.text).not.toContain('name="amount"');
    const res = await admin.agent.post(`/admin/paylog/${outTradeNo}/refund`).type('form').send({ _csrf: csrfOf(form.text), out_refund_no: 'RTESTUNPAID0001', amount: '1.00', confirm: 'yes' });
    expect(res.status).toBe(409);
    expect(res.text).toContain('只有已支付的交易才能退款');
    expect(await shop.db.knex('refunds').where({ out_trade_no: outTradeNo })).toEqual([]);
  });
});

describe('the refund notify webhook refuses what does not match our refund', () => {
  let shop: TestShop;
  let outTradeNo: string;
  const outRefundNo = 'RFORGED00000000000001';
  const refundId = '50300000000000000000000001';
  const transactionId = '4200000000000000000000000777';
  beforeAll(async () => {
    shop = await adminShop();
    outTradeNo = await insertPaylog(shop.db.knex, { total_fee: 1000 });
    await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).update({ trade_state: 'SUCCESS', transaction_id: transactionId, pay_time: new Date() });
    await shop.db.knex('refunds').insert({ out_refund_no: outRefundNo, out_trade_no: outTradeNo, refund_fee: 300, status: 'PROCESSING', refund_id: refundId, operator: 'admin:boss' });
  });
  afterAll(async () => {
    await shop.close();
  });

  const merchant = () => {
    const { appId, mchId, apiKey } = shop.app.locals.deps.config.wxpay;
    return { appId, mchId, apiKey };
  };
  const inner = (over: Record<string, string | number> = {}) => ({
    out_trade_no: outTradeNo,
    transaction_id: transactionId,
    refund_id: refundId,
    out_refund_no: outRefundNo,
    total_fee: 1000,
    refund_fee: 300,
    settlement_refund_fee: 300,
    refund_status: 'SUCCESS',
    success_time: '2026-11-25 10:00:00',
    refund_recv_accout: '支付用户的零钱',
    refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
    refund_request_source: 'API',
    ...over,
  });
  const post = (body: string) => request(shop.url).post('/wxpay/refund-notify').set('Content-Type', 'text/xml').send(body);
  const state = async () => ({
    paylog: await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee', 'trade_state'),
    refund: await shop.db.knex('refunds').where({ out_refund_no: outRefundNo }).first('status', 'success_time', 'refund_id'),
  });
  const lastNotify = async () => (await shop.db.knex('notify_log').where({ kind: 'refund' }).orderBy('id', 'desc').first('verdict', 'out_trade_no', 'raw_body')) as { verdict: string; out_trade_no: string | null; raw_body: string };

  test.each([
    ['encrypted with another key', () => buildRefundNotify(inner(), { ...merchant(), apiKey: 'someoneelseskey0000000000000000a' }), 401, 'bad_req_info'],
    ['for an out_refund_no we never made', () => buildRefundNotify(inner({ out_refund_no: 'RNEVERMADE0001' }), merchant()), 404, 'unknown_refund'],
    ['with another refund amount', () => buildRefundNotify(inner({ refund_fee: 1000, settlement_refund_fee: 1000 }), merchant()), 409, 'mismatch'],
    ['with another trade total', () => buildRefundNotify(inner({ total_fee: 5000 }), merchant()), 409, 'mismatch'],
    ['for another trade', () => buildRefundNotify(inner({ out_trade_no: 'SOMEOTHERTRADE01' }), merchant()), 409, 'mismatch'],
    ['with another refund_id', () => buildRefundNotify(inner({ refund_id: '50300000000000000000000999' }), merchant()), 409, 'mismatch'],
    ['for another merchant', () => buildRefundNotify(inner(), { ...merchant(), mchId: '1999999999' }), 403, 'wrong_merchant'],
    ['with return_code FAIL', () => buildRefundNotify(inner(), merchant(), { return_code: 'FAIL', return_msg: 'nope' }), 400, 'not_success'],
    ['with a DOCTYPE (XXE)', () => `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>${buildRefundNotify(inner(), merchant())}`, 400, 'bad_xml'],
  ])('a refund notify %s answers FAIL, changes nothing, and is on record', async (_name, body, status, verdict) => {
    const before = await state();
    const res = await post(body());
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.text).toMatch(/^<xml><return_code><!\[CDATA\[FAIL\]\]><\/return_code><return_msg>/);
    expect(await state()).toEqual(before);
    expect(before.refund.status).toBe('PROCESSING');
    expect((await lastNotify()).verdict).toBe(verdict);
  });

  test('the genuine notify is stored once and answered SUCCESS; its duplicates change nothing more', async () => {
    const body = buildRefundNotify(inner(), merchant());
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(res.text).toBe(SUCCESS);
    const after = await state();
    expect(after.paylog).toEqual({ refunded_fee: 300, trade_state: 'REFUND' });
    expect(after.refund.status).toBe('SUCCESS');
    expect(after.refund.success_time).toEqual(new Date('2026-11-25T02:00:00Z'));
    expect(await lastNotify()).toMatchObject({ verdict: 'refunded', out_trade_no: outTradeNo });
    const copies = await Promise.all(Array.from({ length: 5 }, () => post(buildRefundNotify(inner(), merchant()))));
    expect(copies.map((c) => c.status)).toEqual([200, 200, 200, 200, 200]);
    expect(copies.every((c) => c.text === SUCCESS)).toBe(true);
    expect(await state()).toEqual(after);
    expect((await lastNotify()).verdict).toBe('duplicate');
    // a contradicting outcome after SUCCESS is kept for an admin, and nothing changes
    const contradiction = await post(buildRefundNotify(inner({ refund_status: 'REFUNDCLOSE' }), merchant()));
    expect(contradiction.status).toBe(200);
    expect(await state()).toEqual(after);
    expect((await lastNotify()).verdict).toBe('conflict');
  });

  test('the detail page shows the refund notifies with their raw XML escaped', async () => {
    await shop.db.knex('notify_log').insert({ kind: 'refund', out_trade_no: outTradeNo, verdict: 'bad_xml', raw_body: '<xml><script>alert(1)</script></xml>', received_at: new Date() });
    const admin = await loggedIn(shop);
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(page.text).toContain('&lt;xml&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/xml&gt;');
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;req_info&gt;');
    expect(page.text).toContain('退款通知');
  });

  test('a body over 64 KiB is refused with WeChat FAIL XML', async () => {
    const res = await post(`<xml><a>${'x'.repeat(70 * 1024)}</a></xml>`);
    expect(res.status).toBe(413);
    expect(res.text).toContain('FAIL');
  });
});

describe('when WeChat notifies never arrive, the admin settles payments and refunds by asking', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let admin: Admin;
  beforeAll(async () => {
    clock = manualClock(new Date());
    // notifies go to a closed port: every payment and refund notify is lost; a 5 s refund delay
    shop = await adminShop({ clock, env: { WXPAY_NOTIFY_URL: 'http://127.0.0.1:9/wxpay/notify', SIM_REFUND_DELAY_SECONDS: '5', SIM_TIME_SCALE: '1' } });
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });

  test('sync settles a refund whose notify was lost, and says so while WeChat is still processing', async () => {
    const knex = shop.db.knex;
    const outTradeNo = await insertPaylog(knex, { total_fee: 800 });
    // made known to WeChat (the simulator) and paid there, then told to us by the query
    const client = v2ClientOf(shop);
    const { codeUrl } = await client.unifiedOrder({ body: 'x', outTradeNo, totalFee: 800, spbillCreateIp: '127.0.0.1', notifyUrl: 'http://127.0.0.1:9/wxpay/notify', productId: outTradeNo });
    expect((await payOnPhone(shop.url, codeUrl)).status).toBe(200);
    const queried = await admin.confirm(`/admin/paylog/${outTradeNo}/query`);
    expect(await noticeOf(admin, queried.headers.location)).toContain('已标记为已支付');
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('SUCCESS');

    const { outRefundNo } = await admin.refund(outTradeNo, '8.00', '全额');
    expect((await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).status).toBe('PROCESSING');
    const early = await admin.confirm(`/admin/paylog/${outTradeNo}/refunds/${outRefundNo}/sync`);
    expect(await noticeOf(admin, early.headers.location)).toContain('仍在处理');

    clock.advance(6_000);
    await shop.simulator?.runDueWork();
    expect((await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).status).toBe('PROCESSING');
    const synced = await admin.confirm(`/admin/paylog/${outTradeNo}/refunds/${outRefundNo}/sync`);
    expect(await noticeOf(admin, synced.headers.location)).toContain('全部金额已退回');
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('status', 'refund_id')).toMatchObject({ status: 'SUCCESS', refund_id: expect.stringMatching(/^\d+$/) });
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee', 'trade_state')).toEqual({ refunded_fee: 800, trade_state: 'REFUND' });
    // a second sync is a no-op that says so
    const again = await admin.confirm(`/admin/paylog/${outTradeNo}/refunds/${outRefundNo}/sync`);
    expect(await noticeOf(admin, again.headers.location)).toContain('记录已是最新');
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee')).refunded_fee).toBe(800);
  });

  test('the same holds for a direct markPaid trade unknown to WeChat: a refund is refused and closed', async () => {
    const knex = shop.db.knex;
    const outTradeNo = await insertPaylog(knex, { total_fee: 300 });
    await markRowPaid(knex, outTradeNo, 300);
    const { res, outRefundNo } = await admin.refund(outTradeNo, '1.00');
    expect(await noticeOf(admin, res.headers.location)).toContain('微信支付拒绝了这笔退款');
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('status', 'last_error')).toEqual({ status: 'REFUNDCLOSE', last_error: expect.stringContaining('ORDERNOTEXIST') });
    // a closed refund no longer counts: the whole amount can be refunded anew
    const form = await admin.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    expect(form.text).toMatch(/id="refund-left" data-fen="300"/);
  });
});
