import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/config-parse';
import { parseWxpayV3 } from '../../src/config-wxpay-v3';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'v3');
const fixture = (name: string) => path.join(FIXTURES, name);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxv3-config-'));
const wechatPublicKey = path.join(dir, 'pub_key.pem');
fs.writeFileSync(wechatPublicKey, crypto.createPublicKey(fs.readFileSync(fixture('platform_key.pem'))).export({ type: 'spki', format: 'pem' }));
const merchantSerial = new crypto.X509Certificate(fs.readFileSync(fixture('merchant_cert.pem'))).serialNumber.toUpperCase();

const GOOD = {
  WXPAY_API_V3_KEY: '0123456789abcdefghijklmnopqrstuv',
  WXPAY_PRIVATE_KEY_PATH: fixture('merchant_key.pem'),
  WXPAY_MERCHANT_CERT_PATH: fixture('merchant_cert.pem'),
  WXPAY_PUBLIC_KEY_PATH: wechatPublicKey,
  WXPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0000000000000024101100397200000006',
};

function refusal(env: Record<string, string | undefined>): string {
  try {
    parseWxpayV3((name) => env[name]);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'accepted';
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('APIv3 credentials at start-up', () => {
  test('none given: a v2-only shop (undefined)', () => {
    expect(parseWxpayV3(() => undefined)).toBeUndefined();
  });

  test('a full public-key-mode set is read: the serial comes from the certificate', () => {
    const v3 = parseWxpayV3((name) => (GOOD as Record<string, string>)[name]);
    expect(v3?.merchantSerial).toBe(merchantSerial);
    expect(v3?.publicKey?.id).toBe(GOOD.WXPAY_PUBLIC_KEY_ID);
  });

  test('an APIv3 key that is not 32 bytes stops start-up naming WXPAY_API_V3_KEY', () => {
    expect(refusal({ ...GOOD, WXPAY_API_V3_KEY: '0123456789abcdef' })).toMatch(/^config: WXPAY_API_V3_KEY must be exactly 32 bytes \(it is 16\)/);
    // 32 characters but not 32 bytes
    expect(refusal({ ...GOOD, WXPAY_API_V3_KEY: '密'.repeat(2) + 'x'.repeat(30) })).toMatch(/^config: WXPAY_API_V3_KEY must be exactly 32 bytes \(it is 36\)/);
  });

  test('a private key that is not the certificate\'s stops start-up naming WXPAY_PRIVATE_KEY_PATH', () => {
    expect(refusal({ ...GOOD, WXPAY_PRIVATE_KEY_PATH: fixture('platform_key.pem') })).toMatch(/^config: WXPAY_PRIVATE_KEY_PATH is not the private key of the certificate/);
  });

  test('a serial that is not the certificate\'s stops start-up naming WXPAY_MERCHANT_SERIAL', () => {
    expect(refusal({ ...GOOD, WXPAY_MERCHANT_SERIAL: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB' })).toMatch(/^config: WXPAY_MERCHANT_SERIAL is 408B/);
  });

  test('a public key file that holds a private key, a certificate, or our own key is refused naming WXPAY_PUBLIC_KEY_PATH', () => {
    expect(refusal({ ...GOOD, WXPAY_PUBLIC_KEY_PATH: fixture('platform_key.pem') })).toMatch(/^config: WXPAY_PUBLIC_KEY_PATH holds a private key/);
    expect(refusal({ ...GOOD, WXPAY_PUBLIC_KEY_PATH: fixture('platform_cert.pem') })).toMatch(/^config: WXPAY_PUBLIC_KEY_PATH holds a certificate/);
    const own = path.join(dir, 'own.pem');
    fs.writeFileSync(own, crypto.createPublicKey(fs.readFileSync(fixture('merchant_key.pem'))).export({ type: 'spki', format: 'pem' }));
    expect(refusal({ ...GOOD, WXPAY_PUBLIC_KEY_PATH: own })).toMatch(/^config: WXPAY_PUBLIC_KEY_PATH is the merchant's own public key/);
  });

  test('half-given sets name what is missing', () => {
    expect(refusal({ WXPAY_PRIVATE_KEY_PATH: GOOD.WXPAY_PRIVATE_KEY_PATH })).toMatch(/^config: WXPAY_API_V3_KEY is required/);
    expect(refusal({ WXPAY_API_V3_KEY: GOOD.WXPAY_API_V3_KEY })).toMatch(/^config: WXPAY_PRIVATE_KEY_PATH is required/);
    expect(refusal({ ...GOOD, WXPAY_MERCHANT_CERT_PATH: undefined })).toMatch(/^config: WXPAY_MERCHANT_SERIAL is required/);
    expect(refusal({ ...GOOD, WXPAY_PUBLIC_KEY_ID: undefined })).toMatch(/^config: WXPAY_PUBLIC_KEY_ID is required/);
    expect(refusal({ ...GOOD, WXPAY_PRIVATE_KEY_PATH: path.join(dir, 'missing.pem') })).toMatch(/^config: WXPAY_PRIVATE_KEY_PATH cannot be read: ENOENT/);
    expect(refusal({ ...GOOD, WXPAY_PRIVATE_KEY_PATH: wechatPublicKey })).toMatch(/^config: WXPAY_PRIVATE_KEY_PATH is not a PEM private key/);
  });
});

describe('which API a live shop orders on follows its credentials', () => {
  const TEST_P12 = path.resolve(__dirname, '..', 'fixtures', 'apiclient_cert.p12');
  const LIVE = { WXPAY_MODE: 'live', WXPAY_APPID: 'wxd930ea5d5a258f4f', WXPAY_MCH_ID: '10000100', WXPAY_NOTIFY_URL: 'https://shop.example.com/wxpay/notify', TRUST_PROXY: '1' };
  const V2 = { WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d', WXPAY_PFX_PATH: TEST_P12 };
  const load = (env: Record<string, string | undefined>) => loadConfig(env as NodeJS.ProcessEnv).wxpay;
  const errorOf = (env: Record<string, string | undefined>): string => {
    try {
      load(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    return 'accepted';
  };

  test('APIv3 credentials alone: v3, with no v2 key or p12 required', () => {
    expect(load({ ...LIVE, ...GOOD })).toMatchObject({ apiVersion: 'v3', v2Enabled: false });
  });

  test('a v2 key alone: v2, as before', () => {
    expect(load({ ...LIVE, ...V2 })).toMatchObject({ apiVersion: 'v2', v2Enabled: true, v3: undefined });
    expect(errorOf({ ...LIVE, ...V2, WXPAY_API_VERSION: 'v3' })).toMatch(/^config: WXPAY_API_VERSION is v3 but the APIv3 credentials are not set/);
  });

  test('both: WXPAY_API_VERSION must say which, and then it is what it says', () => {
    expect(errorOf({ ...LIVE, ...V2, ...GOOD })).toMatch(/^config: WXPAY_API_VERSION must be v2 or v3 when both/);
    expect(load({ ...LIVE, ...V2, ...GOOD, WXPAY_API_VERSION: 'v3' })).toMatchObject({ apiVersion: 'v3', v2Enabled: true });
    expect(load({ ...LIVE, ...V2, ...GOOD, WXPAY_API_VERSION: 'v2' })).toMatchObject({ apiVersion: 'v2', v2Enabled: true });
    expect(errorOf({ ...LIVE, ...V2, ...GOOD, WXPAY_API_VERSION: '3' })).toMatch(/^config: WXPAY_API_VERSION must be v2 or v3 \(got "3"\)/);
  });

  test('neither: the v2 key is asked for, naming the v3 way too', () => {
    expect(errorOf(LIVE)).toMatch(/^config: WXPAY_API_KEY is required when WXPAY_MODE=live \(or the APIv3 credentials/);
  });

  test('live APIv3 without the WeChat Pay public key stops start-up naming WXPAY_PUBLIC_KEY_PATH (certificate mode is not built)', () => {
    expect(errorOf({ ...LIVE, ...GOOD, WXPAY_PUBLIC_KEY_PATH: undefined, WXPAY_PUBLIC_KEY_ID: undefined })).toMatch(/^config: WXPAY_PUBLIC_KEY_PATH is required for APIv3 in live mode/);
  });

  test('APIv3 settings count as real credentials: WXPAY_MODE must then be explicit', () => {
    expect(errorOf({ WXPAY_API_V3_KEY: GOOD.WXPAY_API_V3_KEY })).toMatch(/^config: WXPAY_MODE must be set to live or simulator explicitly when WXPAY_API_V3_KEY is set/);
  });

  test('simulator mode: WXPAY_API_VERSION picks the demo\'s, v2 by default', () => {
    expect(load({}).apiVersion).toBe('v2');
    expect(load({ WXPAY_API_VERSION: 'v3' }).apiVersion).toBe('v3');
  });
});
