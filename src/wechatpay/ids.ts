/**
 * The merchant's own numbers as WeChat Pay v2 takes them: out_trade_no is 6..32 of digits,
 * letters and `_-|*`, out_refund_no 1..64 of the same and `@`. One spelling for the client, the
 * simulator, the ledger and every route that reads one from a URL.
 */
export const OUT_TRADE_NO_SOURCE = '[0-9A-Za-z_|*-]{6,32}';
export const OUT_TRADE_NO = new RegExp(`^${OUT_TRADE_NO_SOURCE}$`);
export const OUT_REFUND_NO = /^[0-9A-Za-z_|*@-]{1,64}$/;
/** transaction_id and refund_id as WeChat makes them */
export const WECHAT_ID = /^[0-9A-Za-z]{1,32}$/;

export function isOutTradeNo(text: string): boolean {
  return OUT_TRADE_NO.test(text);
}

export function isOutRefundNo(text: string): boolean {
  return OUT_REFUND_NO.test(text);
}
