import type { TestShop } from '../../helpers/app';
import { Shopper } from '../../helpers/shopper';
import { adminShop, loggedIn, type Admin } from './helpers';

function rowsOf(html: string): string[] {
  return [...html.matchAll(/<tr data-out-trade-no="([^"]+)">/g)].map((m) => m[1] as string);
}

/**
 * Issue 16: the admin's search takes what a merchant has at hand (a receiver's Chinese name, a
 * mobile number as typed, a product), and the paylog shows the receiver instead of a session id.
 */
describe('admin search and the paylog row', () => {
  let shop: TestShop;
  let admin: Admin;
  let zhang: string;
  let li: string;
  beforeAll(async () => {
    shop = await adminShop();
    admin = await loggedIn(shop);
    const buy = async (sku: string, receiver: Record<string, string>) => {
      const shopper = new Shopper(shop.url, shop.db.knex);
      await shopper.add(sku, 1);
      const res = await shopper.submitCheckout(receiver);
      const outTradeNo = /^\/pay\/(\w+)$/.exec(res.headers.location ?? '')?.[1];
      if (!outTradeNo) throw new Error(`checkout answered ${res.status}`);
      await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
      return outTradeNo;
    };
    zhang = await buy('TEA-LJ-250', { receiver_name: '张三丰', receiver_mobile: '13800138000' });
    li = await buy('GEEK-CBL-01', { receiver_name: '李四', receiver_mobile: '13900139000' });
  });
  afterAll(async () => {
    await shop.close();
  });
  const search = async (q: string) => rowsOf((await admin.agent.get('/admin/paylog').query({ q }).expect(200)).text);

  test.each([
    ['张三', 'zhang'],
    [' 张三丰 ', 'zhang'],
    ['李四', 'li'],
    ['138 0013 8000', 'zhang'],
    ['+86-139-0013-9000', 'li'],
    ['0013 9000', 'li'],
    ['张三 13800138000', 'zhang'],
    ['龙井', 'zhang'],
  ])('"%s" finds the payment of %s only', async (q, who) => {
    expect(await search(q)).toEqual([who === 'zhang' ? zhang : li]);
  });

  test('two words that match different payments find neither (every word must match)', async () => {
    expect(await search('张三 李四')).toEqual([]);
  });

  test('quotes, percent signs and control characters are still refused with a 400 naming the parameter', async () => {
    for (const q of ["x' OR 1=1", '%', 'a\u0000b']) {
      const res = await admin.agent.get('/admin/paylog').query({ q });
      expect(res.status).toBe(400);
    }
  });

  test('a row shows the receiver with a masked mobile and a readable pay type, not the session id', async () => {
    const page = await admin.agent.get('/admin/paylog').expect(200);
    const row = page.text.slice(page.text.indexOf(`<tr data-out-trade-no="${zhang}">`), page.text.indexOf('</tr>', page.text.indexOf(`<tr data-out-trade-no="${zhang}">`)));
    expect(row).toContain('<td class="receiver">张三丰 <span class="muted">138****8000</span></td>');
    expect(row).toContain('<td class="trade-type" data-trade-type="NATIVE">扫码支付</td>');
    const shopperId = (await shop.db.knex('paylog').where({ out_trade_no: zhang }).first('shopper_id')).shopper_id as string;
    expect(row).not.toContain(shopperId);
    expect(row).not.toContain('13800138000');
  });
});
