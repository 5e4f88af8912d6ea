import request from 'supertest';
import { addFault as addSimulatorFault, parseFaultInput } from '../../src/simulator';
import { buildPaymentNotify } from '../../src/wechatpay';
import { formatBeijingTime } from '../../src/wechatpay/time';
import { createTestShop, manualClock, type TestShop } from './app';
import { Shopper } from './shopper';

/** A shop on a manual clock, with a fast simulator (retry schedule / 1000) and the sweeper left to the test. */
export async function shopOnClock(env: NodeJS.ProcessEnv = {}) {
  const clock = manualClock(new Date());
  const shop = await createTestShop({ clock, env: { SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0', ...env } });
  return { shop, clock };
}

export function merchantOf(shop: TestShop) {
  const { appId, mchId, apiKey, signType } = shop.app.locals.deps.config.wxpay;
  return { appId, mchId, apiKey, signType };
}

/** A shopper who checked out and opened the pay page: the trade has a code_url at the simulator. */
export async function tradeWithQr(shop: TestShop, items: [string, number][] = [['TEA-MLH-100', 1], ['GEEK-CBL-01', 2]]) {
  const shopper = new Shopper(shop.url, shop.db.knex);
  const outTradeNo = await shopper.buy(items);
  await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
  const paylog = await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first();
  return { shopper, outTradeNo, paylog: paylog as { total_fee: number; code_url: string; create_time: Date } };
}

/** A payment notify signed as WeChat signs it, for this shop's merchant. */
export function signedNotify(shop: TestShop, fields: Record<string, string | number | undefined>) {
  return buildPaymentNotify({ transaction_id: '4200000000202611250000000001', time_end: formatBeijingTime(new Date()), ...fields }, merchantOf(shop));
}

export const postNotify = (shop: TestShop, body: string) => request(shop.url).post('/wxpay/notify').set('Content-Type', 'text/xml').send(body);

/**
 * A fault in the simulator for this shop's merchant (see src/simulator/faults.ts), read as the fault
 * API reads it. Over HTTP the fault API is the admin's (tests/integration/simulator-faults-access.test.ts).
 */
export const addFault = (shop: TestShop, fault: Record<string, unknown>) =>
  addSimulatorFault(shop.db.knex, new Date(), parseFaultInput({ mch_id: merchantOf(shop).mchId, ...fault }));
