import { manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { Shopper, payOnPhone } from '../../helpers/shopper';
import { type Admin, adminShop, csrfOf, loggedIn, paidTrade, unpaidTrade, waitFor } from './helpers';

async function noticeOf(admin: Admin, location: string | undefined): Promise<{ text: string; html: string }> {
  const page = await admin.agent.get(location ?? '/admin').expect(200);
  const block = /<div class="admin-notice[^"]*" role="status">([\s\S]*?)<\/div>/.exec(page.text)?.[1] ?? '';
  return { text: /<p>([^<]*)<\/p>/.exec(block)?.[1] ?? '', html: block };
}

async function stateOf(shop: TestShop, outTradeNo: string) {
  const knex = shop.db.knex;
  const paylog = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'transaction_id', 'closed_at')) as { trade_state: string; transaction_id: string | null; closed_at: Date | null };
  const orders = (await knex('orders').where({ out_trade_no: outTradeNo }).orderBy('id').select('id', 'status')) as { id: number; status: string }[];
  const logs = (await knex('order_log')
    .whereIn(
      'order_id',
      orders.map((o) => o.id),
    )
    .orderBy('id')
    .select('from_status', 'to_status', 'operator', 'event', 'params')) as { from_status: string; to_status: string; operator: string; event: string; params: unknown }[];
  // jsonb as an object, whichever driver read it
  return { paylog, orders, logs: logs.map((l) => ({ ...l, params: typeof l.params === 'string' ? (JSON.parse(l.params) as unknown) : l.params })) };
}

describe('the payment detail page', () => {
  let shop: TestShop;
  let admin: Admin;
  beforeAll(async () => {
    shop = await adminShop();
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });

  test('shows the orders with items and receivers, the order log, the notifies with raw XML escaped, and the actions', async () => {
    const { outTradeNo, totalFee } = await paidTrade(shop);
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(page.text).toContain(outTradeNo);
    expect(page.text).toMatch(/id="trade-state" data-state="SUCCESS"/);
    expect(page.text).toContain(`data-fen="${totalFee}"`);
    // orders, items, receivers
    expect(page.text).toContain('茉莉花茶');
    expect(page.text).toContain('收货人：张三，13800138000，上海市浦东新区世纪大道100号');
    const orders = await shop.db.knex('orders').where({ out_trade_no: outTradeNo }).pluck('id');
    for (const id of orders) expect(page.text).toContain(`data-order-id="${id}"`);
    // order log: checkout and payment
    expect(page.text).toMatch(/待支付 → 已支付<\/td>\s*<td>系统<\/td>/);
    // the payment notify, its XML shown as text
    expect(page.text).toContain('支付通知');
    expect(page.text).toMatch(/<pre class="raw-xml">&lt;xml&gt;&lt;sign&gt;[^<]*&lt;return_code&gt;&lt;!\[CDATA\[SUCCESS\]\]&gt;/);
    expect(page.text).not.toMatch(/<pre class="raw-xml"><xml>/);
    // actions: query and refund for a paid trade, no close
    expect(page.text).toContain(`href="/admin/paylog/${outTradeNo}/query"`);
    expect(page.text).toContain(`href="/admin/paylog/${outTradeNo}/refund"`);
    expect(page.text).not.toContain(`href="/admin/paylog/${outTradeNo}/close"`);
    expect(page.text).not.toMatch(/<script/);
  });

  test('an unknown payment is a 404 page', async () => {
    const res = await admin.agent.get('/admin/paylog/NOSUCHTRADE00001');
    expect(res.status).toBe(404);
    expect(res.text).toContain('找不到这笔支付记录');
    expect((await admin.agent.get('/admin/paylog/bad%20number')).status).toBe(404);
  });

  test('a search by out_trade_no and one click find any payment', async () => {
    const { outTradeNo } = await paidTrade(shop);
    const dashboard = await admin.agent.get('/admin').expect(200);
    expect(dashboard.text).toMatch(/<form class="admin-search" method="get" action="\/admin\/paylog"/);
    const list = await admin.agent.get(`/admin/paylog?q=${outTradeNo}`).expect(200);
    expect(list.text).toContain(`href="/admin/paylog/${outTradeNo}"`);
  });
});

