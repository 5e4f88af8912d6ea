import {
  NOTIFY_MAX_BYTES,
  WxBusinessError,
  WxPayError,
  WxReturnError,
  billTimes,
  createWxPayClient,
  h5SceneInfo,
  jsapiPayParams,
  oldestBillDate,
  parseBeijingForPeople,
  parseBeijingTime,
  type OrderQueryResult,
  type WxPayClient,
  type WxPayClientOptions,
} from '../wechatpay';
import { dayBillOf } from './wechat-v2-bill';
import { readV2PaymentNotify, readV2RefundNotify, v2NotifyReply } from './wechat-v2-notify';
import { ProviderError, type PaymentProvider, type ProviderSaid, type RefundHold, type TradeFacts } from './port';

/**
 * The payment port's first adapter: WeChat Pay API v2 (XML, MD5 or HMAC-SHA256 with the API key,
 * refunds over mutual TLS), on src/wechatpay's client. Every err_code, return_msg and time format
 * of v2 is read here and nowhere above: the shop gets the port's facts.
 */

export interface WechatV2Options extends WxPayClientOptions {
  /** where WeChat sends payment notifies (and, with its last segment `refund-notify`, refund notifies) */
  notifyUrl: string;
  refundNotifyUrl: string;
  /** unifiedorder's spbill_create_ip for NATIVE and JSAPI: the machine calling WeChat (H5 sends the payer's own) */
  spbillCreateIp: string;
}

/**
 * Refusals after which WeChat certainly did not and will not make the refund: the refund is closed
 * and its amount free again. Any other refusal is not taken as final (unknown means unknown).
 */
const FINAL_REFUND_REFUSALS: ReadonlySet<string> = new Set([
  'TRADE_OVERDUE',
  'USER_ACCOUNT_ABNORMAL',
  'INVALID_TRANSACTIONID',
  'ORDERNOTEXIST',
  'INVALID_REQUEST',
  'PARAM_ERROR',
  'APPID_NOT_EXIST',
  'MCHID_NOT_EXIST',
  'APPID_MCHID_NOT_MATCH',
  'REQUIRE_POST_METHOD',
  'SIGNERROR',
  'XML_FORMAT_ERROR',
  'LACK_PARAMS',
  'NOAUTH',
]);

/** Refusals that say the refund waits, and why (the same out_refund_no is sent again later). */
const REFUND_HOLDS: Readonly<Record<string, RefundHold>> = {
  NOTENOUGH: 'balance',
  FREQUENCY_LIMITED: 'frequency',
  INVALID_REQ_TOO_MUCH: 'frequency',
  SYSTEMERROR: 'provider_error',
  BIZERR_NEED_RETRY: 'provider_error',
};

/** A v2 failure as the port's: the caller changes nothing and tries again later. */
function unavailable(err: unknown, what: string): never {
  if (err instanceof WxPayError) throw new ProviderError(`${what}: ${err.message}`, { cause: err });
  throw err;
}

function saidOf(answer: OrderQueryResult): ProviderSaid {
  return {
    state: answer.tradeState,
    description: answer.tradeStateDesc,
    transactionId: answer.transactionId,
    amountFen: answer.totalFee,
    paidAt: answer.timeEnd === undefined ? undefined : parseBeijingTime(answer.timeEnd),
  };
}

/** orderquery's answer, mapped once. */
export function tradeFactsOf(outTradeNo: string, answer: OrderQueryResult): TradeFacts {
  const said = saidOf(answer);
  switch (answer.tradeState) {
    case 'SUCCESS':
    case 'REFUND':
      return answer.transactionId && answer.totalFee !== undefined && answer.timeEnd
        ? { kind: 'paid', news: { outTradeNo, transactionId: answer.transactionId, totalFee: answer.totalFee, paidAt: parseBeijingTime(answer.timeEnd) }, said }
        : { kind: 'paying', said };
    case 'NOTPAY':
    case 'PAYERROR':
      return { kind: 'unpaid', said };
    case 'USERPAYING':
    case 'ACCEPT':
      return { kind: 'paying', said };
    case 'CLOSED':
    case 'REVOKED':
      return { kind: 'closed', said };
  }
}

