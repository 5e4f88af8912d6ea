import pino from 'pino';
import { createApp, type App, type Clock } from '../../src/app';
import { seedCatalogIfEmpty } from '../../src/catalog/service';
import { loadConfig, type Config } from '../../src/config';
import { createTestDatabase, type TestDatabase } from './testdb';

export interface TestShop {
  app: App;
  testDb: TestDatabase;
  config: Config & { sessionSecret: string };
  close(): Promise<void>;
}

/** A test clock that only moves when told to. */
export function manualClock(start = new Date('2026-11-25T08:00:00Z')): Clock & { advance(ms: number): void; set(d: Date): void } {
  let now = start.getTime();
  const clock = (() => new Date(now)) as Clock & { advance(ms: number): void; set(d: Date): void };
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (d) => {
    now = d.getTime();
  };
  return clock;
}

/** createApp on a fresh migrated (and seeded) database, as main.ts would build it. */
export async function createTestShop(options: { env?: NodeJS.ProcessEnv; clock?: Clock; seed?: boolean; testDb?: TestDatabase } = {}): Promise<TestShop> {
  const testDb = options.testDb ?? (await createTestDatabase());
  if (options.seed !== false) await seedCatalogIfEmpty(testDb.db.knex);
  const config = { ...loadConfig({ LOG_LEVEL: 'silent', ...options.env }), sessionSecret: 'test-session-secret-0123456789abcdef' };
  const app = createApp({ config, db: testDb.db, clock: options.clock ?? (() => new Date()), logger: pino({ level: 'silent' }) });
  return {
    app,
    testDb,
    config,
    async close() {
      app.locals.close();
      await testDb.drop();
    },
  };
}
