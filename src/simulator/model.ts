import type { Knex } from 'knex';
import type { SignType } from '../wechatpay';
import type { TradeRef } from './requests';

/**
 * The simulator's own rows (sim_trades, sim_refunds), their states, and the helpers every call on
 * them shares. The calls themselves are one file each: unified-order.ts, order-query.ts,
 * close-order.ts, refunds.ts, and phone.ts for the payer's side; merchants.ts for sim_merchants.
 * Each call is one transaction that locks its trade row first; its answer is an ApiOutcome that
 * api.ts signs and writes, and a notify is queued inside the transaction and sent after commit.
 */

export type TradeState = 'NOTPAY' | 'SUCCESS' | 'REFUND' | 'CLOSED';

export interface TradeRow {
  id: number;
  mch_id: string;
  appid: string;
  out_trade_no: string;
  sign_type: SignType;
  trade_type: string;
  body: string;
  attach: string | null;
  total_fee: number;
  fee_type: string;
  spbill_create_ip: string;
  notify_url: string;
  product_id: string | null;
  device_info: string | null;
  order_params: Record<string, string>;
  time_start: Date | null;
  time_expire: Date | null;
  prepay_id: string;
  code_token: string;
  code_expires_at: Date;
  phone_token: string;
  trade_state: TradeState;
  /** the API the trade was made on: its notifies are that version's */
  api_version: 'v2' | 'v3';
  transaction_id: string | null;
  time_end: Date | null;
  openid: string | null;
  bank_type: string | null;
  is_subscribe: string | null;
  cash_fee: number | null;
  refunded_fee: number;
  created_at: Date;
  closed_at: Date | null;
  updated_at: Date;
}

export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'REFUNDCLOSE' | 'CHANGE';

export interface RefundRow {
  id: number;
  mch_id: string;
  trade_id: number;
  out_refund_no: string;
  refund_id: string;
  total_fee: number;
  refund_fee: number;
  refund_desc: string | null;
  notify_url: string | null;
  status: RefundStatus;
  /** what the refund ends as when its time comes (a refund_change / refund_close fault) */
  outcome: 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';
  refund_channel: string;
  refund_account: string;
  refund_recv_accout: string;
  created_at: Date;
  complete_at: Date;
  success_time: Date | null;
  updated_at: Date;
}

export const isPaid = (state: TradeState): boolean => state === 'SUCCESS' || state === 'REFUND';

/** The sim_trades row a merchant names, by transaction_id when it gives one, else by out_trade_no. */
export function tradeKey(mchId: string, ref: TradeRef): { mch_id: string; transaction_id: string } | { mch_id: string; out_trade_no: string | undefined } {
  return ref.transactionId !== undefined ? { mch_id: mchId, transaction_id: ref.transactionId } : { mch_id: mchId, out_trade_no: ref.outTradeNo };
}

/** The trade a merchant names, its row locked for the rest of the transaction. */
export async function lockTrade(trx: Knex.Transaction, mchId: string, ref: TradeRef): Promise<TradeRow | undefined> {
  return (await trx('sim_trades').where(tradeKey(mchId, ref)).forUpdate().first()) as TradeRow | undefined;
}
