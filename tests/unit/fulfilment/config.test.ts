import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config';
import { channelsOf } from '../../../src/outbox';

/** The settings of shipping and alerts (AUTO_COMPLETE_DAYS, ALERT_*): defaults, and one line naming the setting when wrong. */

const LIVE = {
  WXPAY_MODE: 'live',
  WXPAY_PFX_PATH: path.join(__dirname, '..', '..', 'fixtures', 'apiclient_cert.p12'),
  WXPAY_APPID: 'wxd930ea5d5a258f4f',
  WXPAY_MCH_ID: '10000100',
  WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d',
  WXPAY_NOTIFY_URL: 'https://shop.example.com/wxpay/notify',
  TRUST_PROXY: 'none',
};

function messageOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('shipping and alert settings', () => {
  test('by default: completed 10 days after shipment (Taobao\'s rule), alerts in Chinese every 5 s, the demo\'s stand-in robot in simulator mode', () => {
    const config = loadConfig({});
    expect(config.fulfilment).toEqual({ autoCompleteDays: 10 });
    expect(config.alerts).toEqual({ wecom: undefined, dingtalk: undefined, feishu: undefined, webhook: undefined, locale: 'zh', dispatchIntervalSeconds: 5, simulatorRobot: true });
    expect(channelsOf(config.alerts, 'http://127.0.0.1:3000/wxsim/cgi-bin/webhook/send?key=simulator').map((c) => c.name)).toEqual(['wecom']);
    // live mode never sends to a stand-in
    expect(loadConfig(LIVE).alerts.simulatorRobot).toBe(false);
    expect(channelsOf(loadConfig(LIVE).alerts, undefined)).toEqual([]);
  });

  test('every channel on by its URL, the robots with their signing secrets', () => {
    const config = loadConfig({
      ALERT_WECOM_WEBHOOK_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc',
      ALERT_DINGTALK_WEBHOOK_URL: 'https://oapi.dingtalk.com/robot/send?access_token=abc',
      ALERT_DINGTALK_SECRET: 'SEC0123456789abcdef0123',
      ALERT_FEISHU_WEBHOOK_URL: 'https://open.feishu.cn/open-apis/bot/v2/hook/abc',
      ALERT_WEBHOOK_URL: 'https://erp.example.com/hooks/shop',
      ALERT_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
      ALERT_LOCALE: 'en',
      AUTO_COMPLETE_DAYS: '7',
    });
    expect(channelsOf(config.alerts, 'http://stand-in').map((c) => c.name)).toEqual(['wecom', 'dingtalk', 'feishu', 'webhook']);
    expect(config.alerts).toMatchObject({ locale: 'en', simulatorRobot: false, dingtalk: { secret: 'SEC0123456789abcdef0123' }, feishu: { secret: undefined } });
    expect(config.fulfilment.autoCompleteDays).toBe(7);
  });

  test.each([
    [{ AUTO_COMPLETE_DAYS: '0' }, 'config: AUTO_COMPLETE_DAYS must be a whole number of days from 1 to 60 (got "0")'],
    [{ AUTO_COMPLETE_DAYS: 'ten' }, 'config: AUTO_COMPLETE_DAYS must be a whole number of days from 1 to 60 (got "ten")'],
    [{ ALERT_WECOM_WEBHOOK_URL: 'qyapi.weixin.qq.com/send?key=secret' }, 'config: ALERT_WECOM_WEBHOOK_URL must be an http(s):// URL'],
    [{ ALERT_DINGTALK_SECRET: 'SEC0123456789abcdef0123' }, 'config: ALERT_DINGTALK_SECRET is set but ALERT_DINGTALK_WEBHOOK_URL is not'],
    [{ ALERT_DINGTALK_WEBHOOK_URL: 'https://oapi.dingtalk.com/robot/send?access_token=a', ALERT_DINGTALK_SECRET: 'nope' }, 'config: ALERT_DINGTALK_SECRET must be the robot\'s signing secret ("SEC" followed by letters and digits)'],
    [{ ALERT_WEBHOOK_URL: 'https://erp.example.com/hook' }, 'config: ALERT_WEBHOOK_SECRET is required with ALERT_WEBHOOK_URL (receivers check the signature with it)'],
    [{ ALERT_WEBHOOK_URL: 'https://erp.example.com/hook', ALERT_WEBHOOK_SECRET: 'short' }, 'config: ALERT_WEBHOOK_SECRET must be 16-256 printable characters without spaces'],
    [{ ALERT_LOCALE: 'fr' }, 'config: ALERT_LOCALE must be zh or en (got "fr")'],
    [{ ALERT_DISPATCH_INTERVAL_SECONDS: '-1' }, 'config: ALERT_DISPATCH_INTERVAL_SECONDS must be a whole number of seconds from 0 to 3600 (got "-1")'],
    [{ ...LIVE, ALERT_WEBHOOK_URL: 'http://erp.example.com/hook', ALERT_WEBHOOK_SECRET: 'whsec_0123456789abcdef' }, 'config: ALERT_WEBHOOK_URL must be an https:// URL in live mode'],
    [{ ...LIVE, ALERT_WEBHOOK_URL: 'https://erp.example.com/hook', ALERT_WEBHOOK_SECRET: 'whsec_0123456789abcdef' }, "config: SHOP_URL is required when an ALERT_* channel is set in live mode (the alerts link to the shop's admin pages)"],
  ])('%j: %s', (env, message) => {
    expect(messageOf(env)).toBe(message);
  });

  test('a robot URL (its access token) is never echoed back in the error', () => {
    expect(messageOf({ ALERT_FEISHU_WEBHOOK_URL: 'ftp://open.feishu.cn/hook/SECRET-TOKEN' })).not.toContain('SECRET-TOKEN');
  });
});
