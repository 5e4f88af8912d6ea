import { DEFAULT_QR_TTL_SECONDS } from '../../../src/config';
import { replaceAttempt } from '../../../src/ledger';
import { postNotify, shopOnClock, signedNotify, tradeWithQr } from '../../helpers/settlement';
import type { Shopper } from '../../helpers/shopper';
import { ordersOfTrade } from '../../helpers/ledger';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

const SUCCESS = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

async function payAgain(shopper: Shopper, outTradeNo: string): Promise<string> {
  const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
  const res = await shopper.agent.post(`/pay/${outTradeNo}/renew`).type('form').send({ _csrf: csrf });
  expect(res.status).toBe(303);
  return res.headers.location ?? '';
}

describe('edges a real shopper hits around "pay again"', () => {
  test('after a late payment settles an older attempt, the newer attempt offers no QR code, shows the paid state, and is closed here and at WeChat', async () => {
    const { shop, clock } = await shopOnClock();
    try {
      const knex = shop.db.knex;
      const { shopper, outTradeNo: older, paylog } = await tradeWithQr(shop, [['FARM-RICE-5', 1]]);
      clock.advance(DEFAULT_QR_TTL_SECONDS * 1000 + 1000);
      const newer = /^\/pay\/(\d+)$/.exec(await payAgain(shopper, older))?.[1] ?? '';
      expect(newer).not.toBe(older);
      await shopper.agent.get(`/pay/${newer}`).expect(200);
      expect((await knex('sim_trades').where({ out_trade_no: newer }).first('trade_state')).trade_state).toBe('NOTPAY');

      // WeChat's close of the older one was best effort: its payment lands after all
      const late = await postNotify(shop, signedNotify(shop, { out_trade_no: older, total_fee: paylog.total_fee, transaction_id: '4200000000202611260000000701' }));
      expect(late.text).toBe(SUCCESS);
      expect(await knex('paylog').where({ out_trade_no: older }).first('trade_state', 'flag')).toEqual({ trade_state: 'SUCCESS', flag: 'late_payment' });

      // the newer attempt's poll and page say paid, and offer no QR code
      expect((await shopper.agent.get(`/pay/${newer}/status`)).body).toEqual({ state: 'SUCCESS', redirect: `/pay/${older}/success` });
      const page = await shopper.agent.get(`/pay/${newer}`);
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe(`/pay/${older}/success`);
      const success = await shopper.agent.get(`/pay/${older}/success`).expect(200);
      expect(success.text).not.toContain('<figure class="qr"');

      // WeChat refuses closeorder within 5 minutes of the order: the sweeper closes it once it may
      clock.advance(5 * 60 * 1000 + 1000);
      await shop.sweeper.sweepOnce();
      expect((await knex('paylog').where({ out_trade_no: newer }).first('trade_state')).trade_state).toBe('CLOSED');
      expect((await knex('sim_trades').where({ out_trade_no: newer }).first('trade_state')).trade_state).toBe('CLOSED');
      // the orders stay paid, by the older attempt
      expect(await ordersOfTrade(knex, newer).select('orders.status', 'orders.out_trade_no')).toEqual([
        { status: 'paid', out_trade_no: older },
      ]);
    } finally {
      await shop.close();
    }
  });

  test('a payment that lands while "pay again" runs (between its WeChat checks and its transaction) ends on the success page, not an error', async () => {
    const { shop, clock } = await shopOnClock();
    try {
      const knex = shop.db.knex;
      const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-RICE-5', 1]]);
      const { shopper_id: shopperId } = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('shopper_id')) as { shopper_id: string };
      clock.advance(DEFAULT_QR_TTL_SECONDS * 1000 - 30_000);
      // renewAttempt has asked WeChat (NOTPAY) ... and now the notify lands
      expect((await postNotify(shop, signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee }))).text).toBe(SUCCESS);
      clock.advance(60_000);
      // ... then its transaction runs
      expect(await replaceAttempt(knex, { outTradeNo, shopperId, now: clock(), qrTtlSeconds: DEFAULT_QR_TTL_SECONDS, wechat: 'open' })).toEqual({ kind: 'paid', outTradeNo });
      expect(Number((await knex('paylog').where({ shopper_id: shopperId }).count({ n: '*' }).first())?.n)).toBe(1);
      // and through the page: the success page
      const res = await shopper.agent.get(`/pay/${outTradeNo}`);
      expect(res.headers.location).toBe(`/pay/${outTradeNo}/success`);
    } finally {
      await shop.close();
    }
  });

  test('"pay again" on an attempt whose orders another attempt paid meanwhile goes to that attempt\'s success page', async () => {
    const { shop, clock } = await shopOnClock();
    try {
      const knex = shop.db.knex;
      const { shopper, outTradeNo: older } = await tradeWithQr(shop, [['FARM-RICE-5', 1]]);
      const { shopper_id: shopperId } = (await knex('paylog').where({ out_trade_no: older }).first('shopper_id')) as { shopper_id: string };
      clock.advance(DEFAULT_QR_TTL_SECONDS * 1000 + 1000);
      const newer = /^\/pay\/(\d+)$/.exec(await payAgain(shopper, older))?.[1] ?? '';
      await shopper.agent.get(`/pay/${newer}`).expect(200);
      const row = (await knex('paylog').where({ out_trade_no: newer }).first('total_fee')) as { total_fee: number };
      expect((await postNotify(shop, signedNotify(shop, { out_trade_no: newer, total_fee: row.total_fee }))).text).toBe(SUCCESS);
      expect(await replaceAttempt(knex, { outTradeNo: older, shopperId, now: clock(), qrTtlSeconds: DEFAULT_QR_TTL_SECONDS, wechat: 'open' })).toEqual({ kind: 'paid', outTradeNo: newer });
    } finally {
      await shop.close();
    }
  });
});
