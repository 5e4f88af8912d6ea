import request from 'supertest';
import { WxOauthError, checkJsapiPayParams, exchangeOauthCode, type JsapiPayParams } from '../../../src/wechatpay';
import { waitFor } from '../admin/helpers';
import { expectCleanLedger, v2ClientOf } from '../../helpers/ledger';
import { DeviceShopper, USER_AGENTS, signInWithWechat } from '../../helpers/mobile';
import { merchantOf, shopOnClock } from '../../helpers/settlement';
import { csrfOf } from '../../helpers/shopper';
import type { ManualClock, TestShop } from '../../helpers/app';

/**
 * JSAPI payment inside WeChat's browser, end to end over HTTP through the simulator: the Official
 * Account's web authorization (state bound to the session, single-use codes), unifiedorder JSAPI
 * with the payer's openid, the bridge's six fields and their paySign, the notify, markPaid.
 */

/** Asks the shop for the bridge's parameters, as the pay page's script does (fetch with the CSRF header). */
async function bridgeParams(shopper: DeviceShopper, outTradeNo: string): Promise<{ status: number; body: { params?: JsapiPayParams; redirect?: string; error?: { code: string } } }> {
  const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
  const res = await shopper.agent.post(`/pay/${outTradeNo}/jsapi`).set('X-CSRF-Token', csrfOf(page.text)).set('Accept', 'application/json').type('form').send({});
  return { status: res.status, body: res.body as never };
}

/** What the simulator's WeixinJSBridge sends when the page invokes getBrandWCPayRequest (with this browser's cookies). */
const invokeBridge = (shopper: DeviceShopper, params: object) => shopper.agent.post('/wxsim/jsapi/pay').set('Content-Type', 'application/json').send(params);

async function wechatShopper(shop: TestShop) {
  const shopper = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.wechat);
  const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
  const login = await signInWithWechat(shopper, shop.url, await shopper.agent.get(`/pay/${outTradeNo}`));
  return { shopper, outTradeNo, login };
}

