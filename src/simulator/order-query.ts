import { formatBeijingTime, type Fields } from '../wechatpay';
import { business, ok, type ApiOutcome, type SimContext, type SimMerchant } from './context';
import { takeFault } from './faults';
import { isPaid, tradeKey, type TradeRow, type TradeState } from './model';
import type { TradeRef } from './requests';

/**
 * orderquery (查询订单): what a trade's state is, read without changing it, except that an
 * orderquery_userpaying / _payerror fault makes an unpaid trade answer USERPAYING or PAYERROR once.
 */

/** A state WeChat answers for an unpaid trade while the payer is at it; here only under a fault. */
type PassingState = 'USERPAYING' | 'PAYERROR';

/** A USERPAYING or PAYERROR answer for an unpaid trade, when such a fault is waiting for it. */
async function passingState(ctx: SimContext, trade: TradeRow): Promise<PassingState | undefined> {
  if (trade.trade_state !== 'NOTPAY') return undefined;
  return ctx.knex.transaction(async (trx) => {
    if (await takeFault(trx, { mchId: trade.mch_id, kind: 'orderquery_userpaying', outTradeNo: trade.out_trade_no })) return 'USERPAYING';
    if (await takeFault(trx, { mchId: trade.mch_id, kind: 'orderquery_payerror', outTradeNo: trade.out_trade_no })) return 'PAYERROR';
    return undefined;
  });
}

// ---------------------------------------------------------------------------------------------
// v2's answer

const TRADE_STATE_DESC: Readonly<Record<TradeState, string>> = {
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  NOTPAY: '订单未支付',
  CLOSED: '订单已关闭',
};

/** What an unpaid trade answers to orderquery while an orderquery_userpaying / _payerror fault lasts. */
const PASSING_STATE_DESC: Readonly<Record<PassingState, string>> = { USERPAYING: '用户支付中，需要输入密码', PAYERROR: '支付失败，请重新下单支付' };

function paidFields(trade: TradeRow): Fields {
  return {
    openid: trade.openid ?? undefined,
    is_subscribe: trade.is_subscribe ?? undefined,
    bank_type: trade.bank_type ?? undefined,
    cash_fee: trade.cash_fee ?? undefined,
    cash_fee_type: 'CNY',
    transaction_id: trade.transaction_id ?? undefined,
    time_end: trade.time_end ? formatBeijingTime(trade.time_end) : undefined,
  };
}

function orderQueryAnswer(trade: TradeRow, passing: PassingState | undefined): ApiOutcome {
  return ok({
    device_info: trade.device_info ?? undefined,
    out_trade_no: trade.out_trade_no,
    trade_state: passing ?? trade.trade_state,
    trade_state_desc: passing ? PASSING_STATE_DESC[passing] : TRADE_STATE_DESC[trade.trade_state],
    trade_type: trade.trade_type,
    total_fee: trade.total_fee,
    fee_type: trade.fee_type,
    attach: trade.attach ?? undefined,
    ...(isPaid(trade.trade_state) ? paidFields(trade) : {}),
  });
}

/**
 * orderquery: trade_state SUCCESS/REFUND/NOTPAY/CLOSED (a NOTPAY trade stays NOTPAY past its expiry
 * until closed), and USERPAYING or PAYERROR for an unpaid trade while such a fault lasts.
 */
export async function orderQuery(ctx: SimContext, merchant: SimMerchant, ref: TradeRef): Promise<ApiOutcome> {
  const trade = (await ctx.knex('sim_trades').where(tradeKey(merchant.mchId, ref)).first()) as TradeRow | undefined;
  if (!trade) return business('ORDERNOTEXIST', '此交易订单号不存在');
  return orderQueryAnswer(trade, await passingState(ctx, trade));
}
