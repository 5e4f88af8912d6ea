import request from 'supertest';
import { Shopper } from '../../helpers/shopper';
import { adminShop, loggedIn, type Admin } from '../admin/helpers';
import type { TestShop } from '../../helpers/app';

/**
 * The shop's own face (name, contact, footer, ICP number set in the admin), the shopper's search
 * by any part of a Chinese title with categories and pages, and the admin's search of orders and
 * payments by number (`9` and `#9` exactly), receiver and mobile.
 */
describe('shop settings, catalog search, admin order search', () => {
  let shop: TestShop;
  let admin: Admin;
  let orderId: number;
  let outTradeNo: string;

  beforeAll(async () => {
    shop = await adminShop();
    admin = await loggedIn(shop);
    const shopper = new Shopper(shop.url, shop.db.knex);
    outTradeNo = await shopper.buy([['TEA-LJ-250', 1]]);
    orderId = Number((await shop.db.knex('orders').where({ out_trade_no: outTradeNo }).first('id')).id);
  });
  afterAll(async () => {
    await shop.close();
  });

  test('settings: the footer, contact and ICP number show on every shop page; a bad ICP number is a 400 naming it', async () => {
    const token = /name="_csrf" value="([^"]+)"/.exec((await admin.agent.get('/admin/settings').expect(200)).text)?.[1] as string;
    const bad = await admin.agent.post('/admin/settings').type('form').send({ _csrf: token, icp: 'ICP 123' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('备案号的格式应为');
    const res = await admin.agent.post('/admin/settings').type('form').send({ _csrf: token, name: '山野小铺', phone: '0571-8888 6666', wechat: 'shanye_tea', hours: '每天 9:00–21:00', footer: '山野茶园直营店', icp: '浙ICP备12345678号-1' });
    expect(res.status).toBe(303);
    // another instance's cache would follow within seconds; this one forgot at once
    const page = await request(shop.app).get('/').expect(200);
    expect(page.text).toContain('山野茶园直营店');
    expect(page.text).toContain('<a href="https://beian.miit.gov.cn/" rel="noopener">浙ICP备12345678号-1</a>');
    expect(page.text).toContain('href="tel:057188886666"');
    expect(page.text).toContain('<title>全部商品 · 山野小铺</title>');
    expect((await request(shop.app).get('/admin/settings')).status).toBe(303);
  });

  test('search finds a Chinese title by any part of it, on PGlite and a server alike; an empty search goes home', async () => {
    const page = async (q: string) => (await request(shop.app).get('/search').query({ q }).expect(200)).text;
    expect(await page('龙井')).toContain('data-sku="TEA-LJ-250"');
    expect(await page('西湖龙井')).not.toContain('data-sku="TEA-PE-357"');
    expect(await page('丝')).toContain('data-sku="SILK-SCF-01"');
    expect(await page('100%')).toContain('没有找到');
    expect((await request(shop.app).get('/search?q=')).status).toBe(303);
  });

  test('categories and pages: a category shows its products only; a page past the end is empty, one that is not a number a 404', async () => {
    const tea = (await shop.db.knex('categories').where({ name: '茶叶' }).first('id')).id as number;
    const text = (await request(shop.app).get(`/category/${tea}`).expect(200)).text;
    expect(text).toContain('data-sku="TEA-MLH-100"');
    expect(text).not.toContain('data-sku="GEEK-CBL-01"');
    expect((await request(shop.app).get('/?page=abc')).status).toBe(404);
    expect((await request(shop.app).get('/category/99999')).status).toBe(404);
    expect((await request(shop.app).get('/?page=9').expect(200)).text).toContain('暂无商品');
  });

  test('sold out is shown as such', async () => {
    const text = (await request(shop.app).get('/').expect(200)).text;
    expect(text).toMatch(/data-sku="SILK-TIE-04"[\s\S]*?已售罄/);
  });

  test('admin orders: `9` and `#9` find that order exactly; the receiver and the mobile find it too', async () => {
    const ids = async (q: string) => [...(await admin.agent.get('/admin/orders').query({ q }).expect(200)).text.matchAll(/data-order-id="(\d+)"/g)].map((m) => Number(m[1]));
    expect(await ids(String(orderId))).toEqual([orderId]);
    expect(await ids(`#${orderId}`)).toEqual([orderId]);
    expect(await ids('张三')).toContain(orderId);
    expect(await ids('138 0013 8000')).toContain(orderId);
    expect(await ids('#999999')).toEqual([]);
    const paylog = (await admin.agent.get('/admin/paylog').query({ q: `#${orderId}` }).expect(200)).text;
    expect([...paylog.matchAll(/<tr data-out-trade-no="([^"]+)">/g)].map((m) => m[1])).toEqual([outTradeNo]);
  });
});