describe("JSAPI payment in WeChat's browser", () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    ({ shop, clock } = await shopOnClock());
  });
  afterAll(async () => {
    await shop.close();
  });

  test("WeChat's browser: the silent web authorization, the bridge with the shop's second signature, and the notify that settles it", async () => {
    const knex = shop.db.knex;
    const shopper = new DeviceShopper(shop.url, knex, USER_AGENTS.wechat);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1], ['GEEK-CBL-01', 1]]);
    expect((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_type')).trade_type).toBe('JSAPI');

    // first the payer's openid: WeChat's authorize URL as its docs spell it
    const first = await shopper.agent.get(`/pay/${outTradeNo}`);
    expect(first.status).toBe(303);
    const authorize = String(first.headers.location);
    expect(authorize).toMatch(new RegExp(`^${shop.url}/wxsim/connect/oauth2/authorize\\?appid=wx0000000000sim001&redirect_uri=${encodeURIComponent(`${shop.url}/pay/oauth`)}&response_type=code&scope=snsapi_base&state=[0-9a-f]{32}#wechat_redirect$`));
    const login = await signInWithWechat(shopper, shop.url, first);
    expect(login.state).toBe(new URL(authorize.replace('#wechat_redirect', '')).searchParams.get('state'));

    // then the page with its Pay button and (simulator mode) the simulator's bridge
    const page = await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    expect(page.text).toContain('id="pay-jsapi"');
    expect(page.text).toContain('<script src="/wxsim/jsbridge.js"></script>');
    expect(page.text).toContain('name="trade_type" value="NATIVE"');

    const { status, body } = await bridgeParams(shopper, outTradeNo);
    expect(status).toBe(200);
    const params = body.params as JsapiPayParams;
    expect(Object.keys(params).sort()).toEqual(['appId', 'nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
    expect(params.appId).toBe(merchantOf(shop).appId);
    expect(params.timeStamp).toMatch(/^\d{10}$/);
    expect(checkJsapiPayParams(params, merchantOf(shop).apiKey)).toMatchObject({ ok: true });
    const paylog = await knex('paylog').where({ out_trade_no: outTradeNo }).first('prepay_id', 'openid');
    expect(params.package).toBe(`prepay_id=${paylog.prepay_id}`);
    const sim = await knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_type', 'openid');
    expect(sim).toEqual({ trade_type: 'JSAPI', openid: paylog.openid });
    // the same prepay_id again on a second press, freshly signed
    const again = (await bridgeParams(shopper, outTradeNo)).body.params as JsapiPayParams;
    expect(again.package).toBe(params.package);

    // the bridge says ok, the page waits: the notify decides
    const answer = await invokeBridge(shopper, params).expect(200);
    expect(answer.body).toEqual({ err_msg: 'get_brand_wcpay_request:ok' });
    await waitFor('the notify', async () => (await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state === 'SUCCESS');
    const notify = await knex('notify_log').where({ out_trade_no: outTradeNo, kind: 'pay' }).first('verdict', 'raw_body');
    expect(notify.verdict).toBe('paid');
    expect(notify.raw_body).toContain(`<openid><![CDATA[${paylog.openid as string}]]></openid>`);
    expect((await shopper.agent.get(`/pay/${outTradeNo}`)).headers.location).toBe(`/pay/${outTradeNo}/success`);
    expect((await v2ClientOf(shop).orderQuery({ outTradeNo })).tradeType).toBe('JSAPI');
    await expectCleanLedger(shop);
  });

  test('a wrong second signature fails loudly at the bridge (支付验证签名失败) and pays nothing; so does each classic mistake', async () => {
    const { shopper, outTradeNo } = await wechatShopper(shop);
    const params = (await bridgeParams(shopper, outTradeNo)).body.params as JsapiPayParams;
    const wrong: [string, object, RegExp][] = [
      // (a nonce surely other than the signed one: the signed one is 32 random letters and digits)
      ['paySign of other fields', { ...params, nonceStr: `${params.nonceStr}-changed` }, /支付验证签名失败/],
      ['signed with another key', { ...params, paySign: '0'.repeat(32) }, /支付验证签名失败/],
      ['signType that is not the algorithm used', { ...params, signType: params.signType === 'MD5' ? 'HMAC-SHA256' : 'MD5' }, /支付验证签名失败/],
      ['timeStamp in milliseconds', { ...params, timeStamp: `${params.timeStamp}000` }, /timeStamp/],
      ['package without prepay_id=', { ...params, package: params.package.slice('prepay_id='.length) }, /package/],
      ['appid in lower case', { appid: params.appId, timeStamp: params.timeStamp, nonceStr: params.nonceStr, package: params.package, signType: params.signType, paySign: params.paySign }, /appId/],
    ];
    for (const [what, body, reason] of wrong) {
      const res = await invokeBridge(shopper, body).expect(200);
      expect([what, res.body.err_msg]).toEqual([what, 'get_brand_wcpay_request:fail']);
      expect([what, reason.test(String(res.body.err_desc))]).toEqual([what, true]);
    }
    expect((await shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('NOTPAY');
    expect((await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('NOTPAY');
  });

  test('another WeChat user cannot pay an order made for this one (the bridge answers fail), and nothing changes', async () => {
    const { shopper, outTradeNo } = await wechatShopper(shop);
    const params = (await bridgeParams(shopper, outTradeNo)).body.params as JsapiPayParams;
    const stranger = await request(shop.url).post('/wxsim/jsapi/pay').set('Content-Type', 'application/json').send(params).expect(200);
    expect(stranger.body.err_msg).toBe('get_brand_wcpay_request:fail');
    expect(stranger.body.err_desc).toContain('当前微信用户与下单用户不一致');
    expect((await shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first('trade_state')).trade_state).toBe('NOTPAY');
  });

  test('a web authorization whose state is not this session\'s is refused with a message; the shopper stays unknown', async () => {
    const shopper = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.wechat);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    const first = await shopper.agent.get(`/pay/${outTradeNo}`).expect(303);
    const authorize = new URL(String(first.headers.location).replace(/#wechat_redirect$/, ''));
    const back = new URL(String((await shopper.agent.get(authorize.pathname + authorize.search).expect(302)).headers.location));
    // another tab's (or another browser's) state with this code
    const forged = await shopper.agent.get(`/pay/oauth?code=${back.searchParams.get('code')}&state=${'0'.repeat(32)}`);
    expect(forged.status).toBe(400);
    expect(forged.text).toContain('微信登录与本次浏览不匹配');
    // and another browser altogether with the right state
    expect((await request(shop.url).get(back.pathname + back.search)).status).toBe(400);
    // still unknown: the pay page sends the shopper to authorize again
    expect((await shopper.agent.get(`/pay/${outTradeNo}`)).status).toBe(303);
    expect((await shopper.agent.post(`/pay/${outTradeNo}/jsapi`).set('X-CSRF-Token', 'x').send({})).status).toBe(403);
  });

  test('a code is good once, and only for a while: the second exchange is 40163, a stale one 40029, a wrong AppSecret 40125', async () => {
    const shopper = new DeviceShopper(shop.url, shop.db.knex, USER_AGENTS.wechat);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    const { code } = await signInWithWechat(shopper, shop.url, await shopper.agent.get(`/pay/${outTradeNo}`));
    const { appId } = merchantOf(shop);
    const secret = shop.app.locals.deps.config.wxpay.oaSecret as string;
    const base = `${shop.url}/wxsim`;
    const refused = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => (err instanceof WxOauthError ? err.errcode : String(err)));
    // the shop exchanged it already: a replay is refused
    expect(await refused(exchangeOauthCode({ base, appId, secret, code }))).toBe(40163);
    // a fresh code, with a wrong AppSecret, then past its 5 minutes
    const fresh = new URL(String((await shopper.agent.get(`/wxsim/connect/oauth2/authorize?appid=${appId}&redirect_uri=${encodeURIComponent(`${shop.url}/pay/oauth`)}&response_type=code&scope=snsapi_base&state=abc`).expect(302)).headers.location)).searchParams.get('code') as string;
    expect(await refused(exchangeOauthCode({ base, appId, secret: 'x'.repeat(32), code: fresh }))).toBe(40125);
    clock.advance(5 * 60 * 1000 + 1000);
    expect(await refused(exchangeOauthCode({ base, appId, secret, code: fresh }))).toBe(40029);
  });

  test('the authorize page refuses a redirect_uri off the registered domain (10003) and an unknown AppID', async () => {
    const { appId } = merchantOf(shop);
    const off = await request(shop.url).get(`/wxsim/connect/oauth2/authorize?appid=${appId}&redirect_uri=${encodeURIComponent('https://evil.example.com/cb')}&response_type=code&scope=snsapi_base&state=s`);
    expect(off.status).toBe(400);
    expect(off.text).toContain('redirect_uri 域名与后台配置不一致');
    const unknown = await request(shop.url).get(`/wxsim/connect/oauth2/authorize?appid=wx1111111111111111&redirect_uri=${encodeURIComponent(`${shop.url}/pay/oauth`)}&response_type=code&scope=snsapi_base&state=s`);
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('appid');
  });
});
