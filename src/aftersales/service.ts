import type { Knex } from 'knex';
import { Conflict, NotFound } from '../errors';
import { CLOSE_NOT_BEFORE_MS, cancelAfterClose, decideCancelUnpaid, orderEvent, orderOfSession, readAttempt, recordCancelRequest, type CloseForCancel } from '../ledger';
import { closeTrade } from '../pay/attempts';
import { ProviderError, type PaymentProvider } from '../payments';

/**
 * The shopper's side after checkout (issue 24). Who may act on an order: the session that placed
 * it, or the session that found it by number and mobile (/orders/find, with its rate limits); any
 * other gets "not found", and nothing changes.
 */

export type CancelUnpaidResult =
  | { kind: 'cancelled'; orderId: number }
  /** paid after all (or before): the paid page of this attempt */
  | { kind: 'paid'; outTradeNo: string }
  /** WeChat cannot close it yet: the sweeper closes it at `closesAt` at the earliest, unless paid meanwhile */
  | { kind: 'requested'; orderId: number; closesAt: Date };

/**
 * The shopper cancels an unpaid checkout: the WHOLE payment attempt (all its orders), closed at
 * WeChat first through the provider port and then here by the ledger's closeAttempt, which gives
 * the stock back; if WeChat says it was paid after all, the payment is recorded and the shopper is
 * sent to the paid page. When WeChat cannot close it yet (its first five minutes, a payer entering
 * the password, WeChat unreachable) the cancel is recorded and the sweeper carries it out.
 * Idempotent.
 */
export async function cancelUnpaid(knex: Knex, provider: PaymentProvider, input: { orderId: number; shopperId: string | undefined; found: readonly number[]; now: Date }): Promise<CancelUnpaidResult> {
  const order = await orderOfSession(knex, input.orderId, input.shopperId, input.found);
  if (!order) throw new NotFound(`order ${input.orderId} is not this session's`, 'orders.notFound');
  const operator = `shopper:${input.shopperId ?? order.shopper_id}`;
  const decision = decideCancelUnpaid(order);
  const outTradeNo = order.out_trade_no ?? '';
  switch (decision) {
    case 'not_cancellable':
      throw new Conflict(`order ${order.id} is not an unpaid WeChat Pay order`, 'aftersale.error.notCancellable');
    case 'paid':
      return { kind: 'paid', outTradeNo };
    case 'already_closed':
      return { kind: 'cancelled', orderId: order.id };
    case 'close':
      break;
  }
  let closed: CloseForCancel;
  try {
    closed = await closeTrade(knex, provider, { outTradeNo, now: input.now, operator, event: orderEvent('closed_by_shopper', {}) });
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    closed = 'provider_failed';
  }
  switch (cancelAfterClose(closed)) {
    case 'cancelled':
      return { kind: 'cancelled', orderId: order.id };
    case 'paid':
      return { kind: 'paid', outTradeNo };
    case 'refused':
      throw new Conflict(`${outTradeNo} is paid at WeChat but not as we recorded it`, 'pay.error.inProgress');
    case 'requested': {
      const recorded = await recordCancelRequest(knex, { outTradeNo, operator, now: input.now });
      if (recorded === 'paid') return { kind: 'paid', outTradeNo };
      if (recorded === 'closed') return { kind: 'cancelled', orderId: order.id };
      const attempt = await readAttempt(knex, outTradeNo);
      const allowedAt = new Date((attempt?.create_time ?? input.now).getTime() + CLOSE_NOT_BEFORE_MS);
      return { kind: 'requested', orderId: order.id, closesAt: allowedAt.getTime() > input.now.getTime() ? allowedAt : input.now };
    }
  }
}
