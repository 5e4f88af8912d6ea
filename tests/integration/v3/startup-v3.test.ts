import { requestRefund } from '../../../src/ledger';
import { sendRefund } from '../../../src/refunds/service';
import { createTestShop, type TestShop } from '../../helpers/app';
import { tradeWithQr } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';

/** The demo started as `npm start` starts it, with WXPAY_API_VERSION=v3: the version chosen at start-up, the keys made and kept. */
describe('WXPAY_API_VERSION=v3 in simulator mode: the demo speaks APIv3 from start-up', () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await createTestShop({ env: { WXPAY_API_VERSION: 'v3', SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  const settled = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await shop.simulator?.runDueWork();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`never: ${what}`);
  };

  test('a Native payment and its refund go over v3 end to end, with keys kept in the database (never in the repository)', async () => {
    const knex = shop.db.knex;
    const kept = (await knex('app_settings').where({ key: 'simulator_v3_keys' }).first('value')) as { value: string } | undefined;
    expect(JSON.parse(kept?.value ?? '{}')).toMatchObject({ simulator: { publicKeyId: expect.stringMatching(/^PUB_KEY_ID_/) }, merchant: { apiV3Key: expect.any(String) } });

    const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('api_version')).toEqual({ api_version: 'v3' });
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    await settled('paid by the v3 notify', async () => ((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string }).trade_state === 'SUCCESS');
    expect(await knex('sim_notifications').where({ kind: 'pay' }).orderBy('id', 'desc').first('api_version', 'status')).toEqual({ api_version: 'v3', status: 'delivered' });

    const payments = shop.app.locals.deps.payments;
    const [order] = (await knex('paylog_orders').where({ out_trade_no: outTradeNo }).select('order_id')) as { order_id: number }[];
    const outRefundNo = `RV${outTradeNo}`;
    await requestRefund(knex, { outTradeNo, orderId: order?.order_id, outRefundNo, refundFee: paylog.total_fee, reason: '', operator: 'admin:test', now: new Date() });
    expect(await sendRefund(knex, payments, { outRefundNo, operator: 'admin:test', clock: () => new Date() })).toMatchObject({ kind: 'accepted' });
    await settled('refunded by the v3 refund notify', async () => ((await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')) as { status: string }).status === 'SUCCESS');
    expect(await knex('sim_notifications').where({ kind: 'refund' }).orderBy('id', 'desc').first('api_version', 'status')).toEqual({ api_version: 'v3', status: 'delivered' });
  });
});
