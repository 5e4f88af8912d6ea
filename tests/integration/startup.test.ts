import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { start, type RunningShop } from '../../src/main';
import { SEED_PRODUCTS } from '../../src/catalog/seed-data';
import { createEmptyDatabase } from '../helpers/testdb';
import { setStockOf } from '../helpers/stock';

const SHOP_TABLES = ['products', 'orders', 'order_items', 'order_log', 'paylog', 'paylog_orders', 'notify_log', 'refunds', 'sessions', 'app_settings'];

describe('start-up (config -> db -> migrate -> seed -> listen)', () => {
  let empty: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let pgliteDir: string;
  let shop: RunningShop | undefined;

  const env = () => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ...(empty.url ? { DATABASE_URL: empty.url } : { PGLITE_DIR: pgliteDir }),
  });

  beforeAll(async () => {
    empty = await createEmptyDatabase();
    pgliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-pglite-'));
  });

  afterEach(async () => {
    await shop?.stop();
    shop = undefined;
  });

  afterAll(async () => {
    await empty.drop();
    fs.rmSync(pgliteDir, { recursive: true, force: true });
  });

  test('when started on an empty database, it creates every table and loads the demo catalog', async () => {
    shop = await start(env());
    const knex = shop.db.knex;
    for (const table of SHOP_TABLES) expect(await knex.schema.hasTable(table)).toBe(true);
    const migrations = await knex('knex_migrations').pluck('name');
    expect(migrations).toContain('20261125000100_shop_schema.ts');
    const products = await knex('products').select('sku', 'price_fen', 'seller');
    expect(products.length).toBe(SEED_PRODUCTS.length);
    expect(products.length).toBeGreaterThanOrEqual(12);
    expect(new Set(products.map((p) => p.seller)).size).toBeGreaterThanOrEqual(3);
    expect(products.every((p) => Number.isInteger(p.price_fen))).toBe(true);
  }, 120_000);

  test('when started again on the same database, it neither re-migrates nor re-seeds, and keeps the session secret', async () => {
    shop = await start(env());
    const firstSecret = await shop.db.knex('app_settings').where({ key: 'session_secret' }).first('value');
    await setStockOf(shop.db.knex, 'TEA-LJ-250', 7);
    await shop.stop();

    shop = await start(env());
    const knex = shop.db.knex;
    expect(await knex('products').count({ n: '*' }).first()).toEqual({ n: SEED_PRODUCTS.length });
    expect((await knex('product_variants').where({ sku: 'TEA-LJ-250' }).first('stock')).stock).toBe(7);
    expect(await knex('app_settings').where({ key: 'session_secret' }).first('value')).toEqual(firstSecret);
    expect(firstSecret.value.length).toBeGreaterThanOrEqual(32);
  });

  test('the running shop serves the catalog over HTTP and stops cleanly', async () => {
    shop = await start(env());
    const res = await request(shop.url).get('/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('¥168.00');
    const stopped = shop;
    shop = undefined;
    await stopped.stop();
    await expect(request(stopped.url).get('/').timeout(2000)).rejects.toThrow();
  });
});
