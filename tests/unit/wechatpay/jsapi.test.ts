import { checkJsapiPayParams, h5SceneInfo, jsapiPayParams, oauthAuthorizeUrl } from '../../../src/wechatpay';

// The key and AppID of WECHATPAY.md's signing vector; a prepay_id and nonce in WeChat's formats.
// The expected signatures were computed outside this code:
//   printf '%s' 'appId=wxd930ea5d5a258f4f&nonceStr=5K8264ILTKCH16CQ2502SI8ZNMTM67VS&package=prepay_id=wx201410272009395522657a690389285100&signType=MD5&timeStamp=1414561699&key=192006250b4c09247ec02edce69f6a2d' | md5sum
//   printf '%s' '...&signType=HMAC-SHA256&timeStamp=1414561699&key=192006250b4c09247ec02edce69f6a2d' | openssl dgst -sha256 -hmac 192006250b4c09247ec02edce69f6a2d
const KEY = '192006250b4c09247ec02edce69f6a2d';
const AT = new Date(1414561699 * 1000 + 999); // milliseconds never reach timeStamp
const base = { appId: 'wxd930ea5d5a258f4f', prepayId: 'wx201410272009395522657a690389285100', apiKey: KEY, now: AT, nonce: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS' };

describe('JSAPI: the bridge parameters and their second signature (paySign)', () => {
  test('MD5: the known vector', () => {
    expect(jsapiPayParams({ ...base, signType: 'MD5' })).toEqual({
      appId: 'wxd930ea5d5a258f4f',
      timeStamp: '1414561699',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'MD5',
      paySign: 'FD19D752A746E5F238A6E53BD99EEBD0',
    });
  });

  test('HMAC-SHA256: the known vector, signType signed with it', () => {
    expect(jsapiPayParams({ ...base, signType: 'HMAC-SHA256' }).paySign).toBe('FC7A79E4918B4FFA96E836F5AD4A510F31241FB46C14C971D6D7B4F8E15AF262');
  });

  test("the bridge's check accepts them, and refuses each classic mistake with the reason", () => {
    const good = jsapiPayParams({ ...base, signType: 'MD5' });
    expect(checkJsapiPayParams(good, KEY)).toEqual({ ok: true, prepayId: base.prepayId });
    // a field the page adds is not signed, and changes nothing
    expect(checkJsapiPayParams({ ...good, extra: 'x' }, KEY).ok).toBe(true);
    const { appId, ...noAppId } = good;
    expect(checkJsapiPayParams({ ...noAppId, appid: appId }, KEY)).toMatchObject({ ok: false, reason: 'missing_field' });
    expect(checkJsapiPayParams({ ...good, timeStamp: `${good.timeStamp}000` }, KEY)).toMatchObject({ ok: false, reason: 'bad_timestamp' });
    expect(checkJsapiPayParams({ ...good, package: base.prepayId }, KEY)).toMatchObject({ ok: false, reason: 'bad_package' });
    expect(checkJsapiPayParams({ ...good, signType: 'SHA1' }, KEY)).toMatchObject({ ok: false, reason: 'bad_sign_type' });
    // signed as MD5 but declared HMAC-SHA256; signed with another key; one field changed after signing
    expect(checkJsapiPayParams({ ...good, signType: 'HMAC-SHA256' }, KEY)).toMatchObject({ ok: false, reason: 'bad_pay_sign' });
    expect(checkJsapiPayParams(good, 'another0key0000000000000000000000')).toMatchObject({ ok: false, reason: 'bad_pay_sign' });
    expect(checkJsapiPayParams({ ...good, nonceStr: 'x' + good.nonceStr.slice(1) }, KEY)).toMatchObject({ ok: false, reason: 'bad_pay_sign' });
    // the first signature's field names (lower case) sign something else
    expect(checkJsapiPayParams({ ...good, paySign: jsapiPayParams({ ...base, signType: 'MD5', appId: 'WXD930EA5D5A258F4F' }).paySign }, KEY)).toMatchObject({ ok: false, reason: 'bad_pay_sign' });
  });
});

describe('H5 and the Official Account', () => {
  test("scene_info is WeChat's h5_info JSON, the same text every time", () => {
    expect(h5SceneInfo({ url: 'https://shop.example.com', name: '示例小店' })).toBe('{"h5_info":{"type":"Wap","wap_url":"https://shop.example.com","wap_name":"示例小店"}}');
  });

  test("the authorize URL: WeChat's parameter order, the redirect encoded once, #wechat_redirect last", () => {
    expect(oauthAuthorizeUrl({ appId: 'wx520c15f417810387', redirectUri: 'https://shop.example.com/wxpay/oauth?to=/pay/1', state: 'abc123' })).toBe(
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx520c15f417810387&redirect_uri=https%3A%2F%2Fshop.example.com%2Fwxpay%2Foauth%3Fto%3D%2Fpay%2F1&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect',
    );
    expect(() => oauthAuthorizeUrl({ appId: 'wx1', redirectUri: 'https://x', state: 'has space' })).toThrow(/state/);
  });
});
