import sharp from 'sharp';
import { ledgerOf } from '../../helpers/ledger';
import { Shopper } from '../../helpers/shopper';
import { stockOf } from '../../helpers/stock';
import { adminShop, loggedIn, type Admin } from '../admin/helpers';
import type { TestShop } from '../../helpers/app';

/**
 * The merchant runs the catalog from the admin: a product with two sizes, its image (checked by
 * content, EXIF stripped, resized, served immutable), stock counted with a movement naming who,
 * on and off sale, archive; bad forms answer 4xx in the admin's language and change nothing.
 */
describe('admin: products, variants, images, stock', () => {
  let shop: TestShop;
  let admin: Admin;
  let knex: TestShop['db']['knex'];

  beforeAll(async () => {
    shop = await adminShop();
    knex = shop.db.knex;
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });

  const form = async (fields: Record<string, string | string[]>) => ({ _csrf: await admin.csrf(), ...fields });
  const TWO_SIZES = {
    title: '真丝睡衣',
    sku: 'SILK-PJ-01',
    seller: '江南丝绸坊',
    category_id: '',
    description: '22 姆米真丝。\n<b>手洗</b>',
    option_names: '尺码',
    status: 'on_sale',
    v_id: ['', ''],
    v_sku: ['SILK-PJ-01-M', 'SILK-PJ-01-L'],
    v_values: ['M', 'L'],
    v_price: ['599', '629.50'],
    v_active: ['yes', 'yes'],
    v_stock: ['3', '2'],
  };

  let productId: number;

  test('a product with two sizes: created with its opening stock as count movements naming the admin, on sale in the shop', async () => {
    const res = await admin.agent.post('/admin/products').type('form').send(await form(TWO_SIZES));
    expect(res.status).toBe(303);
    productId = Number(/\/admin\/products\/(\d+)$/.exec(res.headers.location ?? '')?.[1]);
    const variants = await knex('product_variants').where({ product_id: productId }).orderBy('position').select('sku', 'price_fen', 'stock', 'option_values');
    expect(variants).toEqual([
      { sku: 'SILK-PJ-01-M', price_fen: 59900, stock: 3, option_values: ['M'] },
      { sku: 'SILK-PJ-01-L', price_fen: 62950, stock: 2, option_values: ['L'] },
    ]);
    expect((await knex('products').where({ id: productId }).first('price_fen', 'status'))).toEqual({ price_fen: 59900, status: 'on_sale' });
    const movements = await knex('stock_movements as m').join('product_variants as v', 'v.id', 'm.variant_id').where('v.product_id', productId).select('m.reason', 'm.delta', 'm.operator');
    expect(movements).toEqual(expect.arrayContaining([{ reason: 'count', delta: 3, operator: 'admin:boss' }, { reason: 'count', delta: 2, operator: 'admin:boss' }]));
    const page = await admin.agent.get(`/admin/products/${productId}`).expect(200);
    expect(page.text).toContain('盘点');
    // the description is escaped on the shop's page, its line breaks kept
    const shopPage = await new Shopper(shop.url, knex).agent.get(`/products/${productId}`).expect(200);
    expect(shopPage.text).toContain('<p>&lt;b&gt;手洗&lt;/b&gt;</p>');
  });

  test('bad lines are named and nothing is saved: a price with three decimals, a repeated SKU, a size missing (400, zh and en)', async () => {
    const before = await knex('products').count({ n: '*' }).first();
    const bad = { ...TWO_SIZES, sku: 'SILK-PJ-02', v_sku: ['SILK-PJ-02-M', 'SILK-PJ-02-M'], v_values: ['M', ''], v_price: ['5.999', '10'] };
    const res = await admin.agent.post('/admin/products').type('form').send(await form(bad));
    expect(res.status).toBe(400);
    expect(res.text).toContain('第 1 行：价格“5.999”无效');
    expect(res.text).toContain('SKU 编码“SILK-PJ-02-M”重复');
    expect(res.text).toContain('第 2 行：需要 1 个规格值');
    const english = await admin.agent.post('/admin/products?lang=en').type('form').send(await form(bad));
    expect(english.status).toBe(400);
    expect(english.text).toContain('Line 1: price &#34;5.999&#34; is not valid');
    await admin.agent.get('/admin?lang=zh').expect(200);
    expect(await knex('products').count({ n: '*' }).first()).toEqual(before);
  });

  test('a SKU code another product uses is a 409 naming it, nothing saved', async () => {
    const res = await admin.agent.post('/admin/products').type('form').send(await form({ ...TWO_SIZES, sku: 'SILK-PJ-03', v_sku: ['TEA-LJ-250', 'SILK-PJ-03-L'] }));
    expect(res.status).toBe(409);
    expect(res.text).toContain('SKU 编码“TEA-LJ-250”已被其他商品或规格使用');
    expect(await knex('products').where({ sku: 'SILK-PJ-03' }).first()).toBeUndefined();
  });

  test('a count sets the stock, as one count movement with the note and who', async () => {
    const variant = await knex('product_variants').where({ sku: 'SILK-PJ-01-L' }).first('id');
    const page = await admin.agent.get(`/admin/products/${productId}`).expect(200);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] as string;
    const res = await admin.agent.post(`/admin/products/${productId}/variants/${variant.id}/count`).type('form').send({ _csrf: token, stock: '7', note: '月末盘点' });
    expect(res.status).toBe(303);
    expect(await stockOf(knex, 'SILK-PJ-01-L')).toBe(7);
    expect(await knex('stock_movements').where({ variant_id: variant.id }).orderBy('id', 'desc').first('reason', 'delta', 'stock_after', 'note', 'operator')).toEqual({ reason: 'count', delta: 5, stock_after: 7, note: '月末盘点', operator: 'admin:boss' });
    const bad = await admin.agent.post(`/admin/products/${productId}/variants/${variant.id}/count`).type('form').send({ _csrf: token, stock: '-1' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('盘点数量须为 0 到 999999 的整数');
    expect((await ledgerOf(shop)).discrepancies).toEqual([]);
  });

  test('an image: a real JPEG with EXIF is stored without it, at three widths, served immutable as WebP', async () => {
    const jpeg = await sharp({ create: { width: 1200, height: 900, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .jpeg()
      .withExif({ IFD0: { Copyright: 'secret-owner', ImageDescription: 'GPS home' } })
      .toBuffer();
    expect(jpeg.includes(Buffer.from('secret-owner'))).toBe(true);
    const token = /name="_csrf" value="([^"]+)"/.exec((await admin.agent.get(`/admin/products/${productId}`)).text)?.[1] as string;
    const res = await admin.agent.post(`/admin/products/${productId}/image`).field('_csrf', token).attach('file', jpeg, { filename: 'photo.jpg', contentType: 'image/jpeg' });
    expect(res.status).toBe(303);
    const key = (await knex('products').where({ id: productId }).first('image_key')).image_key as string;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    const served = await new Shopper(shop.url, knex).agent.get(`/media/${key}/w480.webp`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('image/webp');
    expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const body = served.body as Buffer;
    const meta = await sharp(body).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height, exif: meta.exif }).toEqual({ format: 'webp', width: 480, height: 360, exif: undefined });
    expect(body.includes(Buffer.from('secret-owner'))).toBe(false);
    const shopPage = await new Shopper(shop.url, knex).agent.get(`/products/${productId}`).expect(200);
    expect(shopPage.text).toContain(`/media/${key}/w480.webp`);
    expect((await new Shopper(shop.url, knex).agent.get(`/media/${key}/w999.webp`)).status).toBe(404);
  });

  test('a file that lies about its type (text named .png, sent as image/png) is refused by its content: 400, nothing stored', async () => {
    const before = await knex('images').count({ n: '*' }).first();
    const keyBefore = (await knex('products').where({ id: productId }).first('image_key')).image_key;
    const token = /name="_csrf" value="([^"]+)"/.exec((await admin.agent.get(`/admin/products/${productId}`)).text)?.[1] as string;
    const lie = Buffer.from('<?php system($_GET["c"]); ?> not a picture at all');
    const res = await admin.agent.post(`/admin/products/${productId}/image`).field('_csrf', token).attach('file', lie, { filename: 'cat.png', contentType: 'image/png' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('这不是 JPEG、PNG 或 WebP 图片');
    // a PNG signature on a file that is not a PNG is refused too
    const fakePng = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('garbage'.repeat(20))]);
    const res2 = await admin.agent.post(`/admin/products/${productId}/image`).field('_csrf', token).attach('file', fakePng, { filename: 'x.png', contentType: 'image/png' });
    expect(res2.status).toBe(400);
    // an image, but not of a type the shop takes: an SVG (which may carry script) named .png
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><script>alert(1)</script><rect width="40" height="30" fill="red"/></svg>');
    const res3 = await admin.agent.post(`/admin/products/${productId}/image`).field('_csrf', token).attach('file', svg, { filename: 'logo.png', contentType: 'image/png' });
    expect(res3.status).toBe(400);
    expect(res3.text).toContain('这不是 JPEG、PNG 或 WebP 图片');
    expect(await knex('images').count({ n: '*' }).first()).toEqual(before);
    expect((await knex('products').where({ id: productId }).first('image_key')).image_key).toBe(keyBefore);
  });

  test('an image over the size limit is refused with the limit named', async () => {
    const token = /name="_csrf" value="([^"]+)"/.exec((await admin.agent.get(`/admin/products/${productId}`)).text)?.[1] as string;
    const big = Buffer.alloc(5 * 1024 * 1024 + 10, 1);
    const res = await admin.agent.post(`/admin/products/${productId}/image`).field('_csrf', token).attach('file', big, { filename: 'big.jpg', contentType: 'image/jpeg' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('图片太大：最大 5 MB');
  });

  test('without a login the upload is 401 and nothing is parsed', async () => {
    const stranger = new Shopper(shop.url, knex);
    const res = await stranger.agent.post(`/admin/products/${productId}/image`).attach('file', Buffer.from('x'), 'x.jpg');
    expect(res.status).toBe(401);
  });

  test('off sale and archived products leave the shop, stay in the admin, and are never deleted', async () => {
    const token = await admin.csrf();
    await admin.agent.post(`/admin/products/${productId}/status`).type('form').send({ _csrf: token, status: 'archived' }).expect(303);
    expect((await new Shopper(shop.url, knex).agent.get(`/products/${productId}`)).status).toBe(404);
    const list = await admin.agent.get('/admin/products').expect(200);
    expect(list.text).not.toContain('data-sku="SILK-PJ-01"');
    const archived = await admin.agent.get('/admin/products?status=archived').expect(200);
    expect(archived.text).toContain('data-sku="SILK-PJ-01"');
    await admin.agent.post(`/admin/products/${productId}/status`).type('form').send({ _csrf: token, status: 'on_sale' }).expect(303);
    expect((await new Shopper(shop.url, knex).agent.get(`/products/${productId}`)).status).toBe(200);
  });
});
