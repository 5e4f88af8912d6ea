import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SIMULATOR_MERCHANT } from '../../src/config';
import { apiVersionOfAttempt, apiVersionOfRefund } from '../../src/ledger';
import type { PaymentProvider } from '../../src/payments';
import { createVersionedProvider } from '../../src/payments/versioned';
import { createWechatV2Provider } from '../../src/payments/wechat-v2';
import { createWechatV3Provider } from '../../src/payments/wechat-v3';
import { WechatKeyring } from '../../src/wechatpay/v3';
import type { StartOverrides } from '../../src/main';
import { createTestShop, type TestShop } from './app';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'v3');

/** A merchant's v3 credentials (test key material from tests/fixtures/v3). */
export const V3_MERCHANT = {
  apiV3Key: 'v3simulatorkey000000000000000032',
  privateKey: crypto.createPrivateKey(fs.readFileSync(path.join(FIXTURES, 'merchant_key.pem'))),
  certificatePem: fs.readFileSync(path.join(FIXTURES, 'merchant_cert.pem'), 'utf8'),
  serial: new crypto.X509Certificate(fs.readFileSync(path.join(FIXTURES, 'merchant_cert.pem'))).serialNumber.toUpperCase(),
};

export interface V3Shop {
  shop: TestShop;
  /** the shop's provider: v2 and v3 behind the port, ordering on `current` */
  payments: PaymentProvider;
  /** the v3 adapter alone (its keyring holds the simulator's public key) */
  v3: PaymentProvider;
  keyring: WechatKeyring;
  /** the same two adapters on the same database, ordering on another version (as after a switch) */
  speaking(current: 'v2' | 'v3'): PaymentProvider;
}

/**
 * The shop on APIv3 against its own simulator over real HTTP: the simulator takes the merchant's v3
 * credentials, the shop gets the simulator's WeChat Pay public key under its PUB_KEY_ID, and the
 * port holds both versions (each attempt's calls go to the version it was ordered with).
 */
export async function createV3Shop(options: { env?: NodeJS.ProcessEnv; current?: 'v2' | 'v3'; clock?: () => Date } = {}): Promise<V3Shop> {
  let made: Omit<V3Shop, 'shop'> | undefined;
  const payments: StartOverrides['payments'] = async ({ baseUrl, notifyUrl, refundNotifyUrl, simulator, db, clock }) => {
    if (!simulator) throw new Error('the v3 shop is tested against its own simulator');
    const merchant = { appId: SIMULATOR_MERCHANT.appId, mchId: SIMULATOR_MERCHANT.mchId, apiKey: SIMULATOR_MERCHANT.apiKey };
    await simulator.ensureMerchant({ ...merchant, v3: { apiV3Key: V3_MERCHANT.apiV3Key, merchantSerial: V3_MERCHANT.serial, merchantPublicKeyPem: V3_MERCHANT.certificatePem } });
    const published = simulator.v3PublicKey;
    const keyring = new WechatKeyring().addPublicKey(published.id, crypto.createPublicKey(published.pem));
    const v3 = createWechatV3Provider({
      appId: merchant.appId,
      mchId: merchant.mchId,
      apiV3Key: V3_MERCHANT.apiV3Key,
      privateKey: V3_MERCHANT.privateKey,
      merchantSerial: V3_MERCHANT.serial,
      keyring,
      wechatpaySerial: () => published.id,
      baseUrl,
      notifyUrl,
      refundNotifyUrl,
      clock,
    });
    const v2 = createWechatV2Provider({ ...merchant, signType: 'MD5', baseUrl, pfx: undefined, notifyUrl, refundNotifyUrl, spbillCreateIp: '127.0.0.1' });
    const speaking = (current: 'v2' | 'v3') =>
      createVersionedProvider({
        providers: { v2, v3 },
        current,
        versionOfAttempt: (outTradeNo) => apiVersionOfAttempt(db.knex, outTradeNo),
        versionOfRefund: (outRefundNo) => apiVersionOfRefund(db.knex, outRefundNo),
      });
    const versioned = speaking(options.current ?? 'v3');
    made = { payments: versioned, v3, keyring, speaking };
    return versioned;
  };
  const shop = await createTestShop({ env: { SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0', ...options.env }, clock: options.clock, payments });
  if (!made) throw new Error('the payments factory was not called');
  return { shop, ...made };
}
