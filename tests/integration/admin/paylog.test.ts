import type { Knex } from 'knex';
import { manualClock, type TestShop } from '../../helpers/app';
import { type Admin, adminShop, csrfOf, insertPaylog, loggedIn, unescapeHtml } from './helpers';

/** Beijing wall-clock time -> instant */
const bj = (text: string) => new Date(`${text}+08:00`);

interface Seeded {
  out_trade_no: string;
  create_time: Date;
  trade_state: string;
  total_fee: number;
  transaction_id: string | null;
}

/** out_trade_no of the table's rows, in page order */
function rowsOf(html: string): string[] {
  const body = html.split('<tbody>')[1]?.split('</tbody>')[0] ?? '';
  return [...body.matchAll(/<tr data-out-trade-no="([^"]+)">/g)].map((m) => m[1] as string);
}

function totalsOf(html: string) {
  const m = /id="paylog-totals" data-count="(\d+)" data-paid-fen="(\d+)" data-refunded-fen="(\d+)"/.exec(html);
  if (!m) throw new Error('no totals line');
  return { count: Number(m[1]), paidFen: Number(m[2]), refundedFen: Number(m[3]) };
}

function linkOf(html: string, rel: 'next' | 'prev' | 'first'): string | undefined {
  const href = new RegExp(`<a href="([^"]+)" rel="${rel}">`).exec(html)?.[1];
  return href === undefined ? undefined : unescapeHtml(href);
}

/** newest first, ties by out_trade_no descending: the table's order */
function tableOrder(rows: Seeded[]): string[] {
  return [...rows]
    .sort((a, b) => b.create_time.getTime() - a.create_time.getTime() || (a.out_trade_no < b.out_trade_no ? 1 : a.out_trade_no > b.out_trade_no ? -1 : 0))
    .map((r) => r.out_trade_no);
}

async function allRows(knex: Knex): Promise<Seeded[]> {
  return (await knex('paylog').select('out_trade_no', 'create_time', 'trade_state', 'total_fee', 'transaction_id')) as Seeded[];
}

async function walk(admin: Admin, first: string): Promise<{ pages: string[][]; last: string }> {
  const pages: string[][] = [];
  let url: string | undefined = first;
  let last = first;
  while (url) {
    const res = await admin.agent.get(url).expect(200);
    pages.push(rowsOf(res.text));
    last = url;
    url = linkOf(res.text, 'next');
    if (pages.length > 50) throw new Error('runaway pagination');
  }
  return { pages, last };
}

