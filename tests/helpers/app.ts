import type { Clock } from '../../src/app';
import { seedCatalogIfEmpty } from '../../src/catalog/seed';
import { openDatabase } from '../../src/db';
import { start, type RunningShop, type StartOverrides } from '../../src/main';
import { createTestDatabase, type TestDatabase } from './testdb';

export interface TestShop extends RunningShop {
  testDb: TestDatabase;
  /** stops the shop and drops its database */
  close(): Promise<void>;
}

export { manualClock, type ManualClock } from './clock';

/**
 * The shop as `npm start` runs it (simulator mode, the simulator over real HTTP), listening on
 * 127.0.0.1 at a free port, on a fresh database of its own (PGlite in memory, or a new database on
 * the server named by DATABASE_URL).
 */
export async function createTestShop(options: { env?: NodeJS.ProcessEnv; clock?: Clock; seed?: boolean; testDb?: TestDatabase; payments?: StartOverrides['payments'] } = {}): Promise<TestShop> {
  const testDb = options.testDb ?? (await createTestDatabase());
  // every test shopper comes from 127.0.0.1: the per-address checkout limits are for tests that ask for them
  const shop = await start(
    { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', CHECKOUT_MAX_OPEN_PER_ADDRESS: '100000', CHECKOUT_MAX_UNITS_PER_ADDRESS: '1000000', ...options.env },
    { db: testDb.db, clock: options.clock, payments: options.payments },
  );
  if (options.seed === false) {
    for (const table of ['stock_movements', 'product_variants', 'products']) await testDb.db.knex(table).delete();
  }
  else await seedCatalogIfEmpty(testDb.db.knex);
  return {
    ...shop,
    testDb,
    async close() {
      await shop.stop().catch(() => undefined);
      await testDb.drop().catch(() => undefined);
    },
  };
}

/**
 * A second app instance on the same database as `shop`, as behind a load balancer. On a server it
 * has its own connections (and its own LISTEN); embedded PGlite belongs to one process, so there
 * the second instance shares the first one's PGlite (and its listen).
 */
export async function startSecondInstance(shop: TestShop, options: { env?: NodeJS.ProcessEnv; clock?: Clock } = {}): Promise<RunningShop> {
  const env = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...options.env };
  if (shop.testDb.url === undefined) return start(env, { db: shop.db, clock: options.clock });
  const db = await openDatabase({ databaseUrl: shop.testDb.url, pgliteDir: 'memory://' });
  const second = await start(env, { db, clock: options.clock });
  return {
    ...second,
    async stop() {
      await second.stop();
      await db.close();
    },
  };
}
