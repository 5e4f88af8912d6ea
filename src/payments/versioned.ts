import type { NotifyReply, PaymentProvider } from './port';

/**
 * Several API versions behind the one port: a payment attempt is ordered on the version the shop
 * speaks now (`current`), and everything later about it (query, close, refunds, refund query) goes
 * to the version it was ordered with, as recorded with the attempt; a notify is read by the version
 * whose shape it has (v3's come with Wechatpay-* headers, v2's without), and answered in its way.
 * So a switch of version leaves the trades in flight to settle on the version that made them.
 */

export interface VersionedOptions {
  providers: Readonly<Record<string, PaymentProvider>>;
  current: string;
  /** the version an attempt was ordered with (undefined: not ordered yet) */
  versionOfAttempt(outTradeNo: string): Promise<string | undefined>;
  /** the version of the attempt a refund belongs to */
  versionOfRefund(outRefundNo: string): Promise<string | undefined>;
}

type Headers = Readonly<Record<string, string | string[] | undefined>> | undefined;

/** v3 notifies are signed in their headers; v2's carry their signature in the body. */
export function notifyVersionOf(headers: Headers): 'v2' | 'v3' {
  if (!headers) return 'v2';
  return Object.keys(headers).some((name) => name.toLowerCase() === 'wechatpay-signature' || name.toLowerCase() === 'wechatpay-serial') ? 'v3' : 'v2';
}

export function createVersionedProvider(options: VersionedOptions): PaymentProvider {
  const current = options.providers[options.current];
  if (!current) throw new TypeError(`no provider for the current version ${options.current}`);
  const of = (version: string | undefined): PaymentProvider => (version !== undefined ? options.providers[version] : undefined) ?? current;
  const forNotify = (headers: Headers): PaymentProvider => options.providers[notifyVersionOf(headers)] ?? current;

  return {
    api: current.api,
    notifyMaxBytes: Math.max(...Object.values(options.providers).map((p) => p.notifyMaxBytes)),
    // a re-sent order goes to the version that took it first
    order: async (request) => of(await options.versionOfAttempt(request.outTradeNo)).order(request),
    query: async (outTradeNo) => of(await options.versionOfAttempt(outTradeNo)).query(outTradeNo),
    close: async (outTradeNo) => of(await options.versionOfAttempt(outTradeNo)).close(outTradeNo),
    refund: async (request) => of(await options.versionOfAttempt(request.outTradeNo)).refund(request),
    refundQuery: async (outRefundNo) => of(await options.versionOfRefund(outRefundNo)).refundQuery(outRefundNo),
    bill: (date) => current.bill(date),
    billReadyAt: (date) => current.billReadyAt(date),
    oldestBillDate: (today) => current.oldestBillDate(today),
    bridgeParams: (prepayId, now) => current.bridgeParams(prepayId, now),
    readPaymentNotify: (headers, raw) => forNotify(headers).readPaymentNotify(headers, raw),
    readRefundNotify: (headers, raw) => forNotify(headers).readRefundNotify(headers, raw),
    notifyReply: (answer, headers): NotifyReply => forNotify(headers).notifyReply(answer, headers),
  };
}
