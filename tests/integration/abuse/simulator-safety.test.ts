import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWxPayClient } from '../../../src/wechatpay';
import { createTestShop, type TestShop } from '../../helpers/app';
import { payOnPhone } from '../../helpers/shopper';
import { tradeWithQr } from '../../helpers/settlement';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

const CONFIGURED = { WXPAY_APPID: 'wx1234567890abcdef', WXPAY_MCH_ID: '1234567890', WXPAY_API_KEY: 'ConfiguredKey0123456789abcdefXYZ' };

describe('simulator mode keeps real credentials out of its tables and notifies only this shop', () => {
  let shop: TestShop;
  let probe: http.Server;
  let probeUrl: string;
  const probed: string[] = [];

  beforeAll(async () => {
    // a merchant's own ids in simulator mode need the second setting that says no real money moves
    shop = await createTestShop({ env: { WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'no-real-money', ...CONFIGURED, SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0' } });
    probe = http.createServer((req, res) => {
      probed.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'Content-Type': 'text/xml' }).end('<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>');
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/elsewhere/notify`;
  });
  afterAll(async () => {
    await shop.close();
    await new Promise((resolve) => probe.close(resolve));
  });

  test('a configured API key never lands in any sim_* table, while the simulator signs and checks with it', async () => {
    const knex = shop.db.knex;
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    await payOnPhone(shop.url, paylog.code_url);
    await shop.simulator?.runDueWork();
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('SUCCESS');
    const tables = (await knex('information_schema.tables').where({ table_schema: 'public' }).andWhere('table_name', 'like', 'sim\\_%').pluck('table_name')) as string[];
    expect(tables).toEqual(expect.arrayContaining(['sim_merchants', 'sim_trades', 'sim_notifications']));
    for (const table of tables) {
      const { rows } = (await knex.raw(`SELECT row_to_json(t)::text AS row FROM ${table} t`)) as { rows: { row: string }[] };
      for (const { row } of rows) expect(row).not.toContain(CONFIGURED.WXPAY_API_KEY);
    }
    expect((await knex('sim_merchants').where({ mch_id: CONFIGURED.WXPAY_MCH_ID }).first('api_key')).api_key).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  test('a trade that names another notify_url is never notified there', async () => {
    const { appId, mchId, apiKey, signType } = shop.app.locals.deps.config.wxpay;
    const client = createWxPayClient({ appId, mchId, apiKey, signType, baseUrl: `${shop.url}/wxsim` });
    const outTradeNo = `ELSEWHERE${Date.now()}`;
    const now = new Date();
    const answer = await client.unifiedOrder({
      body: 'probe',
      outTradeNo,
      totalFee: 1,
      spbillCreateIp: '127.0.0.1',
      notifyUrl: probeUrl,
      productId: outTradeNo,
      timeStart: now,
      timeExpire: new Date(now.getTime() + 15 * 60 * 1000),
    });
    expect((await payOnPhone(shop.url, answer.codeUrl)).status).toBe(200);
    await shop.simulator?.runDueWork();
    expect(probed).toEqual([]);
    const note = (await shop.db.knex('sim_notifications').join('sim_trades', 'sim_trades.id', 'sim_notifications.trade_id').where('sim_trades.out_trade_no', outTradeNo).first('sim_notifications.status', 'sim_notifications.last_error')) as {
      status: string;
      last_error: string;
    };
    expect(note.status).toBe('failed');
    expect(note.last_error).toContain("is not one of this shop's notify URLs");
  });
});
