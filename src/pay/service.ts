import type { Knex } from 'knex';
import { newOutTradeNo } from '../checkout/service';
import { Conflict, NotFound, UpstreamFailed } from '../errors';
import { ATTACH_MAX_BYTES, BODY_MAX_BYTES, WxBusinessError, WxPayError, truncateUtf8, type WxPayClient } from '../wechatpay';
import { parseBeijingTime } from '../wechatpay/time';
import { closePaylog, markPaid, PAYLOG_CHANNEL } from './settle';

export interface Paylog {
  out_trade_no: string;
  shopper_id: string;
  total_fee: number;
  trade_state: 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'REFUND';
  body: string | null;
  code_url: string | null;
  code_url_expires_at: Date | null;
  transaction_id: string | null;
  create_time: Date;
  pay_time: Date | null;
  closed_at: Date | null;
  flag: string | null;
  /**
   * another attempt that paid this attempt's orders (a late payment of an older one): this one
   * must no longer be offered, and its pay page shows the paid state. Read by the pay pages only.
   */
  paid_by?: string | null;
}

/** The attempt that paid this paylog's orders, when it is another one (a subquery on `paylog`). */
const PAID_BY_SQL = `(SELECT o.out_trade_no FROM paylog_orders po JOIN orders o ON o.id = po.order_id
   WHERE po.out_trade_no = paylog.out_trade_no AND o.status IN ('paid', 'refunded') AND o.out_trade_no <> paylog.out_trade_no
   LIMIT 1) AS paid_by`;

export interface OrderItem {
  product_id: number;
  title: string;
  unit_price_fen: number;
  quantity: number;
}

export interface OrderWithItems {
  id: number;
  seller: string;
  status: string;
  pay_type: string;
  total_fen: number;
  receiver_name: string;
  receiver_mobile: string;
  receiver_address: string;
  created_at: Date;
  paid_at: Date | null;
  items: OrderItem[];
}

const PAYLOG_COLUMNS = [
  'out_trade_no',
  'shopper_id',
  'total_fee',
  'trade_state',
  'body',
  'code_url',
  'code_url_expires_at',
  'transaction_id',
  'create_time',
  'pay_time',
  'closed_at',
  'flag',
] as const;

/** WeChat will not take a time_expire closer than this; a QR code that would live less is not offered. */
export const MIN_QR_LIFETIME_MS = 5 * 60 * 1000;

/**
 * The paylog for the shopper of a session (by session id, as the status poll reads it without
 * express-session): one query; a stranger, an expired session or a wrong number are one 404.
 */
export async function paylogOfSession(knex: Knex, outTradeNo: string, sessionId: string | undefined, now: Date): Promise<Paylog> {
  // the session's own payments, and those of orders it found by number and mobile (src/orders)
  const paylog = sessionId
    ? ((await knex('paylog')
        .where({ out_trade_no: outTradeNo })
        .whereRaw(
          `EXISTS (SELECT 1 FROM sessions s WHERE s.sid = ? AND s.expires_at > ? AND (
             paylog.shopper_id = s.sess->>'shopperId'
             OR EXISTS (SELECT 1 FROM paylog_orders po WHERE po.out_trade_no = paylog.out_trade_no
                        AND po.order_id::text IN (SELECT jsonb_array_elements_text(COALESCE(s.sess->'foundOrders', '[]'::jsonb))))))`,
          [sessionId, now],
        )
        .first([...PAYLOG_COLUMNS, knex.raw(PAID_BY_SQL)])) as Paylog | undefined)
    : undefined;
  if (!paylog) throw new NotFound(`no paylog ${outTradeNo} for this session`, 'pay.notFound');
  return paylog;
}

