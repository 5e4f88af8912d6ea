import request from 'supertest';
import { waitFor } from '../admin/helpers';
import { createTestShop, type TestShop } from '../../helpers/app';
import { expectCleanLedger } from '../../helpers/ledger';
import { DeviceShopper, USER_AGENTS, signInWithWechat } from '../../helpers/mobile';
import { csrfOf } from '../../helpers/shopper';

const cashierToken = (html: string) => /name="token" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** H5 and JSAPI on APIv3, the demo started with WXPAY_API_VERSION=v3: the same pages, v3 on the wire. */
describe('H5 and JSAPI on APIv3 against the simulator', () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await createTestShop({ env: { WXPAY_API_VERSION: 'v3', TRUST_PROXY: 'loopback', SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });
  const paid = (outTradeNo: string) => waitFor('the v3 notify', async () => ((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string }).trade_state === 'SUCCESS');

  test("H5: the v3 order's h5_url is the cashier, the payment settles by the v3 notify", async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    const pressed = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/h5`);
    expect(pressed.status).toBe(303);
    const cashier = new URL(String(pressed.headers.location));
    expect(cashier.pathname).toBe('/wxsim/h5pay/checkmweb');
    expect(await knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_type', 'api_version')).toEqual({ trade_type: 'MWEB', api_version: 'v3' });
    const opened = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`).expect(200);
    const pay = await request(shop.url)
      .post('/wxsim/h5pay/pay')
      .set('Origin', shop.url)
      .type('form')
      .send({ prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package'), token: cashierToken(opened.text), redirect_url: cashier.searchParams.get('redirect_url') });
    expect(pay.status).toBe(302);
    await paid(outTradeNo);
    expect(JSON.parse(((await knex('notify_log').where({ out_trade_no: outTradeNo, kind: 'pay' }).first('raw_body')) as { raw_body: string }).raw_body)).toMatchObject({ event_type: 'TRANSACTION.SUCCESS' });
    await expectCleanLedger(shop);
  });

  test('JSAPI: the bridge parameters are signed with RSA, the bridge checks them with the merchant key, the v3 notify settles it', async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.wechat);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    await signInWithWechat(shopper, shop.url, await shopper.agent.get(`/pay/${outTradeNo}`));
    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const res = await shopper.agent.post(`/pay/${outTradeNo}/jsapi`).set('X-CSRF-Token', csrfOf(page.text)).set('Accept', 'application/json').type('form').send({});
    expect(res.status).toBe(200);
    const params = (res.body as { params: Record<string, string> }).params;
    expect(params).toMatchObject({ signType: 'RSA', package: expect.stringMatching(/^prepay_id=/) });
    const invoke = (p: object) => shopper.agent.post('/wxsim/jsapi/pay').set('Content-Type', 'application/json').send(p);
    // an altered nonce no longer matches the RSA signature
    expect((await invoke({ ...params, nonceStr: `${params.nonceStr}x` })).body).toMatchObject({ err_msg: 'get_brand_wcpay_request:fail' });
    expect((await invoke(params)).body).toEqual({ err_msg: 'get_brand_wcpay_request:ok' });
    await paid(outTradeNo);
    expect(await knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_type', 'api_version')).toEqual({ trade_type: 'JSAPI', api_version: 'v3' });
    await expectCleanLedger(shop);
  });
});
