import request from 'supertest';
import { createTestShop, type TestShop } from '../../helpers/app';
import { ledgerOf } from '../../helpers/ledger';
import { zh } from '../../../src/i18n/zh';
import { Shopper, productIdOf } from '../../helpers/shopper';

const MISSING = zh['cart.missing'];
import { setStockOf, stockOf } from '../../helpers/stock';

/**
 * Variants (规格) from the shopper's side: the product page offers each size, the cart and the
 * orders hold the variant, its stock (and nothing else's) is taken, every unit a movement; and
 * 20 shoppers racing for the last 5 of one size get exactly 5.
 */
describe('variants: product page, cart, checkout, stock movements', () => {
  let shop: TestShop;
  let knex: TestShop['db']['knex'];
  const variantId = async (sku: string) => Number(((await knex('product_variants').where({ sku }).first('id')) as { id: number }).id);

  beforeAll(async () => {
    shop = await createTestShop();
    knex = shop.db.knex;
  });
  afterAll(async () => {
    await shop.close();
  });

  /** adds a variant as the product page's form does */
  const addVariant = async (shopper: Shopper, sku: string, quantity: number) => shopper.add('WEAR-TEE-01', quantity, { variant_id: String(await variantId(sku)), return_to: 'product' });

  test('the product page lists each size with its price and stock; a sold-out size cannot be picked', async () => {
    const id = await productIdOf(knex, 'WEAR-TEE-01');
    const res = await request(shop.app).get(`/products/${id}`).expect(200);
    expect(res.text).toContain('颜色 · 尺码');
    expect(res.text).toMatch(/data-sku="WEAR-TEE-01-BK-M"[^>]*>黑色 \/ M · ¥79.00/);
    expect(res.text).toMatch(/data-sku="WEAR-TEE-01-WH-L" disabled>白色 \/ L · ¥79.00 · 已售罄/);
    // the description is plain text with line breaks, escaped
    expect(res.text).toContain('<p>100% 新疆长绒棉，240g 重磅。</p>');
    const english = await request(shop.app).get(`/products/${id}?lang=en`).expect(200);
    expect(english.text).toContain('Sold out');
  });

  test('the list asks to choose options for a product that has them; adding it without a size is refused with the reason', async () => {
    const shopper = new Shopper(shop.url, knex);
    const home = await shopper.agent.get('/').expect(200);
    expect(home.text).toContain('选择规格');
    const res = await shopper.add('WEAR-TEE-01', 1);
    expect(res.status).toBe(400);
    expect(res.text).toContain('有多种规格，请先在商品页选择规格');
  });

  test('a shopper buys one size: the order line names the variant, only its stock moves, with a sale movement naming the order', async () => {
    const shopper = new Shopper(shop.url, knex);
    const before = { m: await stockOf(knex, 'WEAR-TEE-01-BK-M'), l: await stockOf(knex, 'WEAR-TEE-01-BK-L') };
    const added = await addVariant(shopper, 'WEAR-TEE-01-BK-M', 2);
    expect(added.status).toBe(303);
    expect(added.headers.location).toMatch(/^\/products\/\d+$/);
    const cart = await shopper.agent.get('/cart').expect(200);
    expect(cart.text).toContain('纯棉圆领T恤 (黑色 / M)');
    const res = await shopper.submitCheckout();
    expect(res.status).toBe(303);
    const outTradeNo = /\/pay\/(\d+)/.exec(res.headers.location ?? '')?.[1];
    const [order] = await knex('orders').where({ out_trade_no: outTradeNo });
    const item = await knex('order_items').where({ order_id: order.id }).first();
    expect(item).toMatchObject({ variant_id: await variantId('WEAR-TEE-01-BK-M'), sku: 'WEAR-TEE-01-BK-M', variant_label: '黑色 / M', unit_price_fen: 7900, quantity: 2 });
    expect(await stockOf(knex, 'WEAR-TEE-01-BK-M')).toBe(before.m - 2);
    expect(await stockOf(knex, 'WEAR-TEE-01-BK-L')).toBe(before.l);
    const movement = await knex('stock_movements').where({ order_id: order.id }).first();
    expect(movement).toMatchObject({ variant_id: await variantId('WEAR-TEE-01-BK-M'), delta: -2, stock_after: before.m - 2, reason: 'sale', operator: expect.stringMatching(/^shopper:s_/) });
    // the pay page names the size
    expect((await shopper.agent.get(`/pay/${outTradeNo}`).expect(200)).text).toContain('(黑色 / M)');
    expect((await ledgerOf(shop)).discrepancies).toEqual([]);
  });

  test('20 concurrent checkouts for the last 5 of one size: exactly 5 succeed, that size ends at 0, the others are untouched', async () => {
    await setStockOf(knex, 'WEAR-TEE-01-WH-XL', 5);
    const neighbour = await stockOf(knex, 'WEAR-TEE-01-WH-M');
    const shoppers = Array.from({ length: 20 }, () => new Shopper(shop.url, knex));
    for (const s of shoppers) expect((await addVariant(s, 'WEAR-TEE-01-WH-XL', 1)).status).toBe(303);
    const forms = await Promise.all(shoppers.map((s) => s.checkoutForm()));
    const results = await Promise.all(shoppers.map((s, i) => s.submitCheckout({}, forms[i]?.checkoutToken)));
    expect(results.filter((r) => r.status === 303)).toHaveLength(5);
    const lost = results.filter((r) => r.status === 409);
    expect(lost).toHaveLength(15);
    for (const r of lost) expect(r.text).toContain('纯棉圆领T恤 (白色 / XL)');
    expect(await stockOf(knex, 'WEAR-TEE-01-WH-XL')).toBe(0);
    expect(await stockOf(knex, 'WEAR-TEE-01-WH-M')).toBe(neighbour);
    const id = await variantId('WEAR-TEE-01-WH-XL');
    expect(Number((await knex('order_items').where({ variant_id: id }).sum({ q: 'quantity' }).first())?.q)).toBe(5);
    expect(Number((await knex('stock_movements').where({ variant_id: id, reason: 'sale' }).sum({ q: 'delta' }).first())?.q)).toBe(-5);
    expect((await ledgerOf(shop)).discrepancies).toEqual([]);
  });

  test('a product taken off sale leaves the shop: its page is a 404 and a cart holding it cannot check out', async () => {
    const shopper = new Shopper(shop.url, knex);
    expect((await shopper.add('FARM-DATE-1', 1)).status).toBe(303);
    const id = await productIdOf(knex, 'FARM-DATE-1');
    await knex('products').where({ id }).update({ status: 'off_sale' });
    try {
      expect((await request(shop.app).get(`/products/${id}`)).status).toBe(404);
      expect((await shopper.agent.get('/').expect(200)).text).not.toContain('data-sku="FARM-DATE-1"');
      const cart = await shopper.agent.get('/cart').expect(200);
      expect(cart.text).toContain(MISSING);
      // nothing left to check out: the checkout page sends the shopper back to the cart
      const res = await shopper.agent.get('/checkout');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/cart');
      expect(await knex('order_items').join('product_variants as v', 'v.id', 'order_items.variant_id').where('v.sku', 'FARM-DATE-1').count({ n: '*' }).first()).toEqual({ n: 0 });
    } finally {
      await knex('products').where({ id }).update({ status: 'on_sale' });
    }
  });
});
