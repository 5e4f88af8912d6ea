import { dailyStats } from '../../../src/admin/chart';
import type { TestShop } from '../../helpers/app';
import { manualClock, type ManualClock } from '../../helpers/clock';
import { tradeWithQr } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';
import { adminShop, loggedIn, waitFor } from './helpers';

/** Issue 16: the dashboard's last 14 days, drawn on the server as SVG, with the figures in a table. */
describe('the dashboard chart', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    // noon in Beijing, so that "3 days ago" is the same Beijing hour on another day
    clock = manualClock(new Date('2026-11-20T04:00:00Z'));
    shop = await adminShop({ clock });
  });
  afterAll(async () => {
    await shop.close();
  });

  const paid = async (outTradeNo: string) =>
    waitFor(`${outTradeNo} paid`, async () => ((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state === 'SUCCESS' ? true : undefined));

  test('shows per Beijing day the payments started, received (count and amount) and the conversion; days without any show zeros', async () => {
    const early = await tradeWithQr(shop, [['FARM-PIN-01', 3]]);
    await payOnPhone(shop.url, early.paylog.code_url);
    await paid(early.outTradeNo);
    clock.advance(3 * 24 * 3600 * 1000);
    const a = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    await tradeWithQr(shop, [['FARM-PIN-01', 2]]);
    await payOnPhone(shop.url, a.paylog.code_url);
    await paid(a.outTradeNo);

    const days = await dailyStats(shop.db.knex, clock(), 14);
    expect(days).toHaveLength(14);
    expect(days[13]).toEqual({ date: '2026-11-23', created: 2, paid: 1, paidFen: 1, conversion: 0.5 });
    expect(days[10]).toEqual({ date: '2026-11-20', created: 1, paid: 1, paidFen: 3, conversion: 1 });
    expect(days[11]).toEqual({ date: '2026-11-21', created: 0, paid: 0, paidFen: 0, conversion: undefined });
    expect(days[0]?.date).toBe('2026-11-10');

    const admin = await loggedIn(shop);
    const page = await admin.agent.get('/admin').expect(200);
    expect(page.text).toContain('<svg class="chart"');
    expect(page.text.match(/<rect /g)).toHaveLength(14);
    expect(page.text).toContain('<tr data-day="2026-11-23"><td>2026-11-23</td><td class="num">2</td><td class="num">1</td><td class="num" data-fen="1">¥0.01</td><td class="num">50%</td></tr>');
    expect(page.text).toContain('<tr data-day="2026-11-21"><td>2026-11-21</td><td class="num">0</td><td class="num">0</td><td class="num" data-fen="0">¥0.00</td><td class="num">–</td></tr>');
  });
});
