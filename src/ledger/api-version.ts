import type { Knex } from 'knex';

/**
 * The API version a payment attempt was ordered with at WeChat (paylog.api_version), so its query,
 * close, refunds and notifies use the same one whichever version the shop speaks now. Undefined:
 * not ordered at WeChat yet, or no such attempt.
 */
export async function apiVersionOfAttempt(knex: Knex, outTradeNo: string): Promise<string | undefined> {
  const row = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('api_version')) as { api_version: string | null } | undefined;
  return row?.api_version ?? undefined;
}

/** The API version of the attempt a refund belongs to. */
export async function apiVersionOfRefund(knex: Knex, outRefundNo: string): Promise<string | undefined> {
  const row = (await knex('refunds').join('paylog', 'paylog.out_trade_no', 'refunds.out_trade_no').where('refunds.out_refund_no', outRefundNo).first('paylog.api_version')) as
    | { api_version: string | null }
    | undefined;
  return row?.api_version ?? undefined;
}
