import type { PaidNews, RefundNews } from '../ledger';

/**
 * The payment provider, in the shop's own terms (Medusa's payment provider habit): everything the
 * shop asks of WeChat Pay, and everything WeChat tells it, through one interface whose answers are
 * a small set of facts. The v2 API (XML, keys) is its first adapter (wechat-v2.ts); a second API
 * version is a second adapter, and nothing above this port changes. Nothing above it names a
 * provider's field, error code, time format or reply body.
 *
 * Every call may throw ProviderError: no answer, an answer that does not prove itself, or one the
 * shop cannot act on. The caller leaves its rows as they were and tries again later.
 */

/** How the payer pays at WeChat this time, beyond what every order of an attempt repeats. */
export type PayWay =
  /** a QR code the payer scans */
  | { tradeType: 'NATIVE' }
  /** H5: WeChat's cashier in the phone's browser, which checks the payer's own address and the shop's site */
  | { tradeType: 'MWEB'; payerIp: string; site: { url: string; name: string } }
  /** in WeChat's browser: the payer's openid for our AppID */
  | { tradeType: 'JSAPI'; openid: string };

export interface OrderRequest {
  outTradeNo: string;
  /** what the payer's phone shows (the provider cuts nothing: the caller fits it, see BODY_MAX_BYTES) */
  description: string;
  totalFen: number;
  /** our own note, passed back untouched */
  attach?: string | undefined;
  /** fixed at the attempt's creation, so an order sent again is the very same */
  startsAt: Date;
  expiresAt: Date;
  way: PayWay;
}

export type OrderAnswer =
  /** the provider has the trade: its prepay id; NATIVE's QR code text, MWEB's cashier URL (null where not that way) */
  | { kind: 'offered'; prepayId: string; codeUrl: string | null; cashierUrl: string | null; /** the API that took it (recorded with the attempt: its later calls use the same) */ api: string }
  /** paid already (its notify still on the way): ask and settle */
  | { kind: 'paid' }
  /** this number can never be paid any more: a new attempt is needed */
  | { kind: 'closed' };

/** What the provider said of a trade, as it said it, for an admin to read (its own word for the state beside ours). */
export interface ProviderSaid {
  /** the provider's own state word (shown as it came) */
  state: string;
  description?: string | undefined;
  transactionId?: string | undefined;
  amountFen?: number | undefined;
  paidAt?: Date | undefined;
}

/** A trade as the provider knows it, mapped ONCE to the few facts the shop acts on. */
export type TradeFacts =
  /** the money was taken: how much, under which transaction id, when */
  | { kind: 'paid'; news: PaidNews; said: ProviderSaid }
  /** not paid, and can be closed (NOTPAY, or the bank refused the payment) */
  | { kind: 'unpaid'; said: ProviderSaid }
  /** the payer is at it, or paid without the facts to settle it: never close it, never replace it; ask again later */
  | { kind: 'paying'; said: ProviderSaid }
  /** closed or revoked there: nobody can pay it any more */
  | { kind: 'closed'; said: ProviderSaid }
  /** the provider never had it (when asked) */
  | { kind: 'not_found' };

export type CloseAnswer =
  /** the provider can no longer take money for it (closed now, or closed already) */
  | 'closed'
  /** it was paid after all: ask and settle */
  | 'paid'
  /** the provider never had it (when asked) */
  | 'not_found';

export interface RefundRequest {
  outTradeNo: string;
  outRefundNo: string;
  /** the attempt's total, as the provider took it */
  totalFen: number;
  refundFen: number;
  reason?: string | undefined;
}

/** Why a refund was not accepted, in the shop's words (the admin is told what to do about each). */
export type RefundHold =
  /** the merchant's balance at WeChat is short: top it up, then retry */
  | 'balance'
  /** too many requests: wait a minute, then retry */
  | 'frequency'
  /** the provider failed on its side: retry with the same number */
  | 'provider_error'
  /** no answer, or one that did not prove itself: ask the provider, or retry */
  | 'no_answer'
  /** a refusal the provider gave that we do not know to be final: ask before deciding */
  | 'unrecognised';

export type RefundAnswer =
  /** accepted: its outcome comes by notify or refund query */
  | { kind: 'accepted'; refundId: string; refundFen: number }
  /** refused for good: the provider never did it and never will (its amount is free again) */
  | { kind: 'refused'; message: string }
  /** not accepted, or not known to be: it waits, with the same number, for a query or a retry */
  | { kind: 'unknown'; hold: RefundHold; message: string };

/** A refund's state in the shop's vocabulary (refunds.status). */
export type ProviderRefundStatus = 'PROCESSING' | 'SUCCESS' | 'REFUNDCLOSE' | 'CHANGE';

export type RefundFacts =
  | {
      kind: 'found';
      status: ProviderRefundStatus;
      refundId: string;
      refundFen: number;
      /** the trade's total as the provider knows it */
      totalFen: number;
      outTradeNo: string | undefined;
      transactionId: string | undefined;
      successTime: Date | undefined;
    }
  | { kind: 'not_found' };