describe('the paylog table', () => {
  let shop: TestShop;
  let admin: Admin;
  const clock = manualClock(bj('2026-11-25T12:00:00'));

  beforeAll(async () => {
    shop = await adminShop({ clock });
    admin = await loggedIn(shop);
    const knex = shop.db.knex;
    const states = ['NOTPAY', 'SUCCESS', 'CLOSED', 'REFUND'];
    for (let i = 0; i < 120; i++) {
      const state = states[i % 4] as string;
      await insertPaylog(knex, {
        out_trade_no: `P20261120${String(i).padStart(4, '0')}`,
        // five rows share one instant: the out_trade_no breaks the tie
        create_time: i < 5 ? bj('2026-11-20T10:00:00') : new Date(bj('2026-11-20T00:00:00').getTime() + i * 7 * 60 * 1000),
        trade_state: state,
        total_fee: 100 + i,
        transaction_id: state === 'SUCCESS' || state === 'REFUND' ? `4200000000202611200000${String(i).padStart(6, '0')}` : null,
      });
    }
    // microseconds that a JS Date cannot hold: the cursor must still step over this row exactly once
    await knex.raw(`INSERT INTO paylog (out_trade_no, shopper_id, total_fee, trade_state, create_time) VALUES ('PMICRO000001', 's_micro', 555, 'NOTPAY', '2026-11-20 10:00:00.123456+08'), ('PMICRO000002', 's_micro', 556, 'NOTPAY', '2026-11-20 10:00:00.123457+08')`);
    // the edges of a Beijing day
    await insertPaylog(knex, { out_trade_no: 'PEDGE0000001', create_time: bj('2026-11-19T23:59:59'), total_fee: 1 });
    await insertPaylog(knex, { out_trade_no: 'PEDGE0000002', create_time: bj('2026-11-21T00:00:00'), total_fee: 2 });
    await insertPaylog(knex, { out_trade_no: 'PFLAG0000001', create_time: bj('2026-11-18T09:00:00'), trade_state: 'SUCCESS', flag: 'late_payment', total_fee: 777 });
    await insertPaylog(knex, { out_trade_no: 'PFLAG0000002', create_time: bj('2026-11-18T09:30:00'), trade_state: 'SUCCESS', flag: 'conflict', total_fee: 888 });
    await insertPaylog(knex, { out_trade_no: 'PFLAG0000003', create_time: bj('2026-11-18T08:00:00'), trade_state: 'SUCCESS', flag: 'double_payment', total_fee: 999 });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('the first page shows 50 rows, newest first, with every column, and the totals of the whole set', async () => {
    const res = await admin.agent.get('/admin/paylog').expect(200);
    const rows = await allRows(shop.db.knex);
    expect(rowsOf(res.text)).toEqual(tableOrder(rows).slice(0, 50));
    const paidFen = rows.filter((r) => r.trade_state === 'SUCCESS' || r.trade_state === 'REFUND').reduce((sum, r) => sum + r.total_fee, 0);
    expect(totalsOf(res.text)).toEqual({ count: rows.length, paidFen, refundedFen: 0 });
    expect(res.text).toContain('¥2.19'); // P...0119: 100 + 119 fen
    const row = /<tr data-out-trade-no="P202611200117">([\s\S]*?)<\/tr>/.exec(res.text)?.[1] ?? '';
    expect(row).toContain('2026-11-20 13:39:00');
    expect(row).toContain('¥2.17');
    expect(row).toContain('4200000000202611200000000117');
    // a readable pay type, and the receiver (these rows have no orders) rather than a session id
    expect(row).toContain('<td class="trade-type" data-trade-type="NATIVE">扫码支付</td>');
    expect(row).not.toContain('s_test');
    expect(row).toMatch(/class="num">0</);
  });

  test('following "older" links visits every row exactly once, in order, and "newer" links walk back', async () => {
    const expected = tableOrder(await allRows(shop.db.knex));
    const { pages, last } = await walk(admin, '/admin/paylog?size=17');
    expect(pages.every((p) => p.length <= 17)).toBe(true);
    expect(pages.flat()).toEqual(expected);
    const back: string[][] = [];
    let url: string | undefined = last;
    while (url) {
      const res = await admin.agent.get(url).expect(200);
      back.unshift(rowsOf(res.text));
      url = linkOf(res.text, 'prev');
    }
    expect(back.flat()).toEqual(expected);
  });

  test('a page may end inside rows of one instant, or between rows a microsecond apart, and the next page goes on exactly', async () => {
    const expected = tableOrder(await allRows(shop.db.knex));
    // end page 1 between two rows of the same create_time, then between the two microsecond rows
    for (const firstOfPage2 of ['P202611200003', 'PMICRO000001']) {
      const size = expected.indexOf(firstOfPage2);
      expect(size).toBeGreaterThan(0);
      const { pages } = await walk(admin, `/admin/paylog?size=${size}`);
      expect(pages[1]?.[0]).toBe(firstOfPage2);
      expect(pages.flat()).toEqual(expected);
    }
  });

  test('a payment made between page 1 and page 2 neither repeats nor pushes out a row of page 2', async () => {
    const before = tableOrder(await allRows(shop.db.knex));
    const page1 = await admin.agent.get('/admin/paylog?size=20').expect(200);
    expect(rowsOf(page1.text)).toEqual(before.slice(0, 20));
    const next = linkOf(page1.text, 'next') as string;
    // a new trade arrives (newest of all), and another in the middle of what page 1 showed
    const fresh = await insertPaylog(shop.db.knex, { create_time: bj('2026-11-25T11:59:00'), total_fee: 4242 });
    const shownAt = (await shop.db.knex('paylog').where({ out_trade_no: before[10] }).first('create_time')).create_time as Date;
    const middle = await insertPaylog(shop.db.knex, { out_trade_no: 'PMIDDLE00001', create_time: new Date(shownAt.getTime() + 1000), total_fee: 4343 });
    const page2 = await admin.agent.get(next).expect(200);
    expect(rowsOf(page2.text)).toEqual(before.slice(20, 40));
    expect(rowsOf(page2.text)).not.toContain(fresh);
    expect(rowsOf(page2.text)).not.toContain(middle);
    const reloaded = await admin.agent.get('/admin/paylog?size=20').expect(200);
    expect(rowsOf(reloaded.text)[0]).toBe(fresh);
    expect(rowsOf(reloaded.text)).toContain(middle);
    await shop.db.knex('paylog').whereIn('out_trade_no', [fresh, middle]).delete();
  });

  test('the state filter shows only that state, totals follow it, and every link carries it', async () => {
    const rows = (await allRows(shop.db.knex)).filter((r) => r.trade_state === 'SUCCESS');
    const res = await admin.agent.get('/admin/paylog?state=SUCCESS&size=10').expect(200);
    expect(rowsOf(res.text)).toEqual(tableOrder(rows).slice(0, 10));
    expect(totalsOf(res.text)).toEqual({ count: rows.length, paidFen: rows.reduce((s, r) => s + r.total_fee, 0), refundedFen: 0 });
    const next = linkOf(res.text, 'next') as string;
    expect(next).toMatch(/^\/admin\/paylog\?state=SUCCESS&size=10&after=/);
    const { pages } = await walk(admin, '/admin/paylog?state=SUCCESS&size=10');
    expect(pages.flat()).toEqual(tableOrder(rows));
    expect(res.text).toContain('href="/admin/paylog.csv?state=SUCCESS"');
    expect(res.text).toMatch(/<option value="SUCCESS" selected>/);
  });

  test('the date range is in Beijing days, both ends included', async () => {
    const res = await admin.agent.get('/admin/paylog?from=2026-11-20&to=2026-11-20&size=200').expect(200);
    const shown = rowsOf(res.text);
    expect(shown).toHaveLength(122);
    expect(shown).not.toContain('PEDGE0000001');
    expect(shown).not.toContain('PEDGE0000002');
    expect(shown).toContain('PMICRO000001');
    const from21 = rowsOf((await admin.agent.get('/admin/paylog?from=2026-11-21').expect(200)).text);
    expect(from21).toEqual(['PEDGE0000002']);
    const to19 = rowsOf((await admin.agent.get('/admin/paylog?to=2026-11-19').expect(200)).text);
    expect(to19).toEqual(['PEDGE0000001', 'PFLAG0000002', 'PFLAG0000001', 'PFLAG0000003']);
    const older = linkOf((await admin.agent.get('/admin/paylog?from=2026-11-20&to=2026-11-20&size=30').expect(200)).text, 'next');
    expect(older).toMatch(/^\/admin\/paylog\?from=2026-11-20&to=2026-11-20&size=30&after=/);
  });

  test('flagged payments can be listed alone', async () => {
    const any = await admin.agent.get('/admin/paylog?flag=any').expect(200);
    expect(rowsOf(any.text)).toEqual(['PFLAG0000002', 'PFLAG0000001', 'PFLAG0000003']);
    expect(any.text).toContain('<span class="flag flag-double_payment">重复支付</span>');
    expect(rowsOf((await admin.agent.get('/admin/paylog?flag=double_payment').expect(200)).text)).toEqual(['PFLAG0000003']);
    const late = await admin.agent.get('/admin/paylog?flag=late_payment').expect(200);
    expect(rowsOf(late.text)).toEqual(['PFLAG0000001']);
    expect(late.text).toContain('关闭后支付');
    expect(totalsOf(late.text)).toEqual({ count: 1, paidFen: 777, refundedFen: 0 });
  });

  test('search finds a payment by part of its out_trade_no, by transaction id, and by order id', async () => {
    expect(rowsOf((await admin.agent.get('/admin/paylog?q=202611200042').expect(200)).text)).toEqual(['P202611200042']);
    expect(rowsOf((await admin.agent.get('/admin/paylog?q=MICRO').expect(200)).text)).toEqual(['PMICRO000002', 'PMICRO000001']);
    expect(rowsOf((await admin.agent.get('/admin/paylog?q=4200000000202611200000000113').expect(200)).text)).toEqual(['P202611200113']);
    const knex = shop.db.knex;
    const [order] = (await knex('orders')
      .insert({
        shopper_id: 's_test',
        seller: '茶铺',
        status: 'unpaid',
        pay_type: 'wxpay',
        total_fen: 100,
        receiver_name: '李四',
        receiver_mobile: '13900139000',
        receiver_address: '北京市海淀区中关村大街1号',
        out_trade_no: 'P202611200000',
        checkout_token: 'search-test-token-000001',
      })
      .returning('id')) as { id: number }[];
    await knex('paylog_orders').insert({ out_trade_no: 'P202611200000', order_id: order?.id });
    const byOrder = await admin.agent.get(`/admin/paylog?q=${order?.id}`).expect(200);
    expect(rowsOf(byOrder.text)).toContain('P202611200000');
    expect(/<tr data-out-trade-no="P202611200000">[\s\S]*?<td class="num">1<\/td>/.test(byOrder.text)).toBe(true);
    const nothing = await admin.agent.get('/admin/paylog?q=NOSUCHTHING').expect(200);
    expect(rowsOf(nothing.text)).toEqual([]);
    expect(nothing.text).toContain('没有符合条件的支付记录');
    // LIKE wildcards are text, not patterns
    expect(rowsOf((await admin.agent.get('/admin/paylog?q=P_0').expect(200)).text)).toEqual([]);
  });

  test('the page is English with ?lang=en and labels every filter', async () => {
    const res = await admin.agent.get('/admin/paylog?lang=en').expect(200);
    expect(res.text).toContain('Payments');
    for (const id of ['f-state', 'f-flag', 'f-from', 'f-to', 'f-q']) expect(res.text).toMatch(new RegExp(`<label for="${id}">`));
    expect(res.text).not.toMatch(/<script/);
  });
});

describe('the dashboard', () => {
  test("today's paid count and sum (Beijing day), unpaid and flagged counts", async () => {
    const clock = manualClock(bj('2026-11-25T00:30:00'));
    const shop = await adminShop({ clock });
    try {
      const knex = shop.db.knex;
      await insertPaylog(knex, { trade_state: 'SUCCESS', total_fee: 1000, create_time: bj('2026-11-25T00:10:00'), pay_time: bj('2026-11-25T00:11:00') });
      await insertPaylog(knex, { trade_state: 'REFUND', total_fee: 234, create_time: bj('2026-11-25T00:12:00'), pay_time: bj('2026-11-25T00:13:00') });
      // paid at 23:59 yesterday, Beijing: not today, though it is the same UTC day
      await insertPaylog(knex, { trade_state: 'SUCCESS', total_fee: 5000, create_time: bj('2026-11-24T23:50:00'), pay_time: bj('2026-11-24T23:59:00') });
      await insertPaylog(knex, { trade_state: 'NOTPAY', total_fee: 10 });
      await insertPaylog(knex, { trade_state: 'NOTPAY', total_fee: 20 });
      await insertPaylog(knex, { trade_state: 'CLOSED', total_fee: 30 });
      const flagged = await insertPaylog(knex, { trade_state: 'SUCCESS', total_fee: 40, flag: 'late_payment', create_time: bj('2026-11-20T00:00:00'), pay_time: bj('2026-11-20T00:00:00') });
      // a refund of 34 fen that succeeded today, of the payment made today
      const [refunded] = (await knex('paylog').where({ trade_state: 'REFUND' }).pluck('out_trade_no')) as string[];
      await knex('refunds').insert({ out_refund_no: 'RDASH000001', out_trade_no: refunded, refund_fee: 34, status: 'SUCCESS', operator: 'admin:x', success_time: bj('2026-11-25T00:20:00') });
      const admin = await loggedIn(shop);
      const res = await admin.agent.get('/admin').expect(200);
      expect(res.text).toContain('北京时间 2026-11-25');
      expect(res.text).toMatch(/id="stat-paid-today">[\s\S]*?data-count="2">2<[\s\S]*?data-fen="1234">¥12.34</);
      // gross, and net of today's refunds
      expect(res.text).toMatch(/id="stat-net-today" data-refunded-fen="34" data-net-fen="1200">今日退款 ¥0.34，净收 ¥12.00</);
      expect(res.text).toMatch(/id="stat-notpay">[\s\S]*?data-count="2">2</);
      expect(res.text).toMatch(/id="stat-flagged">[\s\S]*?data-count="1">1</);
      expect(res.text).toContain('href="/admin/paylog?flag=open"');
      expect((await admin.agent.get('/admin/paylog?flag=open').expect(200)).text).toContain(`data-out-trade-no="${flagged}"`);

      // the admin handles the flag, saying how: it no longer counts, and the page says who and when
      const detail = await admin.agent.get(`/admin/paylog/${flagged}`).expect(200);
      expect(detail.text).toContain('id="flag-note"');
      const empty = await admin.agent.post(`/admin/paylog/${flagged}/flag`).type('form').send({ _csrf: csrfOf(detail.text), note: '  ' });
      expect(empty.status).toBe(303);
      expect(await knex('paylog').where({ out_trade_no: flagged }).first('flag_resolved_at')).toEqual({ flag_resolved_at: null });
      const handled = await admin.agent.post(`/admin/paylog/${flagged}/flag`).type('form').send({ _csrf: csrfOf(detail.text), note: '已补货发出' });
      expect(handled.status).toBe(303);
      expect(await knex('paylog').where({ out_trade_no: flagged }).first('flag', 'flag_resolved_by', 'flag_note')).toEqual({ flag: 'late_payment', flag_resolved_by: 'admin:boss', flag_note: '已补货发出' });
      const after = await admin.agent.get(`/admin/paylog/${flagged}`).expect(200);
      expect(after.text).toContain('id="flag-resolution"');
      expect(after.text).toContain('已补货发出');
      expect(after.text).not.toContain('id="flag-note"');
      expect((await admin.agent.get('/admin').expect(200)).text).toMatch(/id="stat-flagged">[\s\S]*?data-count="0">0</);
      expect((await admin.agent.get('/admin/paylog?flag=open').expect(200)).text).not.toContain(`data-out-trade-no="${flagged}"`);
      // still listed among all flags, for the record
      expect((await admin.agent.get('/admin/paylog?flag=any').expect(200)).text).toContain(`data-out-trade-no="${flagged}"`);
    } finally {
      await shop.close();
    }
  });
});
