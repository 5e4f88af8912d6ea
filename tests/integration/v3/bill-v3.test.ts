import { createTestShop, manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { tradeWithQr } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';

/** The v3 trade bill: tradebill -> download_url -> gzip CSV whose SHA1 is checked, read as v2's bill is. */
describe('the trade bill on APIv3', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    // 2026-12-07 10:00 Beijing
    clock = manualClock(new Date('2026-12-07T02:00:00Z'));
    shop = await createTestShop({ clock, env: { WXPAY_API_VERSION: 'v3', SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('the day is not served before 10:00 the next day, then its bill lists the v3 payment; a day without trades has none', async () => {
    const knex = shop.db.knex;
    const payments = shop.app.locals.deps.payments;
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    const transactionId = ((await knex('sim_trades').where({ out_trade_no: outTradeNo }).first('transaction_id')) as { transaction_id: string }).transaction_id;

    expect(await payments.bill('2026-12-07')).toEqual({ kind: 'not_yet' });
    // 2026-12-08 10:00 Beijing
    clock.set(new Date('2026-12-08T02:00:00Z'));
    const bill = await payments.bill('2026-12-07');
    expect(bill).toMatchObject({ kind: 'bill', refunds: [] });
    expect(bill.kind === 'bill' && bill.payments).toEqual([{ outTradeNo, transactionId, amountFen: paylog.total_fee, amountText: expect.any(String), state: 'SUCCESS', paid: true }]);
    expect(await payments.bill('2026-12-06')).toEqual({ kind: 'none' });
  });
});
