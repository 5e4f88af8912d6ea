import { waitFor } from '../admin/helpers';
import { shopOnClock } from '../../helpers/settlement';
import { Shopper } from '../../helpers/shopper';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

describe('status long-polls are capped per trade and per session, so one session cannot take the instance\'s capacity', () => {
  test('beyond its trade\'s or its session\'s share a poll gets 503 with Retry-After and a sentence; other shoppers still wait', async () => {
    const { shop } = await shopOnClock({ POLL_MAX_WAITERS: '100', POLL_MAX_WAITERS_PER_SESSION: '3', POLL_MAX_WAITERS_PER_TRADE: '2', POLL_QUERY_AFTER_SECONDS: '3600', POLL_MAX_WAIT_SECONDS: '120' });
    try {
      const greedy = new Shopper(shop.url, shop.db.knex);
      const first = await greedy.buy([['FARM-PIN-01', 1]]);
      const second = await greedy.buy([['FARM-PIN-01', 1]]);
      const other = new Shopper(shop.url, shop.db.knex);
      const theirs = await other.buy([['FARM-PIN-01', 1]]);
      for (const [who, no] of [[greedy, first], [greedy, second], [other, theirs]] as const) await who.agent.get(`/pay/${no}`).expect(200);

      const held: Promise<unknown>[] = [];
      const hold = (who: Shopper, no: string) => held.push(who.agent.get(`/pay/${no}/status?wait=100`).then((r) => r.body as unknown));
      const poll = (who: Shopper, no: string, lang = 'zh') => who.agent.get(`/pay/${no}/status?wait=100`).set('Accept', 'application/json').set('Accept-Language', lang);

      hold(greedy, first);
      hold(greedy, first);
      await waitFor('two waiters', async () => shop.waiters.size === 2, 120_000);
      // the trade's share is taken
      const tradeCapped = await poll(greedy, first);
      expect(tradeCapped.status).toBe(503);
      expect(Number(tradeCapped.headers['retry-after'])).toBeGreaterThan(0);
      expect(tradeCapped.body.error.message).toBe('打开的支付页面太多，请关闭一些后重试。');

      hold(greedy, second);
      await waitFor('three waiters', async () => shop.waiters.size === 3, 120_000);
      // the session's share is taken, even for its other trade
      const sessionCapped = await poll(greedy, second, 'en');
      expect(sessionCapped.status).toBe(503);
      expect(sessionCapped.body.error.message).toBe('Too many pay pages are open. Please close some and try again.');

      // another shopper is not refused for it
      hold(other, theirs);
      await waitFor('four waiters', async () => shop.waiters.size === 4, 120_000);
      // (held as long as the test needs, however slow the machine; then woken as a NOTIFY would)
      shop.waiters.wakeAll();
      expect(await Promise.all(held)).toEqual(Array(4).fill({ state: 'NOTPAY' }));
      // and once the polls answered, the shares are free again
      expect(shop.waiters.size).toBe(0);
      hold(greedy, first);
      await waitFor('one waiter again', async () => shop.waiters.size === 1, 120_000);
      shop.waiters.wakeAll();
      await Promise.all(held);
    } finally {
      await shop.close();
    }
  });
});
