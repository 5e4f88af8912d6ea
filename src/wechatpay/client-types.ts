import type { Bill } from './bill';

/**
 * What the rest of the shop sees of WeChat Pay's v2 payment API: the WxPayClient interface, its
 * arguments and results, the states it reports and the paths it calls. createWxPayClient (client.ts)
 * implements it over HTTP; the simulator answers the same paths.
 */

/** The paths of the v2 calls a checkout uses, shared with the simulator. */
export const WX_PATHS = {
  unifiedOrder: '/pay/unifiedorder',
  orderQuery: '/pay/orderquery',
  closeOrder: '/pay/closeorder',
  refund: '/secapi/pay/refund',
  refundQuery: '/pay/refundquery',
  downloadBill: '/pay/downloadbill',
} as const;

export type TradeType = 'NATIVE' | 'JSAPI' | 'APP' | 'MWEB';
export type TradeState = 'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR' | 'ACCEPT';
export type RefundQueryStatus = 'SUCCESS' | 'REFUNDCLOSE' | 'PROCESSING' | 'CHANGE';
export type BillType = 'ALL' | 'SUCCESS' | 'REFUND';

export interface UnifiedOrderArgs {
  /** Shown to the payer; at most 127 UTF-8 bytes (WeChat counts bytes: see text.ts). */
  body: string;
  outTradeNo: string;
  /** Integer fen, > 0. */
  totalFee: number;
  spbillCreateIp: string;
  /** No query string: WeChat drops it. */
  notifyUrl: string;
  /** Required for NATIVE; at most 32 characters. */
  productId?: string | undefined;
  attach?: string;
  /** Sent once and never changed: a re-sent unifiedorder must carry the very same times. */
  timeStart?: Date;
  timeExpire?: Date;
  tradeType?: TradeType;
  /** JSAPI: the payer's openid for our AppID (from the Official Account's web authorization) */
  openid?: string | undefined;
  /** MWEB: the site the payer is on, JSON as WeChat wants it (h5SceneInfo builds it) */
  sceneInfo?: string | undefined;
}

/**
 * MWEB's scene_info: `{"h5_info":{"type":"Wap","wap_url":...,"wap_name":...}}`, the shop's site
 * (its domain must be the H5 payment domain registered at WeChat) and name. Compact JSON, keys in
 * this order, so a re-sent unifiedorder carries the very same text.
 */
export function h5SceneInfo(site: { url: string; name: string }): string {
  return JSON.stringify({ h5_info: { type: 'Wap', wap_url: site.url, wap_name: site.name } });
}

export interface UnifiedOrderResult {
  prepayId: string;
  /** weixin://wxpay/bizpayurl?pr=... for NATIVE ('' for other trade types). */
  codeUrl: string;
  /** MWEB: WeChat's H5 cashier, valid 5 minutes; send the payer there with `&redirect_url=` ('' for other trade types) */
  mwebUrl: string;
  tradeType: string;
  fields: Readonly<Record<string, string>>;
}

export type OrderRef = { outTradeNo: string } | { transactionId: string };

export interface OrderQueryResult {
  tradeState: TradeState;
  outTradeNo: string;
  /** NATIVE, JSAPI, MWEB... (absent while WeChat has not been asked to pay it) */
  tradeType?: string;
  transactionId?: string;
  totalFee?: number;
  cashFee?: number;
  feeType?: string;
  timeEnd?: string;
  attach?: string;
  openid?: string;
  bankType?: string;
  tradeStateDesc?: string;
  fields: Readonly<Record<string, string>>;
}

export interface RefundArgs {
  outTradeNo?: string;
  transactionId?: string;
  /** Reuse it to retry the same refund; a new one for each partial refund. */
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
  refundDesc?: string;
  notifyUrl?: string;
}

export interface RefundResult {
  refundId: string;
  outRefundNo: string;
  refundFee: number;
  outTradeNo?: string;
  transactionId?: string;
  totalFee?: number;
  fields: Readonly<Record<string, string>>;
}

export type RefundRef =
  | { outTradeNo: string; offset?: number }
  | { transactionId: string; offset?: number }
  | { outRefundNo: string }
  | { refundId: string };

export interface RefundQueryItem {
  outRefundNo: string;
  refundId: string;
  refundFee: number;
  refundStatus: RefundQueryStatus;
  /** 'yyyy-MM-dd HH:mm:ss' Beijing time, when refundStatus is SUCCESS. */
  successTime?: string;
  refundRecvAccout?: string;
}

export interface RefundQueryResult {
  refunds: RefundQueryItem[];
  totalFee: number;
  outTradeNo?: string;
  transactionId?: string;
  /** All refunds of the trade; more than refunds.length means: query again with an offset. */
  totalRefundCount?: number;
  fields: Readonly<Record<string, string>>;
}

export interface DownloadBillArgs {
  /** yyyyMMdd, Beijing date. */
  billDate: string;
  billType: BillType;
}

export interface WxPayClient {
  unifiedOrder(args: UnifiedOrderArgs): Promise<UnifiedOrderResult>;
  orderQuery(ref: OrderRef): Promise<OrderQueryResult>;
  /** Resolves when WeChat closed the order; ORDERPAID / ORDERCLOSED come as WxBusinessError. */
  closeOrder(args: { outTradeNo: string }): Promise<void>;
  /** SUCCESS means accepted, not refunded: the refund notify or refundQuery tells the outcome. */
  refund(args: RefundArgs): Promise<RefundResult>;
  refundQuery(ref: RefundRef): Promise<RefundQueryResult>;
  /** "No Bill Exist" comes as WxReturnError with returnMsg 'No Bill Exist'. */
  downloadBill(args: DownloadBillArgs): Promise<Bill>;
}
