import type { Knex } from 'knex';
import pino from 'pino';
import { openDatabase, type Database } from '../../../src/db';
import { channelsOf, createDispatcher } from '../../../src/outbox';
import { startAlertReceiver, type AlertReceiver } from '../../helpers/alert-receiver';
import { manualClock } from '../../helpers/app';
import { createTestDatabase, serverUrl, type TestDatabase } from '../../helpers/testdb';
import { scaled } from '../../helpers/timeouts';
import { endpointOf, startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

/**
 * PostgreSQL goes away in the middle of a delivery: the receiver has taken the event, but the
 * dispatcher cannot store that it did (a TCP proxy of the test's own cuts every connection the
 * moment the receiver answers). The dispatcher's rounds fail without crashing while the database
 * is away; once it is back, every event is delivered, the one whose result was lost again (at
 * least once, with the same id for the receiver to deduplicate by), none lost. Only on a server.
 */
const onServer = serverUrl() ? describe : describe.skip;
const SECRET = 'whsec_outage_0123456789';

onServer('fault: the database away while alerts are being delivered', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let viaProxy: Database;
  let direct: Knex;
  let receiver: AlertReceiver;
  const clock = manualClock(new Date());

  beforeAll(async () => {
    testDb = await createTestDatabase();
    direct = testDb.db.knex;
    proxy = await startTcpProxy([endpointOf(testDb.url as string)]);
    viaProxy = await openDatabase({ databaseUrl: proxy.via(testDb.url as string), pgliteDir: 'memory://' });
    receiver = await startAlertReceiver(SECRET, () => clock());
  }, scaled(60_000));
  afterAll(async () => {
    proxy.mode = 'pass';
    await receiver?.close();
    await viaProxy?.close();
    await proxy?.close();
    await testDb?.drop();
  }, scaled(60_000));

  const insertEvents = async (count: number, from: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = from; i < from + count; i += 1) {
      const [row] = (await direct('outbox').insert({ type: 'reconcile.mismatch', order_ids: [], data: JSON.stringify({ date: `2026-12-${String(i).padStart(2, '0')}`, differences: 1, kinds: { missing: 1 } }), created_at: clock() }).returning('event_id')) as { event_id: string }[];
      ids.push(String(row?.event_id));
    }
    return ids;
  };

  test('a delivery whose result could not be stored is sent again once the database is back; none is lost', async () => {
    const dispatcher = createDispatcher({
      knex: viaProxy.knex,
      channels: channelsOf({ wecom: undefined, dingtalk: undefined, feishu: undefined, webhook: { url: receiver.url, secret: SECRET }, locale: 'zh', dispatchIntervalSeconds: 0, simulatorRobot: false }, undefined),
      clock,
      logger: pino({ level: 'silent' }),
      intervalSeconds: 0,
      baseUrl: 'http://127.0.0.1',
      shopName: 'test',
      locale: 'zh',
      batchSize: 5,
    });
    const first = await insertEvents(5, 1);
    // the database goes away as the third event is taken: its "delivered" cannot be stored
    let answered = 0;
    const originalDelay = receiver.delayMs;
    const cut = setInterval(() => {
      if (answered === 0 && receiver.taken.length >= 3) {
        answered = receiver.taken.length;
        proxy.mode = 'refuse';
        proxy.cutAll();
      }
    }, 1);
    receiver.delayMs = 30;
    await expect(dispatcher.dispatchOnce()).rejects.toThrow();
    clearInterval(cut);
    receiver.delayMs = originalDelay;
    // while it is away: rounds fail, nothing crashes; events committed meanwhile (elsewhere) wait
    await expect(dispatcher.dispatchOnce()).rejects.toThrow();
    const later = await insertEvents(3, 10);
    // back: after the lease of the lost claims, every event goes
    proxy.mode = 'pass';
    clock.advance(61_000);
    for (let round = 0; round < 10; round += 1) {
      try {
        if ((await dispatcher.dispatchOnce()) === 0) break;
      } catch {
        // the pool's first connection after the cut may fail once
      }
    }
    const all = [...first, ...later];
    for (const id of all) expect([id, (receiver.takenCount.get(id) ?? 0) >= 1]).toEqual([id, true]);
    expect(Number(((await direct('outbox_deliveries').whereNot('status', 'delivered').count({ n: '*' }).first()) as { n: string }).n)).toBe(0);
    // at least once: the event whose result was lost was sent again (twice at most), and the receiver took it once by its id
    expect(Math.max(...all.map((id) => receiver.takenCount.get(id) ?? 0))).toBe(2);
    expect(receiver.taken.map((r) => r.id).sort()).toEqual([...all].sort());
  }, scaled(60_000));
});
