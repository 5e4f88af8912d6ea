import request from 'supertest';
import { SEED_PRODUCTS } from '../../src/catalog/seed-data';
import { formatFen } from '../../src/money';
import { createTestShop, type TestShop } from '../helpers/app';

describe('home page, health and metrics', () => {
  let shop: TestShop;

  beforeAll(async () => {
    shop = await createTestShop();
  });
  afterAll(async () => {
    await shop.close();
  });

  test('the home page lists every seeded product with its price formatted from fen', async () => {
    const res = await request(shop.app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const rows = await shop.testDb.db.knex('products').whereRaw("option_names = '[]'::jsonb").select('sku', 'title', 'price_fen');
    expect(rows.length).toBeGreaterThanOrEqual(12);
    // a product with options shows its lowest price, "from"
    expect(res.text).toContain('¥79.00 起');
    for (const p of rows) {
      expect(res.text).toContain(`data-sku="${p.sku}"`);
      expect(res.text).toContain(`data-fen="${p.price_fen}">${formatFen(p.price_fen)}<`);
    }
    expect(res.text).toContain('¥0.01');
    expect(res.text).toContain('已售罄');
  });

  test('the price shown follows the database, not a cached copy', async () => {
    await shop.testDb.db.knex('products').where({ sku: SEED_PRODUCTS[0]!.sku }).update({ price_fen: 123456 });
    const res = await request(shop.app).get('/');
    expect(res.text).toContain('¥1,234.56');
  });

  test('the page is Chinese by default and English with ?lang=en or an English browser', async () => {
    expect((await request(shop.app).get('/')).text).toContain('全部商品');
    expect((await request(shop.app).get('/?lang=en')).text).toContain('All products');
    const english = await request(shop.app).get('/').set('Accept-Language', 'en-US,en;q=0.9,zh;q=0.3');
    expect(english.text).toContain('All products');
    expect(english.headers['content-language']).toBe('en');
  });

  test('an unknown page is a 404 page for people, and JSON for JSON clients', async () => {
    const html = await request(shop.app).get('/no-such-page');
    expect(html.status).toBe(404);
    expect(html.text).toContain('找不到您要的页面');
    const json = await request(shop.app).get('/no-such-page').set('Accept', 'application/json');
    expect(json.status).toBe(404);
    expect(json.body).toEqual({ error: { status: 404, code: 'not_found', message: '找不到您要的页面。' } });
  });

  test('pages carry a Content-Security-Policy that allows no inline script', async () => {
    const res = await request(shop.app).get('/');
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline\';script');
    expect(csp).toContain("script-src-attr 'none'");
  });

  test('GET /healthz answers 200 when the database answers', async () => {
    const res = await request(shop.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: shop.testDb.db.kind });
  });

  test('GET /metrics serves Prometheus text with requests counted by route pattern', async () => {
    await request(shop.app).get('/');
    const res = await request(shop.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="\/",status="200"\} \d+/);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{le="[\d.]+",method="GET",route="\/"\}/);
  });
});

describe('health when the database is gone', () => {
  test('GET /healthz answers 503 once the database is closed', async () => {
    const shop = await createTestShop({ seed: false });
    expect((await request(shop.app).get('/healthz')).status).toBe(200);
    await shop.testDb.db.close();
    const res = await request(shop.app).get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('unavailable');
    await shop.close().catch(() => undefined);
  });
});