/** The paylog, only for the shopper who made it (or found its order): anyone else gets the same 404 as a wrong number. */
export async function paylogOfShopper(knex: Knex, outTradeNo: string, shopperId: string | undefined, foundOrderIds: readonly number[] = []): Promise<Paylog> {
  // or, for a session that found one of its orders by number and mobile (src/orders), that payment
  const paylog =
    shopperId || foundOrderIds.length > 0
      ? ((await knex('paylog')
          .where({ out_trade_no: outTradeNo })
          .andWhere((q) => {
            if (shopperId) q.where({ shopper_id: shopperId });
            if (foundOrderIds.length > 0) q.orWhereExists((e) => e.select(knex.raw('1')).from('paylog_orders').whereRaw('paylog_orders.out_trade_no = paylog.out_trade_no').whereIn('paylog_orders.order_id', [...foundOrderIds]));
          })
          .first([...PAYLOG_COLUMNS, knex.raw(PAID_BY_SQL)])) as Paylog | undefined)
      : undefined;
  if (!paylog) throw new NotFound(`no paylog ${outTradeNo} for this shopper`, 'pay.notFound');
  return paylog;
}

/** The orders with their items, in one query for all of them. */
export async function withItems<T extends { id: number }>(knex: Knex, orders: T[]): Promise<(T & { items: OrderItem[] })[]> {
  if (orders.length === 0) return [];
  const items = (await knex('order_items')
    .whereIn(
      'order_id',
      orders.map((o) => o.id),
    )
    .orderBy('id')
    .select('order_id', 'product_id', 'title', 'unit_price_fen', 'quantity')) as (OrderItem & { order_id: number })[];
  return orders.map((o) => ({ ...o, items: items.filter((i) => i.order_id === o.id).map(({ order_id: _orderId, ...item }) => item) }));
}

const ORDER_COLUMNS = ['orders.id', 'orders.seller', 'orders.status', 'orders.pay_type', 'orders.total_fen', 'orders.receiver_name', 'orders.receiver_mobile', 'orders.receiver_address', 'orders.created_at', 'orders.paid_at'];

/** The orders a payment attempt is for, with their items. */
export async function ordersOfPaylog(knex: Knex, outTradeNo: string): Promise<OrderWithItems[]> {
  const orders = await knex('orders').join('paylog_orders', 'paylog_orders.order_id', 'orders.id').where('paylog_orders.out_trade_no', outTradeNo).orderBy('orders.id').select(ORDER_COLUMNS);
  return withItems(knex, orders as Omit<OrderWithItems, 'items'>[]);
}

export async function ordersOfCheckout(knex: Knex, shopperId: string, checkoutToken: string): Promise<OrderWithItems[]> {
  const orders = await knex('orders').where({ shopper_id: shopperId, checkout_token: checkoutToken }).orderBy('id').select(ORDER_COLUMNS);
  return withItems(knex, orders as Omit<OrderWithItems, 'items'>[]);
}

export interface WxpayContext {
  client: WxPayClient;
  notifyUrl: string;
  shopName: string;
  qrTtlSeconds: number;
  /** unifiedorder's spbill_create_ip: for NATIVE, this machine's address (WXPAY_SPBILL_CREATE_IP) */
  spbillCreateIp: string;
}

export function wxpayContextOf(deps: {
  wxpay: { client: WxPayClient; notifyUrl: string };
  config: { shopName: string; payQrTtlSeconds: number; wxpay: { spbillCreateIp: string } };
}): WxpayContext {
  return {
    client: deps.wxpay.client,
    notifyUrl: deps.wxpay.notifyUrl,
    shopName: deps.config.shopName,
    qrTtlSeconds: deps.config.payQrTtlSeconds,
    spbillCreateIp: deps.config.wxpay.spbillCreateIp,
  };
}

/** When the QR code of this attempt stops being offered: fixed at its creation, so a re-sent unifiedorder is identical. */
export function qrExpiryOf(paylog: Pick<Paylog, 'create_time'>, qrTtlSeconds: number): Date {
  return new Date(paylog.create_time.getTime() + qrTtlSeconds * 1000);
}

/**
 * "<shop>-<first item>等N件": what the payer's phone shows, at most 127 UTF-8 bytes (WeChat counts
 * bytes). A long title is cut, never the count: "<shop>-<title cut>…等N件".
 */