export interface BillPayment {
  outTradeNo: string;
  transactionId: string;
  /** undefined when the bill's amount is not a sum of money */
  amountFen: number | undefined;
  /** the amount as the bill wrote it (for a person to read when it is not one) */
  amountText: string;
  /** the provider's own word for the state (shown as it came) */
  state: string;
  paid: boolean;
}

export interface BillRefund {
  outTradeNo: string;
  outRefundNo: string;
  amountFen: number | undefined;
  amountText: string;
  /** in the shop's vocabulary; `frozen` when the bill was made before any outcome (it matches every state of ours); `unrecognised` for a word we do not know */
  status: ProviderRefundStatus | 'frozen' | 'unrecognised';
  /** the status as the bill wrote it (for a person to read) */
  statusText: string;
}

export type DayBill =
  | { kind: 'bill'; payments: BillPayment[]; refunds: BillRefund[] }
  /** the provider has no bill for the day (no trades) */
  | { kind: 'none' }
  /** the provider is still making it */
  | { kind: 'not_yet' };

/** Why a notify was refused (the verdict recorded and counted; the HTTP status follows from it). */
export type NotifyRefusal =
  | 'bad_xml'
  | 'missing_signature'
  | 'bad_signature'
  | 'bad_req_info'
  | 'wrong_merchant'
  | 'not_success'
  | 'missing_field'
  | 'bad_amount'
  | 'bad_fee_type'
  | 'bad_field'
  /** a body that is not what the API sends at all (v3: not its JSON) */
  | 'bad_body'
  /** an encrypted resource that does not open with our key */
  | 'bad_resource';

/** What a notify said, or why it is refused, read from its headers and raw body, before anything is stored. */
export type NotifyReading<News> =
  | { kind: 'news'; news: News; /** the ids for the record */ outTradeNo: string; transactionId: string | undefined; /** one line for the record (a refund's fields) */ summary: string | undefined }
  | {
      kind: 'refused';
      verdict: NotifyRefusal;
      message: string;
      /** it proved itself (signature, or a body that decrypts with our key) and was refused for what it says */
      verified: boolean;
      /** what it claims, never trusted: for the record only */
      claimed: { outTradeNo?: string | undefined; transactionId?: string | undefined };
    };

export interface RefundNotice extends RefundNews {
  outRefundNo: string;
  successTime: Date | undefined;
}

/** The answer a notify gets, as the provider wants it on the wire. */
export interface NotifyReply {
  status: number;
  contentType: string;
  body: string;
}

export interface PaymentProvider {
  /** which API this adapter speaks, for the record (paylog, logs) */
  readonly api: string;
  /** the most a notify body may be: reading stops there, before anything is parsed */
  readonly notifyMaxBytes: number;
  /** ask the provider to take the money (idempotent per out_trade_no with the very same request) */
  order(request: OrderRequest): Promise<OrderAnswer>;
  query(outTradeNo: string): Promise<TradeFacts>;
  close(outTradeNo: string): Promise<CloseAnswer>;
  refund(request: RefundRequest): Promise<RefundAnswer>;
  refundQuery(outRefundNo: string): Promise<RefundFacts>;
  /** a Beijing day's bill, 'yyyy-MM-dd' */
  bill(date: string): Promise<DayBill>;
  /** when the provider serves the bill of a Beijing day 'yyyy-MM-dd' */
  billReadyAt(date: string): Date;
  /** the oldest Beijing day 'yyyy-MM-dd' whose bill the provider still serves, seen from `today` */
  oldestBillDate(today: string): string;
  /** the JSAPI bridge's parameters for a prepay id, signed for the payer's page */
  bridgeParams(prepayId: string, now: Date): Record<string, string>;
  readPaymentNotify(headers: Readonly<Record<string, string | string[] | undefined>>, raw: Buffer): Promise<NotifyReading<PaidNews>>;
  readRefundNotify(headers: Readonly<Record<string, string | string[] | undefined>>, raw: Buffer): Promise<NotifyReading<RefundNotice>>;
  /** the body for a notify taken (`ok`), or refused / failed with `status` and a reason; `headers`: the notify's own (a provider of several versions answers in the notify's way) */
  notifyReply(answer: { ok: true } | { ok: false; status: number; message: string }, headers?: Readonly<Record<string, string | string[] | undefined>>): NotifyReply;
}

/** The provider did not answer, or not in a way the shop can act on: nothing was changed; try again later. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What the payer's phone shows, and our own note, are each at most 127 UTF-8 bytes at WeChat (v2 and v3 alike); truncateUtf8 fits a text to it. */
export { ATTACH_MAX_BYTES, BODY_MAX_BYTES as DESCRIPTION_MAX_BYTES, truncateUtf8 } from '../wechatpay/text';
