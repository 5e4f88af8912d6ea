import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { start, type RunningShop } from '../../../src/main';
import { seedCatalogIfEmpty } from '../../../src/catalog/service';
import { manualClock, type ManualClock } from '../../helpers/clock';
import { createTestDatabase, type TestDatabase } from '../../helpers/testdb';

jest.setTimeout(180_000);

/** A pino logger whose JSON lines the test reads. */
function capturedLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines: () => lines };
}

async function metricValue(url: string): Promise<number> {
  const text = (await request(url).get('/metrics')).text;
  return Number(/^http_untrusted_forwarded_for_total (\d+)$/m.exec(text)?.[1] ?? NaN);
}

/**
 * Issue 26, item 2: requests that carry X-Forwarded-For from a peer TRUST_PROXY does not trust are
 * the mark of a proxy the shop does not know of. They are counted in /metrics, and the log says so
 * loudly, at most once a minute.
 */
describe('X-Forwarded-For from a peer the shop does not trust', () => {
  let testDb: TestDatabase;
  let shop: RunningShop;
  let clock: ManualClock;
  let log: ReturnType<typeof capturedLogger>;
  const warnings = () => log.lines().filter((l) => String(l.msg).startsWith('WARNING: X-Forwarded-For from'));

  beforeAll(async () => {
    testDb = await createTestDatabase();
    clock = manualClock(new Date());
    log = capturedLogger();
    // the demo: TRUST_PROXY unset, so no peer is trusted
    shop = await start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SWEEP_INTERVAL_SECONDS: '0' }, { db: testDb.db, clock, logger: log.logger });
    await seedCatalogIfEmpty(testDb.db.knex);
  });
  afterAll(async () => {
    await shop?.stop();
    await testDb?.drop();
  });

  test('each is counted in /metrics; requests without the header are not', async () => {
    expect(await metricValue(shop.url)).toBe(0);
    await request(shop.url).get('/').expect(200);
    expect(await metricValue(shop.url)).toBe(0);
    await request(shop.url).get('/').set('X-Forwarded-For', '203.0.113.5').expect(200);
    await request(shop.url).get('/cart').set('X-Forwarded-For', '203.0.113.6, 10.0.0.2').expect(200);
    // the status long-poll, served ahead of Express, is seen too
    await request(shop.url).get('/pay/NOSUCHTRADE00001/status?wait=0').set('X-Forwarded-For', '203.0.113.7');
    expect(await metricValue(shop.url)).toBe(3);
  });

  test('the log warns at most once a minute, naming the peer and TRUST_PROXY, and says how many came since', async () => {
    clock.advance(61_000);
    const before = warnings().length;
    for (let i = 0; i < 5; i++) await request(shop.url).get('/').set('X-Forwarded-For', `198.51.100.${i}`).expect(200);
    const after = warnings();
    expect(after.length).toBe(before + 1);
    const warning = after[after.length - 1] as Record<string, unknown>;
    expect(warning.level).toBe(40);
    expect(warning.peer).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(String(warning.msg)).toContain('which TRUST_PROXY does not trust');
    clock.advance(30_000);
    await request(shop.url).get('/').set('X-Forwarded-For', '198.51.100.9').expect(200);
    expect(warnings().length).toBe(before + 1);
    clock.advance(31_000);
    await request(shop.url).get('/').set('X-Forwarded-For', '198.51.100.10').expect(200);
    expect(warnings().length).toBe(before + 2);
    // the 4 after the first warning, the one 30 s later, and this one
    expect(warnings()[before + 1]?.requests).toBe(6);
  });
});

describe('X-Forwarded-For from a trusted proxy', () => {
  test('is neither counted nor logged', async () => {
    const testDb = await createTestDatabase();
    const log = capturedLogger();
    const shop = await start({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SWEEP_INTERVAL_SECONDS: '0', TRUST_PROXY: 'loopback' }, { db: testDb.db, logger: log.logger });
    try {
      await seedCatalogIfEmpty(testDb.db.knex);
      for (let i = 0; i < 3; i++) await request(shop.url).get('/').set('X-Forwarded-For', `203.0.113.${i}`).expect(200);
      expect(await metricValue(shop.url)).toBe(0);
      expect(log.lines().filter((l) => String(l.msg).includes('X-Forwarded-For'))).toEqual([]);
    } finally {
      await shop.stop();
      await testDb.drop();
    }
  });
});