export function orderBody(shopName: string, orders: OrderWithItems[]): string {
  const items = orders.flatMap((o) => o.items);
  const count = items.reduce((sum, i) => sum + i.quantity, 0);
  const first = items[0]?.title ?? '';
  const suffix = count > 1 ? `等${count}件` : '';
  const prefix = `${shopName}-`;
  const room = BODY_MAX_BYTES - Buffer.byteLength(prefix + suffix, 'utf8');
  // SHOP_NAME is at most 40 characters (120 bytes): when it leaves no room, cut the whole text
  if (room < 4) return truncateUtf8(prefix + first + suffix, BODY_MAX_BYTES);
  return prefix + truncateUtf8(first, room) + suffix;
}

export type PayOffer =
  | { kind: 'qr'; paylog: Paylog; codeUrl: string; expiresAt: Date }
  /** its orders were paid through another attempt (`paidBy`): no QR code any more */
  | { kind: 'paid_elsewhere'; paylog: Paylog; paidBy: string }
  | { kind: 'paid'; paylog: Paylog }
  | { kind: 'closed'; paylog: Paylog }
  | { kind: 'expired'; paylog: Paylog };

/**
 * What the pay page offers for this attempt. A live code_url is reused (no second unifiedorder,
 * so no "201 商户订单号重复"); otherwise unifiedorder is called with fields that are the same on
 * every re-send (time_expire fixed at creation), outside any transaction, and the answer stored.
 * A WeChat failure leaves paylog and orders as they were (UpstreamFailed: the page offers a retry).
 */
export async function offerPayment(knex: Knex, wx: WxpayContext, paylog: Paylog, now: Date): Promise<PayOffer> {
  if (paylog.trade_state === 'SUCCESS' || paylog.trade_state === 'REFUND') return { kind: 'paid', paylog };
  if (paylog.paid_by) return { kind: 'paid_elsewhere', paylog, paidBy: paylog.paid_by };
  if (paylog.trade_state === 'CLOSED') return { kind: 'closed', paylog };
  if (paylog.code_url && paylog.code_url_expires_at) {
    return paylog.code_url_expires_at.getTime() > now.getTime() ? { kind: 'qr', paylog, codeUrl: paylog.code_url, expiresAt: paylog.code_url_expires_at } : { kind: 'expired', paylog };
  }
  const expiresAt = qrExpiryOf(paylog, wx.qrTtlSeconds);
  if (expiresAt.getTime() - now.getTime() < MIN_QR_LIFETIME_MS) return { kind: 'expired', paylog };

  const orders = await ordersOfPaylog(knex, paylog.out_trade_no);
  const body = orderBody(wx.shopName, orders);
  let codeUrl: string;
  try {
    const answer = await wx.client.unifiedOrder({
      body,
      outTradeNo: paylog.out_trade_no,
      totalFee: paylog.total_fee,
      spbillCreateIp: wx.spbillCreateIp,
      notifyUrl: wx.notifyUrl,
      productId: paylog.out_trade_no,
      attach: truncateUtf8(`orders:${orders.map((o) => o.id).join(',')}`, ATTACH_MAX_BYTES),
      timeStart: paylog.create_time,
      timeExpire: expiresAt,
    });
    codeUrl = answer.codeUrl;
  } catch (err) {
    if (err instanceof WxBusinessError && err.errCode === 'ORDERPAID') {
      // paid already (a notify still on its way): ask WeChat for the facts and settle now
      await settleFromQuery(knex, wx.client, paylog.out_trade_no, now, 'unifiedorder');
      const settled = await reloadPaylog(knex, paylog.out_trade_no);
      if (settled.trade_state === 'SUCCESS' || settled.trade_state === 'REFUND') return { kind: 'paid', paylog: settled };
      // WeChat says paid but its answer did not settle here (amount differs, query lagging): never loop
      throw new UpstreamFailed(`unifiedorder ${paylog.out_trade_no}: ORDERPAID, but orderquery did not settle it`, 'pay.error.upstream');
    }
    if (err instanceof WxBusinessError && err.errCode === 'ORDERCLOSED') return { kind: 'expired', paylog };
    if (err instanceof WxPayError) throw new UpstreamFailed(`unifiedorder ${paylog.out_trade_no}: ${err.message}`, 'pay.error.upstream');
    throw err;
  }

  // store the first answer only; a concurrent page load may have stored the same code_url already
  await knex('paylog')
    .where({ out_trade_no: paylog.out_trade_no, trade_state: 'NOTPAY' })
    .whereNull('code_url')
    .update({ code_url: codeUrl, code_url_expires_at: expiresAt, body, updated_at: now });
  const stored = await reloadPaylog(knex, paylog.out_trade_no);
  if (stored.trade_state !== 'NOTPAY' || !stored.code_url || !stored.code_url_expires_at) return offerPayment(knex, wx, stored, now);
  return { kind: 'qr', paylog: stored, codeUrl: stored.code_url, expiresAt: stored.code_url_expires_at };
}

