import type { Config } from '../config';
import type { PaymentProvider } from './port';
import { createWechatV2Provider } from './wechat-v2';

/**
 * The payment provider the configuration asks for: today WeChat Pay API v2 with the merchant's
 * key (and, for refunds live, its certificate). `baseUrl` is WeChat's host live, this app's own
 * /wxsim in simulator mode; `notifyUrl` the public address of /wxpay/notify.
 */
export function createPaymentProvider(wxpay: Config['wxpay'], where: { baseUrl: string; notifyUrl: string; refundNotifyUrl: string }): PaymentProvider {
  return createWechatV2Provider({
    appId: wxpay.appId,
    mchId: wxpay.mchId,
    apiKey: wxpay.apiKey,
    signType: wxpay.signType,
    baseUrl: where.baseUrl,
    pfx: wxpay.pfx,
    notifyUrl: where.notifyUrl,
    refundNotifyUrl: where.refundNotifyUrl,
    spbillCreateIp: wxpay.spbillCreateIp,
  });
}
