import { shopOnClock, tradeWithQr } from '../../helpers/settlement';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

describe('the sweeper is fair', () => {
  test('with more forgotten trades than one sweep handles, every NOTPAY trade is asked about in its turn, least recently asked first', async () => {
    const { shop, clock } = await shopOnClock({ SWEEP_BATCH_SIZE: '2', POLL_QUERY_INTERVAL_SECONDS: '10', POLL_QUERY_AFTER_SECONDS: '15' });
    try {
      const knex = shop.db.knex;
      const trades: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        trades.push((await tradeWithQr(shop, [['FARM-PIN-01', 1]])).outTradeNo);
        clock.advance(1000);
      }
      clock.advance(20_000);
      const askedAt = async () => (await knex('paylog').whereIn('out_trade_no', trades).orderBy('create_time').pluck('last_queried_at')) as (Date | null)[];
      const askedInRound: number[][] = [];
      for (let round = 0; round < 3; round += 1) {
        const before = await askedAt();
        await shop.sweeper.sweepOnce();
        const after = await askedAt();
        askedInRound.push(after.flatMap((at, i) => (at && (!before[i] || at.getTime() !== before[i]?.getTime()) ? [i] : [])));
        clock.advance(11_000);
      }
      // 5 trades, 2 per sweep: the oldest two, then the next two, then the last one before any repeat
      expect(askedInRound[0]).toEqual([0, 1]);
      expect(askedInRound[1]).toEqual([2, 3]);
      expect(askedInRound[2]).toContain(4);
      expect((await askedAt()).every((at) => at !== null)).toBe(true);
    } finally {
      await shop.close();
    }
  });
});