async function reloadPaylog(knex: Knex, outTradeNo: string): Promise<Paylog> {
  const paylog = (await knex('paylog').where({ out_trade_no: outTradeNo }).first(PAYLOG_COLUMNS)) as Paylog | undefined;
  if (!paylog) throw new NotFound(`paylog ${outTradeNo} vanished`);
  return paylog;
}

/** Asks WeChat (orderquery) and, when it says SUCCESS, settles through markPaid. Returns WeChat's trade_state. */
export async function settleFromQuery(knex: Knex, client: WxPayClient, outTradeNo: string, now: Date, source: 'query' | 'unifiedorder' | 'sweeper' | 'admin', operator?: string) {
  const answer = await client.orderQuery({ outTradeNo });
  if ((answer.tradeState === 'SUCCESS' || answer.tradeState === 'REFUND') && answer.transactionId && answer.totalFee !== undefined && answer.timeEnd) {
    const result = await markPaid(knex, {
      outTradeNo,
      transactionId: answer.transactionId,
      totalFee: answer.totalFee,
      paidAt: parseBeijingTime(answer.timeEnd),
      source,
      operator,
      now,
    });
    return { answer, result };
  }
  return { answer, result: undefined };
}

export type RenewOutcome = { kind: 'renewed' | 'current'; outTradeNo: string } | { kind: 'paid'; outTradeNo: string };

/**
 * "Pay again", safely: before a new attempt is made, WeChat is asked about the old one (it may
 * have been paid in its last seconds, its notify still on the way) and the old one is closed
 * there, so it can never be paid as well as the new one. WeChat calls happen here, outside any
 * transaction; renewPayment then makes the new attempt in one. A paid old attempt is settled and
 * reported as `paid` (the shopper goes to the success page), a payment in progress is refused.
 */