const compactDate = (date: string): string => date.replace(/-/g, '');
const dashedDate = (compact: string): string => `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;

export function createWechatV2Provider(options: WechatV2Options, injected?: { client?: WxPayClient }): PaymentProvider & { readonly client: WxPayClient } {
  const client = injected?.client ?? createWxPayClient(options);
  const merchant = { appId: options.appId, mchId: options.mchId, apiKey: options.apiKey, signType: options.signType };

  return {
    api: 'v2',
    notifyMaxBytes: NOTIFY_MAX_BYTES,
    /** the v2 client itself, for the tests and tools that speak v2 on purpose */
    client,

    async order(request) {
      const way = request.way;
      try {
        const answer = await client.unifiedOrder({
          body: request.description,
          outTradeNo: request.outTradeNo,
          totalFee: request.totalFen,
          spbillCreateIp: way.tradeType === 'MWEB' ? way.payerIp : options.spbillCreateIp,
          notifyUrl: options.notifyUrl,
          tradeType: way.tradeType,
          productId: way.tradeType === 'NATIVE' ? request.outTradeNo : undefined,
          openid: way.tradeType === 'JSAPI' ? way.openid : undefined,
          sceneInfo: way.tradeType === 'MWEB' ? h5SceneInfo(way.site) : undefined,
          ...(request.attach === undefined ? {} : { attach: request.attach }),
          timeStart: request.startsAt,
          timeExpire: request.expiresAt,
        });
        return { kind: 'offered', prepayId: answer.prepayId, codeUrl: answer.codeUrl === '' ? null : answer.codeUrl, cashierUrl: answer.mwebUrl === '' ? null : answer.mwebUrl, api: 'v2' };
      } catch (err) {
        if (err instanceof WxBusinessError && err.errCode === 'ORDERPAID') return { kind: 'paid' };
        if (err instanceof WxBusinessError && err.errCode === 'ORDERCLOSED') return { kind: 'closed' };
        return unavailable(err, `unifiedorder ${request.outTradeNo}`);
      }
    },

    async query(outTradeNo) {
      try {
        return tradeFactsOf(outTradeNo, await client.orderQuery({ outTradeNo }));
      } catch (err) {
        if (err instanceof WxBusinessError && err.errCode === 'ORDERNOTEXIST') return { kind: 'not_found' };
        return unavailable(err, `orderquery ${outTradeNo}`);
      }
    },

    async close(outTradeNo) {
      try {
        await client.closeOrder({ outTradeNo });
        return 'closed';
      } catch (err) {
        if (err instanceof WxBusinessError && err.errCode === 'ORDERCLOSED') return 'closed';
        if (err instanceof WxBusinessError && err.errCode === 'ORDERPAID') return 'paid';
        if (err instanceof WxBusinessError && err.errCode === 'ORDERNOTEXIST') return 'not_found';
        return unavailable(err, `closeorder ${outTradeNo}`);
      }
    },

    async refund(request) {
      try {
        const answer = await client.refund({
          outTradeNo: request.outTradeNo,
          outRefundNo: request.outRefundNo,
          totalFee: request.totalFen,
          refundFee: request.refundFen,
          refundDesc: request.reason,
          notifyUrl: options.refundNotifyUrl,
        });
        return { kind: 'accepted', refundId: answer.refundId, refundFen: answer.refundFee };
      } catch (err) {
        if (err instanceof WxBusinessError) {
          const message = `${err.errCode}: ${err.errCodeDes}`;
          if (FINAL_REFUND_REFUSALS.has(err.errCode)) return { kind: 'refused', message };
          return { kind: 'unknown', hold: REFUND_HOLDS[err.errCode] ?? 'unrecognised', message };
        }
        if (err instanceof WxPayError) return { kind: 'unknown', hold: 'no_answer', message: err.message };
        throw err;
      }
    },

    async refundQuery(outRefundNo) {
      let answer;
      try {
        answer = await client.refundQuery({ outRefundNo });
      } catch (err) {
        if (err instanceof WxBusinessError && err.errCode === 'REFUNDNOTEXIST') return { kind: 'not_found' };
        return unavailable(err, `refundquery ${outRefundNo}`);
      }
      const item = answer.refunds.find((r) => r.outRefundNo === outRefundNo);
      if (!item) throw new ProviderError(`refundquery ${outRefundNo}: WeChat's answer does not list it`);
      return {
        kind: 'found',
        status: item.refundStatus,
        refundId: item.refundId,
        refundFen: item.refundFee,
        totalFen: answer.totalFee,
        outTradeNo: answer.outTradeNo,
        transactionId: answer.transactionId,
        successTime: parseBeijingForPeople(item.successTime),
      };
    },

    async bill(date) {
      let bill;
      try {
        bill = await client.downloadBill({ billDate: compactDate(date), billType: 'ALL' });
      } catch (err) {
        // WeChat is still making the bill (live WeChat may be late past 10:00 too), or has none
        if (err instanceof WxReturnError && /Bill Creating/i.test(err.returnMsg)) return { kind: 'not_yet' };
        if (err instanceof WxReturnError && /No Bill Exist/i.test(err.returnMsg)) return { kind: 'none' };
        return unavailable(err, `downloadbill ${date}`);
      }
      return dayBillOf(bill);
    },

    billReadyAt(date) {
      return billTimes(compactDate(date)).servedFrom;
    },

    oldestBillDate(today) {
      return dashedDate(oldestBillDate(compactDate(today)));
    },

    bridgeParams(prepayId, now) {
      return { ...jsapiPayParams({ appId: options.appId, prepayId, apiKey: options.apiKey, signType: options.signType, now }) };
    },

    readPaymentNotify: (_headers, raw) => readV2PaymentNotify(raw, merchant),
    readRefundNotify: (_headers, raw) => readV2RefundNotify(raw, merchant),
    notifyReply: v2NotifyReply,
  };
}
