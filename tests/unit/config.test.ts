import path from 'node:path';
import express from 'express';
import { ConfigError, DEFAULT_QR_TTL_SECONDS, SIMULATOR_CONFIRMATION, SIMULATOR_MERCHANT, defaultSpbillCreateIp, loadConfig } from '../../src/config';

/** A real p12 made for these tests (openssl), its passphrase the LIVE mch_id as WeChat's are. */
const TEST_P12 = path.join(__dirname, '..', 'fixtures', 'apiclient_cert.p12');

const LIVE = {
  WXPAY_MODE: 'live',
  WXPAY_PFX_PATH: TEST_P12,
  WXPAY_APPID: 'wxd930ea5d5a258f4f',
  WXPAY_MCH_ID: '10000100',
  WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d',
  WXPAY_NOTIFY_URL: 'https://shop.example.com/wxpay/notify',
  TRUST_PROXY: '1',
};

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('loadConfig', () => {
  test('with no environment at all, the shop runs on embedded PGlite in simulator mode with the simulator merchant', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.pgliteDir).toBe('./data/pglite');
    expect(config.wxpay).toMatchObject({ mode: 'simulator', signType: 'MD5', ...SIMULATOR_MERCHANT, baseUrl: undefined, notifyUrl: undefined });
    expect(config.payQrTtlSeconds).toBe(DEFAULT_QR_TTL_SECONDS);
    expect(DEFAULT_QR_TTL_SECONDS).toBe(900);
    expect(config.metricsToken).toBeUndefined();
  });

  test('spbill_create_ip is WXPAY_SPBILL_CREATE_IP when set, else this machine\'s first non-loopback IPv4', () => {
    expect(loadConfig({ WXPAY_SPBILL_CREATE_IP: '203.0.113.10' }).wxpay.spbillCreateIp).toBe('203.0.113.10');
    expect(loadConfig({ WXPAY_SPBILL_CREATE_IP: '2001:db8::1' }).wxpay.spbillCreateIp).toBe('2001:db8::1');
    const lo = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' } as const;
    const eth = { address: '10.1.2.3', netmask: '255.0.0.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.1.2.3/8' } as const;
    expect(defaultSpbillCreateIp({ lo: [lo], eth0: [eth] })).toBe('10.1.2.3');
    expect(defaultSpbillCreateIp({ lo: [lo] })).toBe('127.0.0.1');
  });

  test('live mode takes the merchant from the environment and defaults to WeChat\'s host', () => {
    const config = loadConfig(LIVE);
    expect(config.wxpay).toMatchObject({ mode: 'live', appId: LIVE.WXPAY_APPID, mchId: LIVE.WXPAY_MCH_ID, apiKey: LIVE.WXPAY_API_KEY, baseUrl: 'https://api.mch.weixin.qq.com' });
  });

  test.each([
    [{ PORT: 'abc' }, 'PORT', 'config: PORT must be an integer between 0 and 65535 (got "abc")'],
    [{ PORT: '70000' }, 'PORT', 'config: PORT must be an integer between 0 and 65535 (got "70000")'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', 'config: DATABASE_URL must be a postgres:// or postgresql:// URL (unset it to use embedded PGlite)'],
    [{ WXPAY_MODE: 'sandbox' }, 'WXPAY_MODE', 'config: WXPAY_MODE must be simulator or live (got "sandbox")'],
    [{ WXPAY_SIGN_TYPE: 'SHA1' }, 'WXPAY_SIGN_TYPE', 'config: WXPAY_SIGN_TYPE must be MD5 or HMAC-SHA256 (got "SHA1")'],
    [{ WXPAY_SPBILL_CREATE_IP: 'shop.example.com' }, 'WXPAY_SPBILL_CREATE_IP', 'config: WXPAY_SPBILL_CREATE_IP must be an IPv4 or IPv6 address (got "shop.example.com")'],
    [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET', undefined],
    [{ PAY_QR_TTL_SECONDS: '9000' }, 'PAY_QR_TTL_SECONDS', undefined],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', undefined],
    [{ TRUST_PROXY: 'yes please!' }, 'TRUST_PROXY', undefined],
    [{ WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: SIMULATOR_CONFIRMATION, WXPAY_PFX_PATH: '/no/such/cert.p12' }, 'WXPAY_PFX_PATH', 'config: WXPAY_PFX_PATH cannot be read: ENOENT (/no/such/cert.p12)'],
    [{ ADMIN_PASSWORD_HASH: 'hunter2' }, 'ADMIN_PASSWORD_HASH', undefined],
    [{ WXPAY_NOTIFY_URL: 'http://shop.example.com/wxpay/notify?x=1' }, 'WXPAY_NOTIFY_URL', 'config: WXPAY_NOTIFY_URL must not have a query string (WeChat drops it)'],
  ])('a bad value (%j) stops start-up with one line naming %s', (env, variable, message) => {
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`config: ${variable} `)).toBe(true);
    expect(err.message).not.toContain('\n');
    if (message) expect(err.message).toBe(message);
  });

  test.each(['WXPAY_APPID', 'WXPAY_MCH_ID', 'WXPAY_API_KEY', 'WXPAY_NOTIFY_URL', 'WXPAY_PFX_PATH'])('live mode without %s refuses to start: secrets have no silent default', (variable) => {
    const env: NodeJS.ProcessEnv = { ...LIVE };
    delete env[variable];
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`config: ${variable} is required when WXPAY_MODE=live`)).toBe(true);
  });

  test('live mode refuses a plain-http notify URL', () => {
    expect(errorOf({ ...LIVE, WXPAY_NOTIFY_URL: 'http://shop.example.com/wxpay/notify' }).variable).toBe('WXPAY_NOTIFY_URL');
  });

  test('a malformed API key is refused without echoing the secret', () => {
    const err = errorOf({ WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: SIMULATOR_CONFIRMATION, WXPAY_API_KEY: 'my-secret-key' });
    expect(err.variable).toBe('WXPAY_API_KEY');
    expect(err.message).not.toContain('my-secret-key');
  });

  test.each([
    [{ WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d' }, 'WXPAY_API_KEY is set'],
    [{ WXPAY_APPID: 'wxd930ea5d5a258f4f' }, 'WXPAY_APPID is set'],
    [{ WXPAY_MCH_ID: '10000100' }, 'WXPAY_MCH_ID is set'],
    [{ WXPAY_PFX_PATH: TEST_P12, WXPAY_MCH_ID: '10000100' }, 'WXPAY_MCH_ID is set'],
    [{ NODE_ENV: 'production' }, 'NODE_ENV=production'],
  ])('fail closed: %j without an explicit WXPAY_MODE does not start in simulator mode', (env, why) => {
    const err = errorOf(env);
    expect(err.variable).toBe('WXPAY_MODE');
    expect(err.message).toBe(`config: WXPAY_MODE must be set to live or simulator explicitly when ${why} (refusing to start in simulator mode by default)`);
    // an explicit choice of the simulator needs its second setting too (see below); live needs the rest of live
    expect(errorOf({ ...env, WXPAY_MODE: 'simulator' }).variable).toBe('WXPAY_SIMULATOR_CONFIRM');
    expect(loadConfig({ ...env, WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: SIMULATOR_CONFIRMATION, TRUST_PROXY: 'none' }).wxpay.mode).toBe('simulator');
  });

  test.each([
    [{ NODE_ENV: 'production', TRUST_PROXY: '1' }, 'NODE_ENV=production'],
    [{ WXPAY_MCH_ID: '10000100' }, 'WXPAY_MCH_ID is set to a merchant\'s own value'],
    [{ WXPAY_APPID: 'wxd930ea5d5a258f4f' }, 'WXPAY_APPID is set to a merchant\'s own value'],
    [{ WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d' }, 'WXPAY_API_KEY is set to a merchant\'s own value'],
    [{ WXPAY_PFX_PATH: TEST_P12, WXPAY_MCH_ID: '10000100' }, 'WXPAY_MCH_ID is set to a merchant\'s own value'],
  ])('simulator mode with %j needs WXPAY_SIMULATOR_CONFIRM=no-real-money, a second setting that says so (exit 2 naming it)', (env, why) => {
    const err = errorOf({ ...env, WXPAY_MODE: 'simulator' });
    expect(err.variable).toBe('WXPAY_SIMULATOR_CONFIRM');
    expect(err.message).toBe(
      `config: WXPAY_SIMULATOR_CONFIRM must be set to no-real-money to run WXPAY_MODE=simulator when ${why}: the simulator pays every order itself, no real money moves (use WXPAY_MODE=live to take payments)`,
    );
    expect(loadConfig({ ...env, WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'no-real-money' }).wxpay.mode).toBe('simulator');
    // any other word is refused, naming the setting
    expect(errorOf({ ...env, WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'yes' }).variable).toBe('WXPAY_SIMULATOR_CONFIRM');
  });

  test("simulator mode with the simulator's own merchant ids, outside production, needs no second setting", () => {
    const own = { WXPAY_MODE: 'simulator', WXPAY_APPID: SIMULATOR_MERCHANT.appId, WXPAY_MCH_ID: SIMULATOR_MERCHANT.mchId, WXPAY_API_KEY: SIMULATOR_MERCHANT.apiKey };
    expect(loadConfig(own).wxpay.mode).toBe('simulator');
  });

  test('a certificate that does not open with the mch_id as passphrase stops start-up, naming WXPAY_PFX_PATH', () => {
    expect(loadConfig(LIVE).wxpay.pfx?.length).toBeGreaterThan(0);
    // the same p12 for another merchant: its passphrase (the mch_id) does not open it
    const wrongPassphrase = errorOf({ ...LIVE, WXPAY_MCH_ID: '10000199' });
    expect(wrongPassphrase.variable).toBe('WXPAY_PFX_PATH');
    expect(wrongPassphrase.message).toMatch(/^config: WXPAY_PFX_PATH does not open as a p12 with the mch_id as passphrase: .*mac verify failure/);
    // a file that is no p12 at all
    expect(errorOf({ ...LIVE, WXPAY_PFX_PATH: __filename }).variable).toBe('WXPAY_PFX_PATH');
  });

  test('METRICS_TOKEN: taken when long enough, refused without echoing it when not', () => {
    expect(loadConfig({ METRICS_TOKEN: 'a-long-enough-token-123' }).metricsToken).toBe('a-long-enough-token-123');
    const err = errorOf({ METRICS_TOKEN: 'short-secret' });
    expect(err.variable).toBe('METRICS_TOKEN');
    expect(err.message).not.toContain('short-secret');
  });

  test('the ways to pay: all three in simulator mode, the QR code alone in live mode unless listed', () => {
    expect(loadConfig({}).wxpay.tradeTypes).toEqual(['NATIVE', 'MWEB', 'JSAPI']);
    expect(loadConfig({}).wxpay.oaSecret).toBe(SIMULATOR_MERCHANT.oaSecret);
    expect(loadConfig(LIVE).wxpay.tradeTypes).toEqual(['NATIVE']);
    expect(loadConfig(LIVE).shopUrl).toBeUndefined();
    const mobile = loadConfig({ ...LIVE, WXPAY_TRADE_TYPES: 'native, mweb,JSAPI', WXPAY_OA_SECRET: 'a'.repeat(32), SHOP_URL: 'https://shop.example.com/' });
    expect(mobile.wxpay.tradeTypes).toEqual(['NATIVE', 'MWEB', 'JSAPI']);
    expect(mobile.wxpay.oaSecret).toBe('a'.repeat(32));
    expect(mobile.shopUrl).toBe('https://shop.example.com');
  });

  test.each([
    ['a way WeChat has not', { WXPAY_TRADE_TYPES: 'NATIVE,APP' }, 'WXPAY_TRADE_TYPES', /lists "APP"/],
    ['no QR code for desktops', { WXPAY_TRADE_TYPES: 'MWEB' }, 'WXPAY_TRADE_TYPES', /must include NATIVE/],
    ['JSAPI live without the AppSecret', { ...LIVE, WXPAY_TRADE_TYPES: 'NATIVE,JSAPI', SHOP_URL: 'https://shop.example.com' }, 'WXPAY_OA_SECRET', /is required/],
    ['an AppSecret that is not one', { WXPAY_OA_SECRET: 'short' }, 'WXPAY_OA_SECRET', /32-character/],
    ['H5 live without the address shoppers open', { ...LIVE, WXPAY_TRADE_TYPES: 'NATIVE,MWEB' }, 'SHOP_URL', /is required when WXPAY_TRADE_TYPES lists MWEB or JSAPI/],
    ['a shop address over plain http in live mode', { ...LIVE, WXPAY_TRADE_TYPES: 'NATIVE,MWEB', SHOP_URL: 'http://shop.example.com' }, 'SHOP_URL', /https/],
    ['a shop address with a path', { SHOP_URL: 'https://shop.example.com/shop' }, 'SHOP_URL', /scheme and host only/],
  ] as const)('%s stops start-up naming the variable', (_name, env, variable, message) => {
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(message);
    // the secret is never echoed
    expect(err.message).not.toContain('short');
  });

  describe('TRUST_PROXY', () => {
    /** what Express makes of a value config accepted: its compiled trust function */
    const expressTrust = (value: unknown) => {
      const app = express();
      app.set('trust proxy', value);
      return app.get('trust proxy fn') as (address: string, i: number) => boolean;
    };

    test.each([
      ['none', false],
      ['false', false],
      ['1', 1],
      ['2', 2],
      ['loopback', ['loopback']],
      ['loopback, 10.0.0.0/8, uniquelocal', ['loopback', '10.0.0.0/8', 'uniquelocal']],
      ['172.18.0.2,2001:db8::/32,fe80::1', ['172.18.0.2', '2001:db8::/32', 'fe80::1']],
      ['linklocal', ['linklocal']],
    ])('%j is taken as %j, and Express accepts it', (raw, value) => {
      const config = loadConfig({ TRUST_PROXY: raw });
      expect(config.trustProxy).toEqual(value);
      expect(() => expressTrust(config.trustProxy)).not.toThrow();
    });

    test.each(['yes', 'True', 'TRUE', 'true', 'loopbak', '1.5', '/33', '10.0.0.0/33', '::1/129', '0', '11', '-1', 'loopback,', '10.0.0.1 10.0.0.2', 'None'])(
      '%j stops start-up with one line naming TRUST_PROXY',
      (raw) => {
        const err = errorOf({ TRUST_PROXY: raw });
        expect(err.variable).toBe('TRUST_PROXY');
        expect(err.message.startsWith('config: TRUST_PROXY must')).toBe(true);
        expect(err.message).not.toContain('\n');
      },
    );

    test.each([
      [{ ...LIVE, TRUST_PROXY: undefined }, 'in live mode'],
      [{ NODE_ENV: 'production', WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'no-real-money' }, 'with NODE_ENV=production'],
    ])('required explicitly (%j): exit 2 naming it, and "none" is an answer', (env, where) => {
      const err = errorOf(env);
      expect(err.variable).toBe('TRUST_PROXY');
      expect(err.message).toMatch(new RegExp(`^config: TRUST_PROXY must be set explicitly ${where}: 1 behind the nginx of deploy/ .*none when browsers reach the shop directly`));
      expect(loadConfig({ ...env, TRUST_PROXY: 'none' }).trustProxy).toBe(false);
    });

    test('the bare demo needs none: no proxy is trusted', () => {
      expect(loadConfig({}).trustProxy).toBe(false);
    });
  });

  test.each([
    ['WXPAY_NOTIFY_URL', 'https://shop.example.com/wxpay/notify#frag', /must not have a fragment/],
    ['WXPAY_NOTIFY_URL', 'https://localhost/wxpay/notify', /reachable from the internet, not localhost/],
    ['WXPAY_NOTIFY_URL', 'https://shop.localhost/wxpay/notify', /reachable from the internet/],
    ['WXPAY_NOTIFY_URL', 'https://127.0.0.1/wxpay/notify', /private or loopback address 127\.0\.0\.1/],
    ['WXPAY_NOTIFY_URL', 'https://[::1]/wxpay/notify', /private or loopback address \[::1\]/],
    ['WXPAY_NOTIFY_URL', 'https://192.168.1.10/wxpay/notify', /private or loopback/],
    ['WXPAY_NOTIFY_URL', 'https://user:pw@shop.example.com/wxpay/notify', /user name or password/],
    ['SHOP_URL', 'https://shop.example.com/#', /scheme and host only/],
    ['SHOP_URL', 'https://localhost', /reachable from the internet, not localhost/],
    ['SHOP_URL', 'https://127.0.0.1:8443', /private or loopback address 127\.0\.0\.1/],
    ['SHOP_URL', 'https://10.1.2.3', /private or loopback/],
  ])('live mode refuses %s=%s, naming it', (variable, value, message) => {
    const err = errorOf({ ...LIVE, WXPAY_TRADE_TYPES: 'NATIVE,MWEB', SHOP_URL: 'https://shop.example.com', [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(message);
  });

  test('simulator mode takes loopback addresses (a laptop), but never a fragment', () => {
    expect(loadConfig({ WXPAY_NOTIFY_URL: 'http://127.0.0.1:3000/wxpay/notify', SHOP_URL: 'http://localhost:3000' }).shopUrl).toBe('http://localhost:3000');
    expect(errorOf({ WXPAY_NOTIFY_URL: 'http://127.0.0.1:3000/wxpay/notify#x' }).variable).toBe('WXPAY_NOTIFY_URL');
  });

  test('HOST: this machine only unless said otherwise', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '[::1]' }).host).toBe('::1');
    expect(errorOf({ HOST: 'not a host!' }).variable).toBe('HOST');
  });

  test('blank values count as unset', () => {
    expect(loadConfig({ PORT: '  ', DATABASE_URL: '' }).port).toBe(3000);
  });
});