export async function renewAttempt(
  knex: Knex,
  client: WxPayClient,
  input: { outTradeNo: string; shopperId: string; now: Date; qrTtlSeconds: number },
): Promise<RenewOutcome> {
  const old = await paylogOfShopper(knex, input.outTradeNo, input.shopperId);
  if (old.trade_state === 'SUCCESS' || old.trade_state === 'REFUND') return { kind: 'paid', outTradeNo: old.out_trade_no };
  if (old.code_url) {
    let wechatState: string;
    try {
      const { answer, result } = await settleFromQuery(knex, client, old.out_trade_no, input.now, 'query');
      if (result && (result.tradeState === 'SUCCESS' || result.outcome === 'duplicate')) return { kind: 'paid', outTradeNo: old.out_trade_no };
      wechatState = answer.tradeState;
    } catch (err) {
      if (err instanceof WxBusinessError && err.errCode === 'ORDERNOTEXIST') wechatState = 'ORDERNOTEXIST';
      else if (err instanceof WxPayError) throw new UpstreamFailed(`orderquery ${old.out_trade_no} before renewing: ${err.message}`, 'pay.error.upstream');
      else throw err;
    }
    if (wechatState === 'USERPAYING' || wechatState === 'SUCCESS' || wechatState === 'REFUND') {
      throw new Conflict(`${old.out_trade_no} is ${wechatState} at WeChat`, 'pay.error.inProgress');
    }
    const stillOffered = old.trade_state === 'NOTPAY' && old.code_url_expires_at !== null && old.code_url_expires_at.getTime() > input.now.getTime();
    if (stillOffered) return { kind: 'current', outTradeNo: old.out_trade_no };
    // PAYERROR (the bank refused) is as unpaid as NOTPAY, and as payable again: close it too
    if (wechatState === 'NOTPAY' || wechatState === 'PAYERROR') {
      try {
        await client.closeOrder({ outTradeNo: old.out_trade_no });
      } catch (err) {
        if (err instanceof WxBusinessError && err.errCode === 'ORDERPAID') {
          await settleFromQuery(knex, client, old.out_trade_no, input.now, 'query');
          return { kind: 'paid', outTradeNo: old.out_trade_no };
        }
        if (!(err instanceof WxBusinessError && (err.errCode === 'ORDERCLOSED' || err.errCode === 'ORDERNOTEXIST'))) {
          if (err instanceof WxPayError) throw new UpstreamFailed(`closeorder ${old.out_trade_no} before renewing: ${err.message}`, 'pay.error.upstream');
          throw err;
        }
      }
    }
  }
  return renewPayment(knex, input.outTradeNo, input.shopperId, input.now, input.qrTtlSeconds);
}

/**
 * The database half of "pay again": a new payment attempt for the same orders when this one can
 * no longer be paid (closed, or its QR code expired and closed at WeChat: see renewAttempt). One
 * transaction: the old attempt CLOSED, a new NOTPAY paylog for the same unpaid orders, which now
 * point at it. Idempotent: a second click finds the attempt the first one made. A payment that
 * landed meanwhile (on this attempt, or on another one for the same orders) is reported as `paid`
 * with the attempt that was paid, so the shopper is shown success rather than an error.
 */
export async function renewPayment(knex: Knex, outTradeNo: string, shopperId: string, now: Date, qrTtlSeconds: number): Promise<RenewOutcome> {
  return knex.transaction(async (trx): Promise<RenewOutcome> => {
    const old = (await trx('paylog').where({ out_trade_no: outTradeNo, shopper_id: shopperId }).forUpdate().first(PAYLOG_COLUMNS)) as Paylog | undefined;
    if (!old) throw new NotFound(`no paylog ${outTradeNo} for this shopper`, 'pay.notFound');
    if (old.trade_state === 'SUCCESS' || old.trade_state === 'REFUND') return { kind: 'paid', outTradeNo };
    const expiry = old.code_url_expires_at ?? qrExpiryOf(old, qrTtlSeconds);
    const stillPayable = old.trade_state === 'NOTPAY' && (old.code_url ? expiry.getTime() > now.getTime() : expiry.getTime() - now.getTime() >= MIN_QR_LIFETIME_MS);
    if (stillPayable) return { kind: 'current', outTradeNo };

    const orders = (await trx('orders')
      .join('paylog_orders', 'paylog_orders.order_id', 'orders.id')
      .where('paylog_orders.out_trade_no', outTradeNo)
      .forUpdate()
      .select('orders.id', 'orders.status', 'orders.out_trade_no', 'orders.total_fen')) as { id: number; status: string; out_trade_no: string; total_fen: number }[];
    // paid meanwhile through another attempt (a late payment of an older one, another tab): success
    const paidBy = orders.find((o) => o.status === 'paid' || o.status === 'refunded')?.out_trade_no;
    if (paidBy) return { kind: 'paid', outTradeNo: paidBy };
    // a second click: the orders already moved on to a newer attempt
    const newer = orders.find((o) => o.out_trade_no !== outTradeNo)?.out_trade_no;
    if (newer) return { kind: 'renewed', outTradeNo: newer };
    if (orders.length === 0 || orders.some((o) => o.status !== 'unpaid')) throw new Conflict(`orders of ${outTradeNo} are no longer unpaid`, 'pay.error.ordersClosed');

    if (old.trade_state === 'NOTPAY') {
      await trx('paylog').where({ out_trade_no: outTradeNo }).update({ trade_state: 'CLOSED', closed_at: now, updated_at: now });
    }
    const fresh = newOutTradeNo(now);
    await trx('paylog').insert({
      out_trade_no: fresh,
      shopper_id: shopperId,
      total_fee: orders.reduce((sum, o) => sum + o.total_fen, 0),
      trade_state: 'NOTPAY',
      create_time: now,
      updated_at: now,
    });
    await trx('paylog_orders').insert(orders.map((o) => ({ out_trade_no: fresh, order_id: o.id })));
    await trx('orders')
      .whereIn(
        'id',
        orders.map((o) => o.id),
      )
      .update({ out_trade_no: fresh, updated_at: now });
    await trx('order_log').insert(
      orders.map((o) => ({ order_id: o.id, from_status: 'unpaid', to_status: 'unpaid', operator: `shopper:${shopperId}`, remark: `new payment attempt ${fresh} replaces ${outTradeNo}`, at: now })),
    );
    await trx.raw('select pg_notify(?, ?)', [PAYLOG_CHANNEL, outTradeNo]);
    return { kind: 'renewed', outTradeNo: fresh };
  });
}

