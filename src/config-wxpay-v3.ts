import fs from 'node:fs';
import type crypto from 'node:crypto';
import { ConfigError } from './config-parse';
import { KeyMaterialError, keysMatch, readCertificate, readPrivateKey, readPublicKey } from './wechatpay/v3/keys';

/**
 * The APIv3 credentials (WECHATPAY-V3.md), read and checked at start-up: a bad or half-given one
 * stops start-up with one line naming the setting, never a failure at the first payment.
 *
 * WXPAY_API_V3_KEY          the APIv3 key, exactly 32 bytes
 * WXPAY_PRIVATE_KEY_PATH    the merchant private key (apiclient_key.pem)
 * WXPAY_MERCHANT_CERT_PATH  its certificate (apiclient_cert.pem): gives the serial and proves the key matches
 * WXPAY_MERCHANT_SERIAL     the certificate's serial, when the certificate is not given (then unchecked against the key)
 * WXPAY_PUBLIC_KEY_PATH     the WeChat Pay public key (pub_key.pem) ...
 * WXPAY_PUBLIC_KEY_ID       ... and its id PUB_KEY_ID_… (public-key mode; certificate mode keeps its certificates in the database)
 */

export interface WxpayV3Credentials {
  apiV3Key: string;
  privateKey: crypto.KeyObject;
  /** the merchant certificate's serial, upper-case hex */
  merchantSerial: string;
  /** public-key mode: WeChat's public key and its id; undefined in certificate mode */
  publicKey: { id: string; key: crypto.KeyObject } | undefined;
}

export const V3_SETTINGS = ['WXPAY_API_V3_KEY', 'WXPAY_PRIVATE_KEY_PATH', 'WXPAY_MERCHANT_CERT_PATH', 'WXPAY_MERCHANT_SERIAL', 'WXPAY_PUBLIC_KEY_PATH', 'WXPAY_PUBLIC_KEY_ID'] as const;

