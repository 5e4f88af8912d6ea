import { deviceOf, switchFor, tradeTypeFor } from '../../src/http/device';

const UA = {
  chromeDesktop: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  iphoneSafari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  androidChrome: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  huaweiBrowser: 'Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/99.0 HuaweiBrowser/14.0 Mobile Safari/537.36',
  wechatIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800322b) NetType/WIFI Language/zh_CN',
  wechatAndroid: 'Mozilla/5.0 (Linux; Android 14; V2302A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0 XWEB/1220099 MMWEBSDK/20240404 MMWEBID/1234 MicroMessenger/8.0.49.2600(0x2800313D) WeChat/arm64 Weixin NetType/5G Language/zh_CN ABI/arm64',
  wechatWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13)',
};
const ALL = ['NATIVE', 'MWEB', 'JSAPI'] as const;

describe('the way to pay follows the device', () => {
  test.each([
    ['Chrome on a desktop', UA.chromeDesktop, 'desktop', 'NATIVE', undefined],
    ['Safari on a Mac', UA.safariMac, 'desktop', 'NATIVE', undefined],
    ["an iPhone's Safari", UA.iphoneSafari, 'phone', 'MWEB', 'NATIVE'],
    ["an Android phone's Chrome", UA.androidChrome, 'phone', 'MWEB', 'NATIVE'],
    ["Huawei's browser", UA.huaweiBrowser, 'phone', 'MWEB', 'NATIVE'],
    ["WeChat's browser on an iPhone", UA.wechatIphone, 'wechat', 'JSAPI', 'NATIVE'],
    ["WeChat's browser on Android", UA.wechatAndroid, 'wechat', 'JSAPI', 'NATIVE'],
    ["WeChat's desktop app", UA.wechatWindows, 'wechat', 'JSAPI', 'NATIVE'],
    ['no user agent at all', undefined, 'desktop', 'NATIVE', undefined],
  ] as const)('%s', (_name, ua, device, tradeType, away) => {
    expect(deviceOf(ua)).toBe(device);
    expect(tradeTypeFor(deviceOf(ua), ALL)).toBe(tradeType);
    // the switch leads to a QR code and back again
    expect(switchFor(deviceOf(ua), tradeType, ALL)).toBe(away);
    if (away) expect(switchFor(deviceOf(ua), away, ALL)).toBe(tradeType);
  });

  test('a way the merchant has not enabled falls back to the QR code, with no switch', () => {
    expect(tradeTypeFor('phone', ['NATIVE', 'JSAPI'])).toBe('NATIVE');
    expect(tradeTypeFor('wechat', ['NATIVE', 'MWEB'])).toBe('NATIVE');
    expect(switchFor('phone', 'NATIVE', ['NATIVE'])).toBeUndefined();
    expect(switchFor('wechat', 'NATIVE', ['NATIVE', 'MWEB'])).toBeUndefined();
  });

  test('an attempt of a way the merchant stopped offering can always go to the QR code', () => {
    expect(switchFor('phone', 'MWEB', ['NATIVE'])).toBe('NATIVE');
    expect(switchFor('wechat', 'JSAPI', ['NATIVE', 'MWEB'])).toBe('NATIVE');
  });
});
