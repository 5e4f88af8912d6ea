import type crypto from 'node:crypto';
import type { Config } from '../config';
import type { PaymentProvider } from './port';
import { createVersionedProvider } from './versioned';
import { createWechatV2Provider } from './wechat-v2';
import { createWechatV3Provider, publicKeyring } from './wechat-v3';

/**
 * The payment provider the configuration asks for: WeChat Pay API v2 with the merchant's key
 * (and, for refunds live, its certificate) and/or APIv3 with its private key, APIv3 key and
 * WeChat's public key, behind one port: new attempts are ordered on `wxpay.apiVersion`, each
 * attempt's later calls go to the version it was ordered with. `baseUrl` is WeChat's host live,
 * this app's own /wxsim in simulator mode; `notifyUrl` the public address of /wxpay/notify.
 */
export interface ProviderRun {
  clock: () => Date;
  versionOfAttempt(outTradeNo: string): Promise<string | undefined>;
  versionOfRefund(outRefundNo: string): Promise<string | undefined>;
  /** APIv3: the merchant's credentials and WeChat's public key (live: the configured ones; simulator: its own) */
  v3?: { apiV3Key: string; privateKey: crypto.KeyObject; merchantSerial: string; wechatPublicKey: { id: string; key: crypto.KeyObject } } | undefined;
}

export function createPaymentProvider(wxpay: Config['wxpay'], where: { baseUrl: string; notifyUrl: string; refundNotifyUrl: string }, run?: ProviderRun): PaymentProvider {
  const v2 = wxpay.v2Enabled
    ? createWechatV2Provider({
        appId: wxpay.appId,
        mchId: wxpay.mchId,
        apiKey: wxpay.apiKey,
        signType: wxpay.signType,
        baseUrl: where.baseUrl,
        pfx: wxpay.pfx,
        notifyUrl: where.notifyUrl,
        refundNotifyUrl: where.refundNotifyUrl,
        spbillCreateIp: wxpay.spbillCreateIp,
      })
    : undefined;
  if (!run?.v3) {
    if (!v2) throw new TypeError('neither v2 nor v3 credentials to pay with');
    return v2;
  }
  const { v3: creds } = run;
  const keyring = publicKeyring(creds.wechatPublicKey.id, creds.wechatPublicKey.key);
  const v3 = createWechatV3Provider({
    appId: wxpay.appId,
    mchId: wxpay.mchId,
    apiV3Key: creds.apiV3Key,
    privateKey: creds.privateKey,
    merchantSerial: creds.merchantSerial,
    keyring,
    wechatpaySerial: () => creds.wechatPublicKey.id,
    baseUrl: where.baseUrl,
    notifyUrl: where.notifyUrl,
    refundNotifyUrl: where.refundNotifyUrl,
    clock: run.clock,
  });
  return createVersionedProvider({ providers: v2 ? { v2, v3 } : { v3 }, current: wxpay.apiVersion, versionOfAttempt: run.versionOfAttempt, versionOfRefund: run.versionOfRefund });
}
