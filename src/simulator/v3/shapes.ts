import { isPaid, type RefundRow, type TradeRow } from '../model';
import { rfc3339 } from './answers';

/** The simulator's rows as v3 writes them: a transaction (query, payment notify) and a refund (refund answers, refund notify). */

const TRADE_STATE_DESC: Readonly<Record<string, string>> = { SUCCESS: '支付成功', REFUND: '转入退款', NOTPAY: '订单未支付', CLOSED: '订单已关闭' };
const TRADE_TYPE_V3: Readonly<Record<string, string>> = { NATIVE: 'NATIVE', MWEB: 'MWEB', JSAPI: 'JSAPI' };

/** A trade as v3's query answers it (unpaid: no transaction_id, payer or success_time). */
export function v3Transaction(t: TradeRow): Record<string, unknown> {
  const paid = isPaid(t.trade_state);
  return {
    appid: t.appid,
    mchid: t.mch_id,
    out_trade_no: t.out_trade_no,
    ...(paid ? { transaction_id: t.transaction_id, bank_type: t.bank_type ?? 'OTHERS', success_time: t.time_end ? rfc3339(t.time_end) : undefined, payer: { openid: t.openid } } : {}),
    trade_type: TRADE_TYPE_V3[t.trade_type] ?? t.trade_type,
    trade_state: t.trade_state,
    trade_state_desc: TRADE_STATE_DESC[t.trade_state],
    ...(t.attach ? { attach: t.attach } : {}),
    amount: paid ? { total: t.total_fee, payer_total: t.cash_fee ?? t.total_fee, currency: 'CNY', payer_currency: 'CNY' } : { total: t.total_fee, currency: 'CNY' },
  };
}

const REFUND_STATUS_V3: Readonly<Record<string, string>> = { PROCESSING: 'PROCESSING', SUCCESS: 'SUCCESS', REFUNDCLOSE: 'CLOSED', CHANGE: 'ABNORMAL' };

export function v3Refund(t: TradeRow, r: RefundRow): Record<string, unknown> {
  return {
    refund_id: r.refund_id,
    out_refund_no: r.out_refund_no,
    transaction_id: t.transaction_id,
    out_trade_no: t.out_trade_no,
    channel: 'ORIGINAL',
    user_received_account: r.refund_recv_accout,
    ...(r.success_time ? { success_time: rfc3339(r.success_time) } : {}),
    create_time: rfc3339(r.created_at),
    status: REFUND_STATUS_V3[r.status],
    funds_account: 'UNSETTLED',
    amount: { total: r.total_fee, refund: r.refund_fee, payer_total: r.total_fee, payer_refund: r.refund_fee, settlement_refund: r.refund_fee, settlement_total: r.total_fee, discount_refund: 0, currency: 'CNY' },
  };
}


/** The sim_notifications payload of a v3 payment notify (v3/notify.ts encrypts and signs it at each attempt). */
export function v3PaymentNotifyPayload(t: TradeRow): Record<string, string> {
  return { out_trade_no: t.out_trade_no, event_type: 'TRANSACTION.SUCCESS', summary: '支付成功', original_type: 'transaction', associated_data: 'transaction', plaintext: JSON.stringify(v3Transaction(t)) };
}

const REFUND_EVENT: Readonly<Record<string, [string, string]>> = { SUCCESS: ['REFUND.SUCCESS', '退款成功'], CHANGE: ['REFUND.ABNORMAL', '退款异常'], REFUNDCLOSE: ['REFUND.CLOSED', '退款关闭'] };

/** The sim_notifications payload of a v3 refund notify; `associatedData`: the simulator's setting (WeChat's is unconfirmed). */
export function v3RefundNotifyPayload(t: TradeRow, r: RefundRow, associatedData: string): Record<string, string> {
  const [eventType, summary] = REFUND_EVENT[r.status] ?? ['REFUND.ABNORMAL', '退款异常'];
  const plaintext = {
    mchid: t.mch_id,
    transaction_id: t.transaction_id,
    out_trade_no: t.out_trade_no,
    refund_id: r.refund_id,
    out_refund_no: r.out_refund_no,
    refund_status: REFUND_STATUS_V3[r.status],
    ...(r.success_time ? { success_time: rfc3339(r.success_time) } : {}),
    user_received_account: r.refund_recv_accout,
    amount: { total: r.total_fee, refund: r.refund_fee, payer_total: r.total_fee, payer_refund: r.refund_fee },
  };
  return { out_trade_no: t.out_trade_no, event_type: eventType, summary, original_type: 'refund', associated_data: associatedData, plaintext: JSON.stringify(plaintext) };
}
