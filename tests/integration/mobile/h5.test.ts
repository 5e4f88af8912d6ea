import path from 'node:path';
import request from 'supertest';
import { buildXml, signFields } from '../../../src/wechatpay';
import { waitFor } from '../admin/helpers';
import { expectCleanLedger, ordersOfTrade, v2ClientOf } from '../../helpers/ledger';
import { DeviceShopper, USER_AGENTS } from '../../helpers/mobile';
import { merchantOf, shopOnClock } from '../../helpers/settlement';
import { createTestShop, type TestShop } from '../../helpers/app';

/**
 * H5 payment (trade_type MWEB) from a phone's browser, end to end over HTTP through the simulator:
 * the shop's pay page, unifiedorder with scene_info and the shopper's address, WeChat's cashier
 * (registered domain, the order's address), the return, the notify, markPaid.
 */

const cashierToken = (html: string) => /name="token" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function h5Trade(shop: TestShop, headers: Record<string, string> = {}) {
  const shopper = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.iphone);
  const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
  const pressed = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/h5`, {}, headers);
  return { shopper, outTradeNo, pressed };
}

describe('H5 payment in a phone browser (MWEB)', () => {
  let shop: TestShop;
  beforeAll(async () => {
    // TRUST_PROXY: the shopper's address comes from X-Forwarded-For, as behind the shop's proxy
    ({ shop } = await shopOnClock({ TRUST_PROXY: 'loopback' }));
  });
  afterAll(async () => {
    await shop.close();
  });

  test("a phone's browser gets the Pay button, WeChat's cashier takes the payment, and the shop knows it from WeChat's notify", async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1], ['GEEK-CBL-01', 1]]);
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_type', 'prepay_id')).toEqual({ trade_type: 'MWEB', prepay_id: null });

    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(page.text).toContain(`action="/pay/${outTradeNo}/h5"`);
    expect(page.text).toContain('name="trade_type" value="NATIVE"');
    expect(page.text).not.toContain('<svg');
    // nothing was asked of WeChat yet
    expect(await knex('sim_trades').where({ out_trade_no: outTradeNo }).first()).toBeUndefined();

    const pressed = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/h5`);
    expect(pressed.status).toBe(303);
    const cashier = new URL(String(pressed.headers.location));
    expect(cashier.pathname).toBe('/wxsim/h5pay/checkmweb');
    expect(cashier.searchParams.get('redirect_url')).toBe(`${shop.url}/pay/${outTradeNo}?returned=1`);
    const sim = await knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_type', 'spbill_create_ip', 'order_params', 'prepay_id');
    expect(sim.trade_type).toBe('MWEB');
    expect(sim.spbill_create_ip).toBe('127.0.0.1');
    expect(JSON.parse(sim.order_params.scene_info)).toEqual({ h5_info: { type: 'Wap', wap_url: shop.url, wap_name: '示例小店' } });
    const paylog = await knex('paylog').where({ out_trade_no: outTradeNo }).first('prepay_id', 'code_url', 'code_url_expires_at', 'trade_state');
    expect(paylog).toMatchObject({ prepay_id: sim.prepay_id, code_url: null, trade_state: 'NOTPAY' });
    expect(paylog.code_url_expires_at).not.toBeNull();

    // the cashier, opened from the shop's page (the Referer its Referrer-Policy sends)
    expect(page.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    const opened = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`).expect(200);
    expect(opened.text).toContain('确认支付');
    const paid = await request(shop.url)
      .post('/wxsim/h5pay/pay')
      .set('Origin', shop.url)
      .type('form')
      .send({ prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package'), token: cashierToken(opened.text), redirect_url: cashier.searchParams.get('redirect_url') });
    expect(paid.status).toBe(302);
    expect(paid.headers.location).toBe(`${shop.url}/pay/${outTradeNo}?returned=1`);

    // back on the shop: the page never takes the return as proof; the notify settles it
    await waitFor('the notify', async () => (await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state === 'SUCCESS');
    const back = await shopper.agent.get(`/pay/${outTradeNo}?returned=1`);
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe(`/pay/${outTradeNo}/success`);
    expect(await ordersOfTrade(knex, outTradeNo).pluck('orders.status')).toEqual(['paid', 'paid']);
    const notify = await knex('notify_log').where({ out_trade_no: outTradeNo, kind: 'pay' }).first('verdict', 'raw_body');
    expect(notify.verdict).toBe('paid');
    expect(notify.raw_body).toContain('<trade_type><![CDATA[MWEB]]></trade_type>');
    // orderquery says how it was paid
    const answer = await v2ClientOf(shop).orderQuery({ outTradeNo });
    expect([answer.tradeState, answer.tradeType]).toEqual(['SUCCESS', 'MWEB']);
    await expectCleanLedger(shop);
  });

  test('back from WeChat without paying: the page says so, asks nothing of WeChat by itself, and Pay works again', async () => {
    const { shopper, outTradeNo, pressed } = await h5Trade(shop);
    expect(pressed.status).toBe(303);
    const back = await shopper.agent.get(`/pay/${outTradeNo}?returned=1`).expect(200);
    expect(back.text).toContain('您刚从微信回来');
    const again = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/h5`);
    expect(again.status).toBe(303);
    expect(new URL(String(again.headers.location)).searchParams.get('prepay_id')).toBe(new URL(String(pressed.headers.location)).searchParams.get('prepay_id'));
    expect((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('NOTPAY');
  });

  test("the cashier refuses a page from another domain, and no Referer at all, with WeChat's sentence, and pays nothing", async () => {
    const { outTradeNo, pressed } = await h5Trade(shop);
    const cashier = new URL(String(pressed.headers.location));
    for (const referer of [undefined, 'https://evil.example.com/pay']) {
      const req = request(shop.url).get(cashier.pathname + cashier.search);
      const res = await (referer ? req.set('Referer', referer) : req);
      expect(res.status).toBe(403);
      expect(res.text).toContain('商家参数格式有误，请联系商家解决');
    }
    // nor may redirect_url lead to another site
    const elsewhere = new URL(cashier);
    elsewhere.searchParams.set('redirect_url', 'https://evil.example.com/');
    expect((await request(shop.url).get(elsewhere.pathname + elsewhere.search).set('Referer', `${shop.url}/`)).status).toBe(403);
    // nor to the shop's own host by another scheme
    elsewhere.searchParams.set('redirect_url', `javascript://${new URL(shop.url).host}/%0Aalert(1)`);
    expect((await request(shop.url).get(elsewhere.pathname + elsewhere.search).set('Referer', `${shop.url}/`)).status).toBe(403);
    expect((await shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('NOTPAY');
  });

  test("the cashier's forms send the payer back to the trade's own domain only, and refuse another site's posts", async () => {
    const { pressed } = await h5Trade(shop);
    const cashier = new URL(String(pressed.headers.location));
    const form = { prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package') };
    const cancel = (fields: Record<string, string>, origin = shop.url) => request(shop.url).post('/wxsim/h5pay/cancel').set('Origin', origin).type('form').send({ ...form, ...fields });
    expect((await cancel({ redirect_url: `${shop.url}/pay/x?returned=1` })).headers.location).toBe(`${shop.url}/pay/x?returned=1`);
    for (const elsewhere of ['https://evil.example.com/phish', 'javascript:alert(1)', `javascript://${new URL(shop.url).host}/%0Aalert(1)`, '//evil.example.com/']) {
      const res = await cancel({ redirect_url: elsewhere });
      expect([elsewhere, res.status, res.headers.location]).toEqual([elsewhere, 200, undefined]);
    }
    expect((await cancel({ redirect_url: `${shop.url}/` }, 'https://evil.example.com')).status).toBe(403);
  });

  test("the cashier refuses a payer whose address is not the order's (spbill_create_ip), to the page and to Pay alike", async () => {
    // the shop saw the shopper at 203.0.113.7 (through its proxy); the cashier is opened from elsewhere
    const { outTradeNo, pressed } = await h5Trade(shop, { 'X-Forwarded-For': '203.0.113.7' });
    expect(pressed.status).toBe(303);
    expect((await shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first('spbill_create_ip')).spbill_create_ip).toBe('203.0.113.7');
    const cashier = new URL(String(pressed.headers.location));
    const refused = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('网络环境未能通过安全验证，请稍后再试');
    // from the order's own address the cashier opens; Pay from another is still refused
    const opened = await request(shop.url).get(cashier.pathname + cashier.search).set('Referer', `${shop.url}/`).set('X-Forwarded-For', '203.0.113.7').expect(200);
    const form = { prepay_id: cashier.searchParams.get('prepay_id'), package: cashier.searchParams.get('package'), token: cashierToken(opened.text) };
    expect((await request(shop.url).post('/wxsim/h5pay/pay').set('Origin', shop.url).type('form').send(form)).status).toBe(403);
    expect((await shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('NOTPAY');
    const paid = await request(shop.url).post('/wxsim/h5pay/pay').set('Origin', shop.url).set('X-Forwarded-For', '203.0.113.7').type('form').send(form);
    expect(paid.status).toBe(200);
    expect((await shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('SUCCESS');
  });

  test('unifiedorder MWEB without scene_info is refused as WeChat refuses it (缺少参数), and makes no trade', async () => {
    const merchant = merchantOf(shop);
    const fields = signFields(
      {
        appid: merchant.appId,
        mch_id: merchant.mchId,
        nonce_str: 'n0nce0000000000000000000000000000'.slice(0, 32),
        body: '示例小店-茉莉花茶',
        out_trade_no: 'H5NOSCENE0000001',
        total_fee: 100,
        spbill_create_ip: '203.0.113.7',
        notify_url: `${shop.url}/wxpay/notify`,
        trade_type: 'MWEB',
      },
      merchant.apiKey,
      'MD5',
    );
    const res = await request(shop.url).post('/wxsim/pay/unifiedorder').type('text/xml').send(buildXml(fields)).expect(200);
    expect(res.text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
    expect(res.text).toContain('缺少参数: scene_info');
    expect(await shop.db.knex('sim_trades').where({ out_trade_no: 'H5NOSCENE0000001' }).first()).toBeUndefined();
  });
});

describe("H5 payment in live mode needs the shopper's public address", () => {
  test('seen only as a private address (a proxy the shop does not trust): the Pay button answers 400 in the shopper\'s language, WeChat is not asked', async () => {
    const shop = await createTestShop({
      env: {
        WXPAY_MODE: 'live',
        WXPAY_APPID: 'wxd930ea5d5a258f4f',
        WXPAY_MCH_ID: '10000100',
        WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d',
        WXPAY_NOTIFY_URL: 'https://shop.example.com/wxpay/notify',
        WXPAY_PFX_PATH: path.resolve(__dirname, '../../fixtures/apiclient_cert.p12'),
        WXPAY_TRADE_TYPES: 'NATIVE,MWEB',
        SHOP_URL: 'https://shop.example.com',
        // said explicitly, as live mode requires: no proxy trusted, so the shop sees 127.0.0.1
        TRUST_PROXY: 'none',
        SWEEP_INTERVAL_SECONDS: '0',
      },
    });
    try {
      const shopper = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.iphone);
      const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
      const refused = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/h5`);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('无法确认您的网络地址');
      expect(await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('prepay_id', 'trade_state')).toEqual({ prepay_id: null, trade_state: 'NOTPAY' });
      // the way out is on the page: a QR code instead
      expect((await shopper.agent.get(`/pay/${outTradeNo}`).expect(200)).text).toContain('name="trade_type" value="NATIVE"');
    } finally {
      await shop.close();
    }
  });
});

describe('a way to pay the shop does not offer', () => {
  test('with only the QR code on (WXPAY_TRADE_TYPES=NATIVE), the H5 and JSAPI doors and the switch to them answer 400 in the shopper\'s language and WeChat is not asked', async () => {
    const shop = await createTestShop({ env: { WXPAY_TRADE_TYPES: 'NATIVE', SWEEP_INTERVAL_SECONDS: '0' } });
    try {
      const knex = shop.db.knex;
      const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.iphone);
      const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
      // the phone is offered the QR code, the only way on (the page orders it at WeChat)
      expect((await shopper.agent.get(`/pay/${outTradeNo}`).expect(200)).text).not.toContain('name="trade_type"');
      const before = await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_type', 'prepay_id', 'code_url', 'trade_state');
      expect(before).toMatchObject({ trade_type: 'NATIVE', trade_state: 'NOTPAY' });

      const h5 = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/h5`);
      expect(h5.status).toBe(400);
      expect(h5.text).toContain('这种支付方式已停用，请改用二维码支付。');

      const jsapi = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/jsapi`, {}, { Accept: 'application/json' });
      expect(jsapi.status).toBe(400);
      expect((jsapi.body as { error: { message: string } }).error.message).toBe('这种支付方式已停用，请改用二维码支付。');

      const switched = await shopper.postFrom(`/pay/${outTradeNo}`, `/pay/${outTradeNo}/switch`, { trade_type: 'MWEB' });
      expect(switched.status).toBe(400);
      expect(switched.text).toContain('没有这种支付方式。');

      // nothing changed: the same NATIVE attempt, no other attempt, nothing else ordered at WeChat
      expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_type', 'prepay_id', 'code_url', 'trade_state')).toEqual(before);
      expect(Number((await knex('paylog').count({ n: '*' }).first())?.n)).toBe(1);
      expect(await knex('sim_trades').pluck('trade_type')).toEqual(['NATIVE']);
    } finally {
      await shop.close();
    }
  });
});
