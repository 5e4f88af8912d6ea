import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { billTimes, oldestBillDate, parseBill } from '../wechatpay';
import { dayBillOf } from './wechat-v2-bill';
import { WechatKeyring, WxV3ApiError, WxV3TransportError, createWxV3Client, jsapiBridgeParams, newNonce, type WxV3Client } from '../wechatpay/v3';
import { ProviderError, type PaymentProvider, type ProviderSaid, type RefundHold, type TradeFacts } from './port';
import { REFUND_STATUS_OF_V3, parseRfc3339, readV3PaymentNotify, readV3RefundNotify, v3NotifyReply } from './wechat-v3-notify';

/**
 * The payment port's APIv3 adapter (JSON + RSA, WECHATPAY-V3.md), on src/wechatpay/v3's client:
 * every v3 path, code and time format is read here and nowhere above; the shop gets the same facts
 * as from v2. Error codes are matched in both spellings (ORDER_NOT_EXIST and ORDERNOTEXIST...).
 */

export interface WechatV3Options {
  appId: string;
  mchId: string;
  apiV3Key: string;
  privateKey: crypto.KeyObject;
  merchantSerial: string;
  /** WeChat's keys by serial (its public key and/or platform certificates) */
  keyring: WechatKeyring;
  /** the serial we expect WeChat to sign with, sent as Wechatpay-Serial */
  wechatpaySerial: () => string;
  baseUrl: string;
  notifyUrl: string;
  refundNotifyUrl: string;
  clock: () => Date;
  timeoutMs?: number;
}

const NOTIFY_MAX_BYTES = 16 * 1024;

/** Public-key mode: WeChat's keys are its one public key under its PUB_KEY_ID. */
export function publicKeyring(id: string, key: crypto.KeyObject): WechatKeyring {
  return new WechatKeyring().addPublicKey(id, key);
}

/** A code in either spelling WeChat has used (v3's ORDER_NOT_EXIST, older pages' ORDERNOTEXIST). */
const codeIs = (err: unknown, ...codes: string[]): boolean => err instanceof WxV3ApiError && codes.some((c) => c === err.code || c.replace(/_/g, '') === err.code);

function unavailable(err: unknown, what: string): never {
  if (err instanceof WxV3ApiError || err instanceof WxV3TransportError) throw new ProviderError(`${what}: ${err.message}`, { cause: err });
  throw err;
}

/** RFC 3339 in Beijing time, as WeChat writes it: 2026-12-07T18:30:00+08:00. */
export function rfc3339Beijing(at: Date): string {
  const beijing = new Date(at.getTime() + 8 * 3600 * 1000);
  return `${beijing.toISOString().slice(0, 19)}+08:00`;
}

/** H5's cashier URL names the trade's prepay_id (…/checkmweb?prepay_id=wx…&package=…). */
function prepayIdInUrl(url: string | null): string | undefined {
  if (url === null) return undefined;
  try {
    return new URL(url).searchParams.get('prepay_id') ?? undefined;
  } catch {
    return undefined;
  }
}

/** A URL as the attempt's offer id (paylog.prepay_id holds 64 characters): itself, or its digest. */
function offerIdOf(url: string | null): string | undefined {
  if (url === null) return undefined;
  return url.length <= 64 ? url : `sha256:${crypto.createHash('sha256').update(url).digest('hex').slice(0, 57)}`;
}

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);

/** A v3 transaction (query's answer), mapped once. */
export function tradeFactsOfV3(outTradeNo: string, t: Record<string, unknown>): TradeFacts {
  const amount = obj(t.amount);
  const state = String(t.trade_state ?? '');
  const said: ProviderSaid = { state, description: str(t.trade_state_desc), transactionId: str(t.transaction_id), amountFen: num(amount.total), paidAt: parseRfc3339(t.success_time) };
  switch (state) {
    case 'SUCCESS':
    case 'REFUND':
      return said.transactionId && said.amountFen !== undefined && said.paidAt
        ? { kind: 'paid', news: { outTradeNo, transactionId: said.transactionId, totalFee: said.amountFen, paidAt: said.paidAt }, said }
        : { kind: 'paying', said };
    case 'NOTPAY':
    case 'PAYERROR':
      return { kind: 'unpaid', said };
    case 'CLOSED':
    case 'REVOKED':
      return { kind: 'closed', said };
    default:
      // USERPAYING, ACCEPT, or a word we do not know: never close it, ask again later
      return { kind: 'paying', said };
  }
}

