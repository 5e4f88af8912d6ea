import type { TestShop } from '../../helpers/app';
import { type Admin, adminShop, loggedIn, paidTrade, unescapeHtml, waitFor } from './helpers';

/** The order log table of a detail page, as text between its tags. */
function orderLogOf(html: string): { rows: string[]; text: string } {
  const table = html.split('<table class="admin-table order-log">')[1]?.split('</table>')[0] ?? '';
  const rows = [...table.matchAll(/<tr data-orders="([^"]*)">([\s\S]*?)<\/tr>/g)].map((m) => unescapeHtml(`${m[1]} | ${(m[2] ?? '').replace(/<[^>]+>/g, '|').replace(/(\s*\|\s*)+/g, ' | ').replace(/^ \| | \| $/g, '')}`));
  return { rows, text: rows.join('\n') };
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

describe('the payment detail page reads its order log in the admin\'s language, each event once', () => {
  let shop: TestShop;
  let admin: Admin;
  let outTradeNo: string;
  let outRefundNo: string;
  let orderIds: number[];

  beforeAll(async () => {
    shop = await adminShop();
    admin = await loggedIn(shop);
    ({ outTradeNo } = await paidTrade(shop)); // two orders in one payment
    orderIds = ((await shop.db.knex('paylog_orders').where({ out_trade_no: outTradeNo }).orderBy('order_id').select('order_id')) as { order_id: number }[]).map((r) => r.order_id);
    const refund = await admin.refund(outTradeNo, '0.50', '少发一件');
    expect(refund.res.status).toBe(303);
    outRefundNo = refund.outRefundNo;
    await waitFor('the refund settled', async () => ((await shop.db.knex('refunds').where({ out_refund_no: outRefundNo }).first('status')) as { status: string }).status === 'SUCCESS');
    expect((await admin.confirm(`/admin/paylog/${outTradeNo}/query`)).status).toBe(303);
    // a remark in no wording the services write (an older release's, say): shown as it is
    await shop.db.knex('order_log').insert({ order_id: orderIds[0], from_status: 'paid', to_status: 'paid', operator: 'ops-script', remark: 'hand-fixed after the 11.11 outage', at: new Date() });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('the payment has two orders; the refund names one and is logged on it, the query on both (the rows the page groups)', async () => {
    expect(orderIds).toHaveLength(2);
    const rows = (await shop.db.knex('order_log').whereIn('order_id', orderIds).whereIn('event', ['refund_requested', 'refund_succeeded']).select('order_id')) as { order_id: number }[];
    expect(rows.map((r) => r.order_id)).toEqual([orderIds[0], orderIds[0]]);
    const queried = (await shop.db.knex('order_log').whereIn('order_id', orderIds).where({ event: 'query_answered' }).select('order_id')) as { order_id: number }[];
    expect(queried.map((r) => r.order_id).sort()).toEqual([...orderIds].sort());
  });

  test('in Chinese: events, operators and states translated, the refund named once on its order, the query once for both, times in Beijing time', async () => {
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).set('Accept-Language', 'zh-CN').expect(200);
    const log = orderLogOf(page.text);
    expect(occurrences(log.text, `申请退款 ${outRefundNo}，¥0.50：少发一件`)).toBe(1);
    expect(occurrences(log.text, `退款 ${outRefundNo}（¥0.50）成功`)).toBe(1);
    expect(log.rows.find((r) => r.includes(`申请退款 ${outRefundNo}`))).toMatch(new RegExp(`^${orderIds[0]} \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\| ${orderIds[0]} \\| 已支付 → 已支付 \\| 管理员 boss \\|`));
    expect(log.rows.find((r) => r.includes('查询微信支付'))).toMatch(new RegExp(`^${orderIds.join(' ')} \\|`));
    expect(log.text).toContain('查询微信支付：已支付（REFUND）');
    expect(log.text).toMatch(/微信支付交易 \d+（来自支付通知）/);
    expect(log.text).toContain('系统');
    expect(log.text).toContain('hand-fixed after the 11.11 outage');
    expect(log.text).not.toMatch(/yuan|queried WeChat|WeChat Pay transaction|admin:boss|T\d\d:\d\d/);
  });

  test('in English: the same log in English, the refund amount once', async () => {
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).set('Accept-Language', 'en-US,en;q=0.9').expect(200);
    const log = orderLogOf(page.text);
    expect(occurrences(log.text, `Refund ${outRefundNo} of ¥0.50 requested: 少发一件`)).toBe(1);
    expect(occurrences(log.text, `Refund ${outRefundNo} of ¥0.50 succeeded`)).toBe(1);
    expect(log.text).toContain('Queried WeChat Pay: paid (REFUND)');
    expect(log.text).toMatch(/WeChat Pay transaction \d+ \(from the payment notify\)/);
    expect(log.text).toContain('Admin boss');
    expect(log.text).toContain('Paid → Paid');
    expect(log.text).toContain('hand-fixed after the 11.11 outage');
    expect(log.text).not.toMatch(/yuan|admin:boss|queried WeChat Pay/);
  });
});
