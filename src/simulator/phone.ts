import type { Knex } from 'knex';
import { buildPaymentNotify, formatBeijingTime, parseXml, type Fields } from '../wechatpay';
import { sameText } from '../timing-safe';
import type { SimContext } from './context';
import { faultWaiting, takeFault } from './faults';
import { codeTokenOf, codeUrlOf, newOpenid, newTransactionId } from './ids';
import { merchantName, merchantRowOf, toMerchant } from './merchants';
import { isPaid, type TradeRow } from './model';
import { enqueueNotification } from './notifier';
import { v3PaymentNotifyPayload } from './v3/shapes';

/**
 * The payer's side: the phone that scans a code_url and shows the trade, and payTrade, the one way
 * a trade becomes paid (the phone's Pay button here; the H5 cashier's and the JS bridge's in
 * mobile.ts), which queues the signed payment notify.
 */

export type PhoneState = 'payable' | 'paid' | 'closed' | 'expired';

/** What the phone shows after scanning a code_url. */
export interface PhoneView {
  codeUrl: string;
  merchantName: string;
  outTradeNo: string;
  body: string;
  totalFee: number;
  state: PhoneState;
  phoneToken: string;
  transactionId: string | null;
  timeEnd: Date | null;
}

function phoneStateOf(trade: TradeRow, now: Date): PhoneState {
  if (isPaid(trade.trade_state)) return 'paid';
  if (trade.trade_state === 'CLOSED') return 'closed';
  if (now.getTime() >= trade.code_expires_at.getTime()) return 'expired';
  return 'payable';
}

function phoneView(trade: TradeRow, merchantName: string, now: Date): PhoneView {
  return {
    codeUrl: codeUrlOf(trade.code_token),
    merchantName,
    outTradeNo: trade.out_trade_no,
    body: trade.body,
    totalFee: trade.total_fee,
    state: phoneStateOf(trade, now),
    phoneToken: trade.phone_token,
    transactionId: trade.transaction_id,
    timeEnd: trade.time_end,
  };
}

/** A trade as the payer's screen shows it (the phone, the H5 cashier). */
export async function phoneViewOf(ctx: SimContext, trade: TradeRow): Promise<PhoneView> {
  return phoneView(trade, await merchantName(ctx.knex, trade.mch_id), ctx.clock());
}

/** The trade behind a code_url, as the phone shows it; undefined for a code_url nobody issued (or one replaced by a newer one). */
export async function scanCode(ctx: SimContext, codeUrl: string): Promise<PhoneView | undefined> {
  const token = codeTokenOf(codeUrl);
  if (token === undefined) return undefined;
  const trade = (await ctx.knex('sim_trades').where({ code_token: token, trade_type: 'NATIVE' }).first()) as TradeRow | undefined;
  if (!trade) return undefined;
  const view = phoneView(trade, await merchantName(ctx.knex, trade.mch_id), ctx.clock());
  // a pay_after_expire fault waits for this trade: the phone offers Pay on an expired or closed code
  if ((view.state === 'expired' || view.state === 'closed') && (await faultWaiting(ctx.knex, { mchId: trade.mch_id, kind: 'pay_after_expire', outTradeNo: trade.out_trade_no }))) {
    return { ...view, state: 'payable' };
  }
  return view;
}

export type PayOutcome =
  | { kind: 'paid'; view: PhoneView }
  | { kind: 'refused'; view: PhoneView }
  | { kind: 'cancelled'; view: PhoneView }
  | { kind: 'not_found' }
  | { kind: 'forbidden' };

/**
 * The phone's Pay button: a payable trade becomes SUCCESS with a fresh transaction_id, time_end now,
 * a payer openid and bank type, and its signed payment notify is queued. A trade paid, closed or
 * past its code_url's life is refused and left as it is. Needs the page's phone token.
 */
export async function payByCode(ctx: SimContext, codeUrl: string, phoneToken: string): Promise<PayOutcome> {
  const token = codeTokenOf(codeUrl);
  if (token === undefined) return { kind: 'not_found' };
  return payTrade(ctx, (trx) => trx('sim_trades').where({ code_token: token, trade_type: 'NATIVE' }).forUpdate().first() as Promise<TradeRow | undefined>, (trade) => sameText(trade.phone_token, phoneToken));
}