function readFile(variable: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(variable, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)} (${file})`);
  }
}

function material<T>(variable: string, file: string, read: (pem: Buffer) => T): T {
  try {
    return read(readFile(variable, file));
  } catch (err) {
    if (err instanceof KeyMaterialError) throw new ConfigError(variable, `${err.message} (${file})`);
    throw err;
  }
}

/** The v3 credentials from the environment; undefined when none of them is set (a v2-only shop). */
export function parseWxpayV3(get: (name: string) => string | undefined): WxpayV3Credentials | undefined {
  if (V3_SETTINGS.every((name) => get(name) === undefined)) return undefined;
  const apiV3Key = get('WXPAY_API_V3_KEY');
  if (apiV3Key === undefined) throw new ConfigError('WXPAY_API_V3_KEY', 'is required with the other APIv3 settings (the APIv3 key set on the merchant platform)');
  const keyBytes = Buffer.byteLength(apiV3Key, 'utf8');
  if (keyBytes !== 32) throw new ConfigError('WXPAY_API_V3_KEY', `must be exactly 32 bytes (it is ${keyBytes}): the APIv3 key, not the v2 API key or the public key id`);

  const privateKeyPath = get('WXPAY_PRIVATE_KEY_PATH');
  if (privateKeyPath === undefined) throw new ConfigError('WXPAY_PRIVATE_KEY_PATH', 'is required with WXPAY_API_V3_KEY (the merchant private key apiclient_key.pem)');
  const privateKey = material('WXPAY_PRIVATE_KEY_PATH', privateKeyPath, readPrivateKey);

  const certPath = get('WXPAY_MERCHANT_CERT_PATH');
  const serialRaw = get('WXPAY_MERCHANT_SERIAL');
  let merchantSerial: string;
  if (certPath !== undefined) {
    const cert = material('WXPAY_MERCHANT_CERT_PATH', certPath, readCertificate);
    if (!keysMatch(privateKey, cert.publicKey)) throw new ConfigError('WXPAY_PRIVATE_KEY_PATH', `is not the private key of the certificate in WXPAY_MERCHANT_CERT_PATH (serial ${cert.serial})`);
    if (serialRaw !== undefined && serialRaw.toUpperCase() !== cert.serial) {
      throw new ConfigError('WXPAY_MERCHANT_SERIAL', `is ${serialRaw} but the certificate in WXPAY_MERCHANT_CERT_PATH has serial ${cert.serial}`);
    }
    merchantSerial = cert.serial;
  } else {
    if (serialRaw === undefined) throw new ConfigError('WXPAY_MERCHANT_SERIAL', 'is required with WXPAY_PRIVATE_KEY_PATH (the merchant certificate serial), or give WXPAY_MERCHANT_CERT_PATH');
    if (!/^[0-9A-Fa-f]{8,40}$/.test(serialRaw)) throw new ConfigError('WXPAY_MERCHANT_SERIAL', `must be the certificate serial in hex (got ${JSON.stringify(serialRaw)})`);
    merchantSerial = serialRaw.toUpperCase();
  }

  const publicKeyPath = get('WXPAY_PUBLIC_KEY_PATH');
  const publicKeyId = get('WXPAY_PUBLIC_KEY_ID');
  let publicKey: WxpayV3Credentials['publicKey'];
  if (publicKeyPath !== undefined || publicKeyId !== undefined) {
    if (publicKeyPath === undefined) throw new ConfigError('WXPAY_PUBLIC_KEY_PATH', 'is required with WXPAY_PUBLIC_KEY_ID (the WeChat Pay public key pub_key.pem)');
    if (publicKeyId === undefined) throw new ConfigError('WXPAY_PUBLIC_KEY_ID', 'is required with WXPAY_PUBLIC_KEY_PATH (the PUB_KEY_ID_… shown beside the key)');
    if (!/^PUB_KEY_ID_[0-9A-Za-z_]{1,64}$/.test(publicKeyId)) throw new ConfigError('WXPAY_PUBLIC_KEY_ID', `must be the id PUB_KEY_ID_… (got ${JSON.stringify(publicKeyId)})`);
    const key = material('WXPAY_PUBLIC_KEY_PATH', publicKeyPath, readPublicKey);
    if (keysMatch(privateKey, key)) throw new ConfigError('WXPAY_PUBLIC_KEY_PATH', "is the merchant's own public key, not WeChat Pay's (pub_key.pem from the merchant platform)");
    publicKey = { id: publicKeyId, key };
  }
  return { apiV3Key, privateKey, merchantSerial, publicKey };
}

/**
 * Which API the shop orders on (WXPAY_API_VERSION), from the credentials it is given: APIv3
 * credentials alone -> v3, a v2 key alone -> v2, both -> WXPAY_API_VERSION must say (attempts
 * made on the other keep settling on it). Simulator mode: WXPAY_API_VERSION picks the demo's (v2
 * by default). Live v3 needs the WeChat Pay public key (certificate mode is not built yet).
 */
export function chooseApiVersion(get: (name: string) => string | undefined, given: { live: boolean; v2Key: boolean; v3: WxpayV3Credentials | undefined }): 'v2' | 'v3' {
  const raw = get('WXPAY_API_VERSION');
  if (raw !== undefined && raw !== 'v2' && raw !== 'v3') throw new ConfigError('WXPAY_API_VERSION', `must be v2 or v3 (got ${JSON.stringify(raw)})`);
  if (!given.live) return raw ?? 'v2';
  let version: 'v2' | 'v3';
  if (given.v3 && given.v2Key) {
    if (raw === undefined) throw new ConfigError('WXPAY_API_VERSION', 'must be v2 or v3 when both the v2 key (WXPAY_API_KEY) and the APIv3 credentials are set: say which one new payments use');
    version = raw;
  } else if (given.v3) {
    if (raw === 'v2') throw new ConfigError('WXPAY_API_VERSION', 'is v2 but WXPAY_API_KEY (the v2 key) is not set');
    version = 'v3';
  } else {
    if (raw === 'v3') throw new ConfigError('WXPAY_API_VERSION', 'is v3 but the APIv3 credentials are not set (WXPAY_API_V3_KEY, WXPAY_PRIVATE_KEY_PATH, WXPAY_MERCHANT_CERT_PATH or WXPAY_MERCHANT_SERIAL, WXPAY_PUBLIC_KEY_PATH and WXPAY_PUBLIC_KEY_ID)');
    version = 'v2';
  }
  if (given.v3 && !given.v3.publicKey) {
    throw new ConfigError('WXPAY_PUBLIC_KEY_PATH', 'is required for APIv3 in live mode with WXPAY_PUBLIC_KEY_ID (the WeChat Pay public key; platform-certificate mode is not supported yet)');
  }
  return version;
}