/** WeChat refuses closeorder sooner than this after the order was made. */
export const CLOSE_NOT_BEFORE_MS = 5 * 60 * 1000;

export type CloseTradeOutcome = 'closed' | 'already_closed' | 'paid' | 'too_early' | 'paying' | 'unknown_trade';

/**
 * Closes an unpaid attempt at WeChat and then here, never losing a payment on the way: ask first
 * (paid -> markPaid), respect WeChat's 5-minute rule, closeorder (ORDERPAID -> query and
 * markPaid), and only then closePaylog. WeChat calls happen outside any transaction; a transport
 * failure or SYSTEMERROR is thrown for the caller to retry later. Idempotent.
 */
export async function closeTrade(knex: Knex, client: WxPayClient, input: { outTradeNo: string; now: Date; operator: string; reason: string }): Promise<CloseTradeOutcome> {
  const paylog = (await knex('paylog').where({ out_trade_no: input.outTradeNo }).first('trade_state', 'create_time', 'code_url')) as
    | { trade_state: string; create_time: Date; code_url: string | null }
    | undefined;
  if (!paylog) return 'unknown_trade';
  if (paylog.trade_state === 'CLOSED') return 'already_closed';
  if (paylog.trade_state !== 'NOTPAY') return 'paid';

  const source = input.operator.startsWith('admin:') ? 'admin' : 'sweeper';
  let wechatState: string | undefined;
  try {
    const { answer, result } = await settleFromQuery(knex, client, input.outTradeNo, input.now, source, input.operator);
    if (result) return 'paid';
    wechatState = answer.tradeState;
  } catch (err) {
    // never sent to WeChat (no QR code was ever drawn): nothing to close there
    if (!(err instanceof WxBusinessError && err.errCode === 'ORDERNOTEXIST')) throw err;
    wechatState = 'ORDERNOTEXIST';
  }

  // the payer is entering the password right now: never close under them; the next round asks again
  if (wechatState === 'USERPAYING') return 'paying';
  if (wechatState !== 'CLOSED' && wechatState !== 'ORDERNOTEXIST') {
    if (input.now.getTime() - paylog.create_time.getTime() < CLOSE_NOT_BEFORE_MS) return 'too_early';
    try {
      await client.closeOrder({ outTradeNo: input.outTradeNo });
    } catch (err) {
      if (err instanceof WxBusinessError && err.errCode === 'ORDERPAID') {
        const { result } = await settleFromQuery(knex, client, input.outTradeNo, input.now, source, input.operator);
        if (result) return 'paid';
        throw err;
      }
      if (!(err instanceof WxBusinessError && (err.errCode === 'ORDERCLOSED' || err.errCode === 'ORDERNOTEXIST'))) throw err;
    }
  }
  // WeChat never had it (no code_url when we asked): close only if no QR code was drawn meanwhile
  const outcome = await closePaylog(knex, {
    outTradeNo: input.outTradeNo,
    now: input.now,
    operator: input.operator,
    reason: input.reason,
    onlyWithoutCodeUrl: wechatState === 'ORDERNOTEXIST',
  });
  return outcome === 'code_url_appeared' ? 'too_early' : outcome;
}

