import { business, ok, type ApiOutcome, type SimContext, type SimMerchant } from './context';
import { isPaid, lockTrade, type TradeRow } from './model';

/** 关闭订单 (closeorder): "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟". */
export const CLOSE_NOT_BEFORE_MS = 5 * 60 * 1000;

/**
 * When the order was made, for closeorder's 5 minutes: its time_start when the unifiedorder carried
 * one (统一下单 defines time_start as 订单生成时间, the order's generation time, the very words of
 * closeorder's rule), else when the unifiedorder arrived.
 */
export function orderMadeAt(trade: Pick<TradeRow, 'time_start' | 'created_at'>): Date {
  return trade.time_start ?? trade.created_at;
}

/**
 * closeorder: a NOTPAY trade becomes CLOSED. Paid: ORDERPAID; closed already: ORDERCLOSED. Sooner
 * than 5 minutes after the order was made it is refused and the trade stays as it was: the docs
 * name no err_code for this, so the answer is the page's one "call again" code, SYSTEMERROR, with
 * the rule as err_code_des (live WeChat has been seen to take such a close; a shop must cope both ways).
 */
export async function closeOrder(ctx: SimContext, merchant: SimMerchant, outTradeNo: string, rules: { notBeforeMs: number } = { notBeforeMs: CLOSE_NOT_BEFORE_MS }): Promise<ApiOutcome> {
  const now = ctx.clock();
  return ctx.knex.transaction(async (trx) => {
    const trade = await lockTrade(trx, merchant.mchId, { outTradeNo });
    if (!trade) return business('ORDERNOTEXIST', '订单不存在');
    if (isPaid(trade.trade_state)) return business('ORDERPAID', '订单已支付，不能发起关单');
    if (trade.trade_state === 'CLOSED') return business('ORDERCLOSED', '订单已关闭，无法重复关闭');
    if (now.getTime() - orderMadeAt(trade).getTime() < rules.notBeforeMs) {
      return business('SYSTEMERROR', '订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟');
    }
    await trx('sim_trades').where({ id: trade.id }).update({ trade_state: 'CLOSED', closed_at: now, updated_at: now });
    return ok({ result_msg: 'OK' });
  });
}