const REFUND_HOLDS: readonly [string[], RefundHold][] = [
  [['NOT_ENOUGH'], 'balance'],
  [['FREQUENCY_LIMITED'], 'frequency'],
  [['SYSTEM_ERROR', 'BANK_ERROR', 'SERVICE_UNAVAILABLE'], 'provider_error'],
];
/** Refusals after which WeChat certainly did not and will not make the refund. */
const FINAL_REFUND_REFUSALS = ['PARAM_ERROR', 'INVALID_REQUEST', 'ORDER_NOT_EXIST', 'RESOURCE_NOT_EXISTS', 'APPID_MCHID_NOT_MATCH', 'NO_AUTH', 'SIGN_ERROR', 'MCH_NOT_EXISTS'];

export function createWechatV3Provider(options: WechatV3Options, injected?: { client?: WxV3Client }): PaymentProvider {
  const client =
    injected?.client ??
    createWxV3Client({ baseUrl: options.baseUrl, mchId: options.mchId, serial: options.merchantSerial, privateKey: options.privateKey, keyring: options.keyring, wechatpaySerial: options.wechatpaySerial, clock: options.clock, timeoutMs: options.timeoutMs });
  const notifyMerchant = { appId: options.appId, mchId: options.mchId, apiV3Key: options.apiV3Key, keyring: options.keyring, clock: options.clock };
  const mchid = encodeURIComponent(options.mchId);

  return {
    api: 'v3',
    notifyMaxBytes: NOTIFY_MAX_BYTES,

    async order(request) {
      const way = request.way;
      const body: Record<string, unknown> = {
        appid: options.appId,
        mchid: options.mchId,
        description: request.description,
        out_trade_no: request.outTradeNo,
        time_expire: rfc3339Beijing(request.expiresAt),
        ...(request.attach === undefined ? {} : { attach: request.attach }),
        notify_url: options.notifyUrl,
        amount: { total: request.totalFen, currency: 'CNY' },
      };
      if (way.tradeType === 'MWEB') body.scene_info = { payer_client_ip: way.payerIp, h5_info: { type: 'Wap', app_name: way.site.name, app_url: way.site.url } };
      if (way.tradeType === 'JSAPI') body.payer = { openid: way.openid };
      const path = way.tradeType === 'NATIVE' ? '/v3/pay/transactions/native' : way.tradeType === 'MWEB' ? '/v3/pay/transactions/h5' : '/v3/pay/transactions/jsapi';
      try {
        const answer = obj((await client.call('POST', path, body)).json);
        const codeUrl = str(answer.code_url) ?? null;
        const cashierUrl = str(answer.h5_url) ?? null;
        // NATIVE and H5 get no prepay_id in v3: H5's cashier URL carries it; NATIVE's code_url stands for the offer
        const prepayId = str(answer.prepay_id) ?? prepayIdInUrl(cashierUrl) ?? offerIdOf(codeUrl ?? cashierUrl);
        if (!prepayId) throw new ProviderError(`order ${request.outTradeNo}: WeChat's answer has neither prepay_id, code_url nor h5_url`);
        return { kind: 'offered', prepayId, codeUrl, cashierUrl, api: 'v3' };
      } catch (err) {
        if (codeIs(err, 'ORDER_PAID')) return { kind: 'paid' };
        if (codeIs(err, 'ORDER_CLOSED')) return { kind: 'closed' };
        return unavailable(err, `order ${request.outTradeNo}`);
      }
    },

    async query(outTradeNo) {
      try {
        const answer = await client.call('GET', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${mchid}`);
        return tradeFactsOfV3(outTradeNo, obj(answer.json));
      } catch (err) {
        if (codeIs(err, 'ORDER_NOT_EXIST')) return { kind: 'not_found' };
        return unavailable(err, `query ${outTradeNo}`);
      }
    },

    async close(outTradeNo) {
      try {
        await client.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`, { mchid: options.mchId });
        return 'closed';
      } catch (err) {
        if (codeIs(err, 'ORDER_CLOSED')) return 'closed';
        if (codeIs(err, 'ORDER_PAID')) return 'paid';
        if (codeIs(err, 'ORDER_NOT_EXIST')) return 'not_found';
        return unavailable(err, `close ${outTradeNo}`);
      }
    },

    async refund(request) {
      try {
        const answer = obj(
          (
            await client.call('POST', '/v3/refund/domestic/refunds', {
              out_trade_no: request.outTradeNo,
              out_refund_no: request.outRefundNo,
              ...(request.reason ? { reason: request.reason } : {}),
              notify_url: options.refundNotifyUrl,
              amount: { refund: request.refundFen, total: request.totalFen, currency: 'CNY' },
            })
          ).json,
        );
        const refundId = str(answer.refund_id);
        const refundFen = num(obj(answer.amount).refund);
        if (!refundId || refundFen === undefined) return { kind: 'unknown', hold: 'unrecognised', message: "WeChat's refund answer has no refund_id or amount" };
        return { kind: 'accepted', refundId, refundFen };
      } catch (err) {
        if (err instanceof WxV3ApiError) {
          const message = `${err.code}: ${err.detail}`;
          if (codeIs(err, ...FINAL_REFUND_REFUSALS)) return { kind: 'refused', message };
          const hold = REFUND_HOLDS.find(([codes]) => codeIs(err, ...codes))?.[1] ?? 'unrecognised';
          return { kind: 'unknown', hold, message };
        }
        if (err instanceof WxV3TransportError) return { kind: 'unknown', hold: 'no_answer', message: err.message };
        throw err;
      }
    },

    async refundQuery(outRefundNo) {
      let r: Record<string, unknown>;
      try {
        r = obj((await client.call('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`)).json);
      } catch (err) {
        if (codeIs(err, 'RESOURCE_NOT_EXISTS', 'ORDER_NOT_EXIST')) return { kind: 'not_found' };
        return unavailable(err, `refund query ${outRefundNo}`);
      }
      const amount = obj(r.amount);
      const status = REFUND_STATUS_OF_V3[String(r.status)];
      const refundId = str(r.refund_id);
      const refundFen = num(amount.refund);
      const totalFen = num(amount.total);
      if (!status || !refundId || refundFen === undefined || totalFen === undefined) throw new ProviderError(`refund query ${outRefundNo}: WeChat's answer lacks status, refund_id or amounts`);
      return { kind: 'found', status, refundId, refundFen, totalFen, outTradeNo: str(r.out_trade_no), transactionId: str(r.transaction_id), successTime: parseRfc3339(r.success_time) };
    },

    // tradebill -> download_url (a signed GET, an unsigned gzip answer) -> SHA1 over the CSV -> the same CSV as v2's
    async bill(date) {
      let csv: string;
      try {
        const answer = obj((await client.call('GET', `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL&tar_type=GZIP`)).json);
        const url = str(answer.download_url);
        if (!url || answer.hash_type !== 'SHA1' || typeof answer.hash_value !== 'string') throw new ProviderError(`trade bill ${date}: no download_url, or not a SHA1 digest`);
        const bytes = zlib.gunzipSync(await client.download(url));
        const digest = crypto.createHash('sha1').update(bytes).digest('hex');
        if (digest.toLowerCase() !== answer.hash_value.toLowerCase()) throw new ProviderError(`trade bill ${date}: its SHA1 ${digest} is not the ${answer.hash_value} WeChat gave (damaged on the way)`);
        csv = bytes.toString('utf8');
      } catch (err) {
        if (codeIs(err, 'STATEMENT_CREATING')) return { kind: 'not_yet' };
        if (codeIs(err, 'NO_STATEMENT_EXIST')) return { kind: 'none' };
        if (err instanceof Error && err.message.includes('incorrect header check')) throw new ProviderError(`trade bill ${date}: not gzip`, { cause: err });
        return unavailable(err, `trade bill ${date}`);
      }
      try {
        return dayBillOf(parseBill(csv));
      } catch (cause) {
        throw new ProviderError(`trade bill ${date}: not a bill WeChat writes`, { cause });
      }
    },

    billReadyAt(date) {
      return billTimes(date.replace(/-/g, '')).servedFrom;
    },

    oldestBillDate(today) {
      const compact = oldestBillDate(today.replace(/-/g, ''));
      return `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
    },

    bridgeParams(prepayId, now) {
      return jsapiBridgeParams({ appId: options.appId, prepayId, privateKey: options.privateKey, timestamp: Math.floor(now.getTime() / 1000), nonce: newNonce() });
    },

    readPaymentNotify: async (headers, raw) => readV3PaymentNotify(headers, raw, notifyMerchant),
    readRefundNotify: async (headers, raw) => readV3RefundNotify(headers, raw, notifyMerchant),
    notifyReply: v3NotifyReply,
  };
}
