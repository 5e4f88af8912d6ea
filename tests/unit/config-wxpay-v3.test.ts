import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
