import { manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { v2ClientOf } from '../../helpers/ledger';
import { payOnPhone } from '../../helpers/shopper';
import { type Admin, adminShop, insertPaylog, loggedIn, paidTrade, unpaidTrade, waitFor } from './helpers';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Beijing noon two days back: far from either midnight, so a test never straddles two bill days,
 * and its next morning (when the bill is served) is still in the past, where sessions made now
 * have not expired.
 */
function beijingNoon(): Date {
  return new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + 4 * 3600 * 1000);
}

function beijingDate(d: Date): string {
  return new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function differencesOf(html: string): { kind: string; entity: string; outTradeNo: string; cells: string }[] {
  return [...html.matchAll(/<tr class="difference" data-kind="([^"]+)" data-entity="([^"]+)" data-out-trade-no="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => ({
    kind: m[1] as string,
    entity: m[2] as string,
    outTradeNo: m[3] as string,
    cells: (m[4] as string).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim(),
  }));
}

function resultOf(html: string): { kind: string; differences: string } | undefined {
  const m = /id="reconcile-result" data-kind="([^"]+)" data-differences="([^"]*)"/.exec(html);
  return m ? { kind: m[1] as string, differences: m[2] as string } : undefined;
}

describe('reconciliation against the simulator\'s bill', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let admin: Admin;
  let today: string;
  const trades: { outTradeNo: string; totalFee: number }[] = [];
  let refunded: string;

  beforeAll(async () => {
    clock = manualClock(beijingNoon());
    today = beijingDate(clock());
    shop = await adminShop({ clock });
    admin = await loggedIn(shop);
    // a clean day: three payments, one of them partly refunded, and one trade never paid
    trades.push(await paidTrade(shop, [['TEA-MLH-100', 1]]));
    trades.push(await paidTrade(shop, [['GEEK-CBL-01', 2]]));
    trades.push(await paidTrade(shop, [['TEA-MLH-100', 1], ['GEEK-CBL-01', 1]]));
    await unpaidTrade(shop);
    refunded = (trades[2] as { outTradeNo: string }).outTradeNo;
    const { res } = await admin.refund(refunded, '0.30', '部分退款');
    expect(res.status).toBe(303);
    await waitFor('the refund', async () => ((await shop.db.knex('refunds').where({ out_trade_no: refunded }).first('status')) as { status: string }).status === 'SUCCESS');
    // 下载交易账单: WeChat makes the day's bill at 9:00 the next day and serves it from 10:00
    clock.set(new Date(beijingDayStart(today).getTime() + DAY_MS + 10 * 3600 * 1000));
  });
  afterAll(async () => {
    await shop.close();
  });

  test('the page asks for a date, with a label, and defaults to yesterday (the latest day with a bill)', async () => {
    const page = await admin.agent.get('/admin/reconcile').expect(200);
    expect(page.text).toMatch(/<label for="r-date">/);
    expect(page.text).toContain(`value="${today}"`);
    expect(resultOf(page.text)).toBeUndefined();
  });

  test('after a clean simulated day there are zero differences', async () => {
    const page = await admin.agent.get(`/admin/reconcile?date=${today}`).expect(200);
    expect(resultOf(page.text)).toEqual({ kind: 'compared', differences: '0' });
    expect(page.text).toContain(`${today}：账单中支付 3 笔、退款 1 笔；我们记录支付 3 笔、退款 1 笔。`);
    expect(page.text).toContain(`${today} 对账完成：没有差异。`);
    // nothing for the merchant to hear of
    expect(Number(((await shop.db.knex('outbox').where({ type: 'reconcile.mismatch' }).count({ n: '*' }).first()) as { n: string }).n)).toBe(0);
  });

  test('every difference after tampering is listed: amount, state, refund amount, ours only, theirs only', async () => {
    const knex = shop.db.knex;
    const [a, b] = trades as [{ outTradeNo: string; totalFee: number }, { outTradeNo: string; totalFee: number }];
    await knex('paylog').where({ out_trade_no: a.outTradeNo }).update({ total_fee: a.totalFee + 1 });
    await knex('paylog').where({ out_trade_no: b.outTradeNo }).update({ trade_state: 'CLOSED' });
    await knex('refunds').where({ out_trade_no: refunded }).update({ refund_fee: 31 });
    // both made on the bill's day, which is over by now
    const morning = clock();
    clock.set(new Date(beijingDayStart(today).getTime() + 14 * 3600 * 1000));
    const oursOnly = await insertPaylog(knex, { trade_state: 'SUCCESS', total_fee: 999, create_time: clock(), pay_time: clock() });
    // a payment WeChat took for a trade we never made
    const theirsOnly = `X${Date.now()}`;
    const { codeUrl } = await v2ClientOf(shop).unifiedOrder({ body: 'x', outTradeNo: theirsOnly, totalFee: 4321, spbillCreateIp: '127.0.0.1', notifyUrl: shop.app.locals.deps.wxpay.notifyUrl, productId: 'x' });
    expect((await payOnPhone(shop.url, codeUrl)).status).toBe(200);
    clock.set(morning);

    try {
      const page = await admin.agent.get(`/admin/reconcile?date=${today}`).expect(200);
      expect(resultOf(page.text)).toEqual({ kind: 'compared', differences: '5' });
      const found = differencesOf(page.text);
      const amountA = fenText(a.totalFee);
      expect(found).toEqual(
        expect.arrayContaining([
          { kind: 'amount', entity: 'payment', outTradeNo: a.outTradeNo, cells: expect.stringContaining(`${fenText(a.totalFee + 1)} ${amountA}`) },
          { kind: 'state', entity: 'payment', outTradeNo: b.outTradeNo, cells: expect.stringContaining('CLOSED SUCCESS') },
          { kind: 'amount', entity: 'refund', outTradeNo: refunded, cells: expect.stringContaining('0.31 0.30') },
          { kind: 'not_in_bill', entity: 'payment', outTradeNo: oursOnly, cells: expect.stringContaining('9.99') },
          { kind: 'not_ours', entity: 'payment', outTradeNo: theirsOnly, cells: expect.stringContaining('43.21') },
        ]),
      );
      expect(found).toHaveLength(5);
      expect(page.text).toContain('发现 5 处差异');
      // the merchant is told once (reconcile.mismatch): opening the day again, or the daily run after 10:30, adds nothing
      await admin.agent.get(`/admin/reconcile?date=${today}`).expect(200);
      clock.set(new Date(beijingDayStart(today).getTime() + DAY_MS + 10.6 * 3600 * 1000));
      await shop.sweeper.sweepOnce();
      clock.set(morning);
      const alerts = (await knex('outbox').where({ type: 'reconcile.mismatch' }).select('data')) as { data: unknown }[];
      expect(alerts.map((a) => (typeof a.data === 'string' ? JSON.parse(a.data) : a.data))).toEqual([
        { date: today, differences: 5, kinds: { payment_amount: 1, payment_state: 1, refund_amount: 1, payment_not_in_bill: 1, payment_not_ours: 1 } },
      ]);
      expect(page.text).toContain('账单有，我们没有');
    } finally {
      await knex('paylog').where({ out_trade_no: a.outTradeNo }).update({ total_fee: a.totalFee });
      await knex('paylog').where({ out_trade_no: b.outTradeNo }).update({ trade_state: 'SUCCESS' });
      await knex('refunds').where({ out_trade_no: refunded }).update({ refund_fee: 30 });
      await knex('paylog').where({ out_trade_no: oursOnly }).delete();
    }
  });

  test('"No Bill Exist" on a day without trades: a clear message, and zero differences when we have none either', async () => {
    const yesterday = beijingDate(new Date(beijingDayStart(today).getTime() - DAY_MS / 2));
    const page = await admin.agent.get(`/admin/reconcile?date=${yesterday}`).expect(200);
    expect(resultOf(page.text)).toEqual({ kind: 'no_bill', differences: '0' });
    expect(page.text).toContain(`微信支付没有 ${yesterday} 的账单（No Bill Exist）`);
    expect(page.text).toContain('没有差异');

    const dayBefore = new Date(beijingDayStart(today).getTime() - DAY_MS / 2);
    const ours = await insertPaylog(shop.db.knex, { trade_state: 'SUCCESS', total_fee: 500, create_time: dayBefore, pay_time: dayBefore });
    try {
      const withOurs = await admin.agent.get(`/admin/reconcile?date=${yesterday}`).expect(200);
      expect(resultOf(withOurs.text)).toEqual({ kind: 'no_bill', differences: '1' });
      expect(differencesOf(withOurs.text)).toEqual([{ kind: 'not_in_bill', entity: 'payment', outTradeNo: ours, cells: expect.stringContaining('5.00') }]);
    } finally {
      await shop.db.knex('paylog').where({ out_trade_no: ours }).delete();
    }
  });

  test('today cannot be reconciled yet: the page says when its bill will be there, and asks WeChat nothing', async () => {
    const todayNow = beijingDate(clock());
    const page = await admin.agent.get(`/admin/reconcile?date=${todayNow}`).expect(200);
    expect(resultOf(page.text)).toEqual({ kind: 'not_ready', differences: '' });
    expect(page.text).toContain(`${todayNow} 的账单尚未生成`);
    expect(page.text).toContain(`${beijingDate(new Date(clock().getTime() + DAY_MS))} 10:00`);
  });

  test('before 10:00 the next morning WeChat answers "Bill Creating": not ready, never a failure or "no bill"', async () => {
    const morning = clock();
    try {
      clock.set(new Date(morning.getTime() - 60 * 1000));
      const page = await admin.agent.get(`/admin/reconcile?date=${today}`).expect(200);
      expect(resultOf(page.text)).toEqual({ kind: 'not_ready', differences: '' });
      expect(page.text).toContain(`${today} 的账单尚未生成`);
      const en = await admin.agent.get(`/admin/reconcile?date=${today}&lang=en`);
      expect(en.text).toContain(`The bill of ${today} is not ready yet`);
      await admin.agent.get('/admin/reconcile?lang=zh').expect(200);
    } finally {
      clock.set(morning);
    }
  });

  test('a day more than three months back is refused with a message (WeChat keeps three months of bills)', async () => {
    const old = beijingDate(new Date(clock().getTime() - 100 * DAY_MS));
    const page = await admin.agent.get(`/admin/reconcile?date=${old}`);
    expect(page.status).toBe(400);
    expect(page.text).toContain('微信支付只保留三个月内的账单');
  });

  test('a day in the future is refused with a message; a failing download says why', async () => {
    const tomorrow = beijingDate(new Date(clock().getTime() + DAY_MS));
    const future = await admin.agent.get(`/admin/reconcile?date=${tomorrow}`);
    expect(future.status).toBe(400);
    expect(future.text).toContain('不能对未来的日期对账');

    const mchId = shop.app.locals.deps.config.wxpay.mchId;
    await admin.agent.post('/wxsim/faults').send({ mch_id: mchId, kind: 'systemerror', api: 'downloadbill', count: 1 }).expect(201);
    const failed = await admin.agent.get(`/admin/reconcile?date=${today}`);
    expect(failed.status).toBe(502);
    expect(resultOf(failed.text)?.kind).toBe('failed');
    expect(failed.text).toContain('无法下载账单');
    expect(failed.text).toContain('SYSTEMERROR');
  });
});

/** The instant a Beijing date ('yyyy-MM-dd') begins. */
function beijingDayStart(date: string): Date {
  return new Date(`${date}T00:00:00+08:00`);
}

function fenText(fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}