export type PayStatus = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'EXPIRED';

/** What the pay page's poll needs to know about an attempt, at `now`. */
export function statusOf(paylog: Pick<Paylog, 'trade_state' | 'code_url_expires_at' | 'paid_by'>, now: Date): PayStatus {
  if (paylog.trade_state === 'SUCCESS' || paylog.trade_state === 'REFUND') return 'SUCCESS';
  // its orders were paid through another attempt: the shopper has paid
  if (paylog.paid_by) return 'SUCCESS';
  if (paylog.trade_state === 'CLOSED') return 'CLOSED';
  if (paylog.code_url_expires_at && paylog.code_url_expires_at.getTime() <= now.getTime()) return 'EXPIRED';
  return 'NOTPAY';
}

/**
 * The poll's fallback for a lost webhook: once a trade has been NOTPAY for `queryAfterSeconds`
 * after its QR code was issued, ask WeChat, at most once per `queryIntervalSeconds` per trade
 * across every poller and instance (claimed with one conditional UPDATE), and settle through
 * markPaid when WeChat says SUCCESS. Returns true when this call asked WeChat.
 */
export async function queryIfOverdue(
  knex: Knex,
  client: WxPayClient,
  paylog: Pick<Paylog, 'out_trade_no' | 'trade_state' | 'code_url' | 'code_url_expires_at'>,
  now: Date,
  rules: { qrTtlSeconds: number; queryAfterSeconds: number; queryIntervalSeconds: number },
): Promise<boolean> {
  if (paylog.trade_state !== 'NOTPAY' || !paylog.code_url || !paylog.code_url_expires_at) return false;
  const issuedAt = paylog.code_url_expires_at.getTime() - rules.qrTtlSeconds * 1000;
  if (now.getTime() - issuedAt < rules.queryAfterSeconds * 1000) return false;
  const claimed = await knex('paylog')
    .where({ out_trade_no: paylog.out_trade_no, trade_state: 'NOTPAY' })
    .andWhere((q) => q.whereNull('last_queried_at').orWhere('last_queried_at', '<=', new Date(now.getTime() - rules.queryIntervalSeconds * 1000)))
    .update({ last_queried_at: now });
  if (claimed === 0) return false;
  await settleFromQuery(knex, client, paylog.out_trade_no, now, 'query');
  return true;
}

export type CheckNowOutcome = 'paid' | 'not_paid' | 'asked_recently' | 'closed' | 'expired' | 'unreachable';

/**
 * The shopper's "I have paid": asks WeChat now through the status poll's own path
 * (queryIfOverdue, without its waiting period), so the per-trade claim that keeps the poll from
 * asking more than once per `queryIntervalSeconds` bounds these presses too, across tabs and
 * instances. A SUCCESS is settled by markPaid there; nothing else is changed here.
 */
export async function checkPaymentNow(
  knex: Knex,
  client: WxPayClient,
  paylog: Paylog,
  now: Date,
  rules: { qrTtlSeconds: number; queryIntervalSeconds: number },
): Promise<CheckNowOutcome> {
  const before = statusOf(paylog, now);
  if (before === 'SUCCESS') return 'paid';
  if (before === 'CLOSED') return 'closed';
  if (before === 'EXPIRED') return 'expired';
  let asked: boolean;
  try {
    asked = await queryIfOverdue(knex, client, paylog, now, { ...rules, queryAfterSeconds: 0 });
  } catch (err) {
    if (err instanceof WxPayError) return 'unreachable';
    throw err;
  }
  if (statusOf(await reloadPaylog(knex, paylog.out_trade_no), now) === 'SUCCESS') return 'paid';
  return asked ? 'not_paid' : 'asked_recently';
}