describe('admin actions: ask WeChat, close', () => {
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

  test('"ask WeChat" needs a confirmation: a POST without it only leads to the confirmation page', async () => {
    const outTradeNo = await unpaidTrade(shop);
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}/query`).expect(200);
    expect(page.text).toContain('向微信支付查询交易');
    const before = await stateOf(shop, outTradeNo);
    const res = await admin.agent.post(`/admin/paylog/${outTradeNo}/query`).type('form').send({ _csrf: csrfOf(page.text) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/admin/paylog/${outTradeNo}/query`);
    expect(await stateOf(shop, outTradeNo)).toEqual(before);
    const forged = await admin.agent.post(`/admin/paylog/${outTradeNo}/query`).type('form').send({ confirm: 'yes' });
    expect(forged.status).toBe(403);
    expect(await stateOf(shop, outTradeNo)).toEqual(before);
  });

  test('"ask WeChat" on a trade paid at WeChat whose notify was lost marks it paid, naming the admin', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 2]]);
    await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const mchId = shop.app.locals.deps.config.wxpay.mchId;
    await admin.agent.post('/wxsim/faults').send({ mch_id: mchId, kind: 'notify_drop', out_trade_no: outTradeNo }).expect(201);
    const { code_url: codeUrl } = (await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url')) as { code_url: string };
    expect((await payOnPhone(shop.url, codeUrl)).status).toBe(200);
    await shop.simulator?.runDueWork();
    expect((await stateOf(shop, outTradeNo)).paylog.trade_state).toBe('NOTPAY');

    const res = await admin.confirm(`/admin/paylog/${outTradeNo}/query`);
    expect(res.status).toBe(303);
    const notice = await noticeOf(admin, res.headers.location);
    expect(notice.text).toBe('微信支付答复：已支付（SUCCESS）。已标记为已支付。');
    // what WeChat said, in the admin's words (WeChat's own word for the state beside them)
    expect(notice.html).toContain('<dt>交易状态</dt><dd>已支付（SUCCESS）</dd>');
    expect(notice.html).toMatch(/<dt>支付完成时间<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<\/dd>/);
    expect(notice.html).toMatch(/<dt>金额<\/dt><dd>¥\d+\.\d\d<\/dd>/);
    const after = await stateOf(shop, outTradeNo);
    expect(after.paylog.trade_state).toBe('SUCCESS');
    expect(after.paylog.transaction_id).toMatch(/^\d{28}$/);
    expect(after.orders.map((o) => o.status)).toEqual(['paid']);
    expect(after.logs.filter((l) => l.to_status === 'paid' && l.operator === 'admin:boss')).toHaveLength(1);
    // the notice is shown once
    expect((await noticeOf(admin, `/admin/paylog/${outTradeNo}`)).text).toBe('');
  });

  test('"ask WeChat" on an unpaid trade shows WeChat\'s answer, changes nothing, and leaves an audit line', async () => {
    const outTradeNo = await unpaidTrade(shop);
    const before = await stateOf(shop, outTradeNo);
    const res = await admin.confirm(`/admin/paylog/${outTradeNo}/query`);
    expect((await noticeOf(admin, res.headers.location)).text).toBe('微信支付答复：未支付（NOTPAY）。');
    const after = await stateOf(shop, outTradeNo);
    expect(after.paylog).toEqual(before.paylog);
    expect(after.orders).toEqual(before.orders);
    expect(after.logs.slice(before.logs.length)).toEqual([{ from_status: 'unpaid', to_status: 'unpaid', operator: 'admin:boss', event: 'query_answered', params: { fact: 'unpaid', state: 'NOTPAY' } }]);
  });

  test('close: too early within WeChat\'s 5 minutes; after them, trade and orders closed and stock given back', async () => {
    const stockBefore = (await shop.db.knex('product_variants').where({ sku: 'GEEK-CBL-01' }).first('stock')).stock as number;
    const outTradeNo = await unpaidTrade(shop, [['GEEK-CBL-01', 3]]);
    expect((await shop.db.knex('product_variants').where({ sku: 'GEEK-CBL-01' }).first('stock')).stock).toBe(stockBefore - 3);
    const detail = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(detail.text).toContain(`href="/admin/paylog/${outTradeNo}/close"`);

    clock.advance(4 * 60 * 1000);
    const early = await admin.confirm(`/admin/paylog/${outTradeNo}/close`);
    expect((await noticeOf(admin, early.headers.location)).text).toBe('太早了：微信只允许在下单 5 分钟后关闭交易，请稍后再试。');
    let state = await stateOf(shop, outTradeNo);
    expect(state.paylog.trade_state).toBe('NOTPAY');
    expect(state.orders.map((o) => o.status)).toEqual(['unpaid']);
    expect(state.logs.at(-1)).toMatchObject({ operator: 'admin:boss', event: 'close_asked', params: { outcome: 'too_early' } });
    const simTrade = async () => (await shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state as string;
    expect(await simTrade()).toBe('NOTPAY');

    clock.advance(61 * 1000);
    const closed = await admin.confirm(`/admin/paylog/${outTradeNo}/close`);
    expect((await noticeOf(admin, closed.headers.location)).text).toBe('交易已关闭，订单已关闭，库存已释放。');
    state = await stateOf(shop, outTradeNo);
    expect(state.paylog.trade_state).toBe('CLOSED');
    expect(state.orders.map((o) => o.status)).toEqual(['closed']);
    expect(state.logs.filter((l) => l.from_status === 'unpaid' && l.to_status === 'closed' && l.operator === 'admin:boss')).toHaveLength(1);
    expect(await simTrade()).toBe('CLOSED');
    expect((await shop.db.knex('product_variants').where({ sku: 'GEEK-CBL-01' }).first('stock')).stock).toBe(stockBefore);
    // closing again is a no-op that says so
    const again = await admin.agent.post(`/admin/paylog/${outTradeNo}/close`).type('form').send({ _csrf: csrfOf(detail.text), confirm: 'yes' });
    expect((await noticeOf(admin, again.headers.location)).text).toBe('交易早已关闭。');
  });

  test('close finds a trade paid at WeChat and marks it paid instead', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const mchId = shop.app.locals.deps.config.wxpay.mchId;
    await admin.agent.post('/wxsim/faults').send({ mch_id: mchId, kind: 'notify_drop', out_trade_no: outTradeNo }).expect(201);
    const { code_url: codeUrl } = (await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url')) as { code_url: string };
    await payOnPhone(shop.url, codeUrl);
    clock.advance(6 * 60 * 1000);
    const res = await admin.confirm(`/admin/paylog/${outTradeNo}/close`);
    expect((await noticeOf(admin, res.headers.location)).text).toBe('这笔交易已经支付，不能关闭。');
    await waitFor('paid', async () => (await stateOf(shop, outTradeNo)).paylog.trade_state === 'SUCCESS');
    expect((await stateOf(shop, outTradeNo)).orders.map((o) => o.status)).toEqual(['paid']);
  });

  test('the detail page offers no close for a paid trade, and a forged close changes nothing', async () => {
    const { outTradeNo } = await paidTrade(shop);
    const before = await stateOf(shop, outTradeNo);
    clock.advance(6 * 60 * 1000);
    const res = await admin.confirm(`/admin/paylog/${outTradeNo}/close`);
    expect((await noticeOf(admin, res.headers.location)).text).toBe('这笔交易已经支付，不能关闭。');
    const after = await stateOf(shop, outTradeNo);
    expect(after.paylog).toEqual(before.paylog);
    expect(after.orders).toEqual(before.orders);
  });
});