/** v2's payment notify: the paid trade's fields, signed by buildPaymentNotify. */
function paymentNotifyFields(t: TradeRow, paidAt: Date, withSignType: boolean): Fields {
  return {
    device_info: t.device_info ?? undefined,
    openid: t.openid ?? undefined,
    is_subscribe: t.is_subscribe ?? undefined,
    trade_type: t.trade_type,
    bank_type: t.bank_type ?? undefined,
    total_fee: t.total_fee,
    fee_type: t.fee_type,
    cash_fee: t.cash_fee ?? t.total_fee,
    transaction_id: t.transaction_id ?? undefined,
    out_trade_no: t.out_trade_no,
    attach: t.attach ?? undefined,
    time_end: formatBeijingTime(paidAt),
    // signed like every field; absent unless a notify_sign_type fault asks for it, as WeChat mostly does
    sign_type: withSignType ? t.sign_type : undefined,
  };
}

/**
 * The payer pays a trade (the phone's Pay, the H5 cashier's, the JS bridge's): in one transaction
 * with the trade row locked, a payable trade becomes SUCCESS with a fresh transaction_id, time_end
 * now, the payer's openid (a JSAPI trade's own, else a new one) and bank type, and its signed
 * payment notify is queued. A trade paid, closed or past its code's life is refused and left as it
 * is; `allowed` says whether this payer may pay it at all.
 */
export async function payTrade(ctx: SimContext, lock: (trx: Knex.Transaction) => Promise<TradeRow | undefined>, allowed: (trade: TradeRow) => boolean): Promise<PayOutcome> {
  const now = ctx.clock();
  const outcome = await ctx.knex.transaction(async (trx): Promise<PayOutcome> => {
    const trade = await lock(trx);
    if (!trade) return { kind: 'not_found' };
    if (!allowed(trade)) return { kind: 'forbidden' };
    const merchant = toMerchant(await merchantRowOf(trx, trade.mch_id), ctx.keys);
    const state = phoneStateOf(trade, now);
    const late = state === 'expired' || state === 'closed';
    // WeChat has been seen to take a payment after time_expire or a close: under a fault, so does the phone
    if (state !== 'payable' && !(late && (await takeFault(trx, { mchId: trade.mch_id, kind: 'pay_after_expire', outTradeNo: trade.out_trade_no })))) {
      return { kind: 'refused', view: phoneView(trade, merchant.name, now) };
    }
    const withSignType = (await takeFault(trx, { mchId: trade.mch_id, kind: 'notify_sign_type', outTradeNo: trade.out_trade_no })) !== undefined;
    const [paid] = (await trx('sim_trades')
      .where({ id: trade.id })
      .update({
        trade_state: 'SUCCESS',
        transaction_id: newTransactionId(now),
        time_end: now,
        openid: trade.openid ?? newOpenid(),
        bank_type: 'OTHERS',
        is_subscribe: 'N',
        cash_fee: trade.total_fee,
        updated_at: now,
      })
      .returning('*')) as TradeRow[];
    const t = paid as TradeRow;
    // the notify in the API the trade was made on
    const payload =
      t.api_version === 'v3'
        ? v3PaymentNotifyPayload(t)
        : { ...(await parseXml(buildPaymentNotify(paymentNotifyFields(t, now, withSignType), { appId: t.appid, mchId: t.mch_id, apiKey: merchant.apiKey, signType: t.sign_type }))) };
    await enqueueNotification(trx, ctx, { kind: 'pay', mchId: t.mch_id, tradeId: t.id, outTradeNo: t.out_trade_no, url: t.notify_url, payload, apiVersion: t.api_version });
    return { kind: 'paid', view: phoneView(t, merchant.name, now) };
  });
  if (outcome.kind === 'paid') ctx.wake();
  return outcome;
}

/** The phone's Cancel button: the shopper backs out; the trade stays NOTPAY, as on a real phone. */
export async function cancelByCode(ctx: SimContext, codeUrl: string, phoneToken: string): Promise<PayOutcome> {
  const view = await scanCode(ctx, codeUrl);
  if (!view) return { kind: 'not_found' };
  if (!sameText(view.phoneToken, phoneToken)) return { kind: 'forbidden' };
  return { kind: 'cancelled', view };
}
