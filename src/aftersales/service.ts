import type { Knex } from 'knex';
import { Conflict, Invalid, NotFound } from '../errors';
import { formatFen } from '../money';
import type { Clock } from '../deps';
import {
  CLOSE_NOT_BEFORE_MS,
  cancelAfterClose,
  cancelPaidOrder,
  decideAftersaleRequest,
  decideCancelUnpaid,
  orderEvent,
  orderOfSession,
  readAttempt,
  readRefund,
  recordCancelRequest,
  requestAfterDelivery,
  requestsDueForApproval,
  withdrawAftersale,
  type CloseForCancel,
  type MerchantDecisionResult,
} from '../ledger';
import { closeTrade } from '../pay/attempts';
import { ProviderError, type PaymentProvider } from '../payments';
import { sendRefund, type SendRefundOutcome } from '../refunds/service';

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

export type CancelPaidOutcome =
  /** refunded in full at once: the refund was sent to WeChat (`sent` says what it answered) */
  | { kind: 'refund'; amountFen: number; sent: SendRefundOutcome['kind'] | 'provider_failed' }
  /** waits for the merchant's approval (AFTERSALE_CANCEL_APPROVAL=merchant) */
  | { kind: 'requested' }
  /** asked for already (a request waits, or the money is on its way back) */
  | { kind: 'already' };

/**
 * The shopper cancels a paid order that has not shipped: the ledger's cancelPaidOrder stores the
 * request and, unless the merchant approves cancels, its refund of all that remains (PENDING, in
 * the same transaction); then the refund goes to WeChat through the existing refund machinery
 * (refunds/service.ts sendRefund, outside any transaction), and its notify or query settles it.
 */
export async function cancelPaid(
  knex: Knex,
  provider: PaymentProvider,
  input: { orderId: number; shopperId: string | undefined; found: readonly number[]; approval: 'auto' | 'merchant'; clock: Clock },
): Promise<CancelPaidOutcome> {
  const order = await orderOfSession(knex, input.orderId, input.shopperId, input.found);
  if (!order) throw new NotFound(`order ${input.orderId} is not this session's`, 'orders.notFound');
  const operator = `shopper:${input.shopperId ?? order.shopper_id}`;
  const result = await cancelPaidOrder(knex, { orderId: order.id, approval: input.approval, operator, now: input.clock() });
  switch (result.kind) {
    case 'unknown_order':
      throw new NotFound(`no order ${order.id}`, 'orders.notFound');
    case 'not_paid':
      throw new Conflict(`order ${order.id} is not paid by WeChat Pay`, 'aftersale.error.notPaid');
    case 'shipped':
      throw new Conflict(`order ${order.id} has shipped`, 'aftersale.error.shipped');
    case 'already':
    case 'requested':
      return { kind: result.kind };
    case 'refund': {
      const refund = await readRefund(knex, result.outRefundNo);
      const amountFen = refund?.refund_fee ?? 0;
      try {
        const sent = await sendRefund(knex, provider, { outRefundNo: result.outRefundNo, operator, clock: input.clock });
        return { kind: 'refund', amountFen, sent: sent.kind };
      } catch (err) {
        // WeChat unreachable: the refund stays PENDING with its number, for a retry with the same number
        if (err instanceof ProviderError) return { kind: 'refund', amountFen, sent: 'provider_failed' };
        throw err;
      }
    }
  }
}

export type ApproveOutcome = Exclude<MerchantDecisionResult, { kind: 'approved' }> | { kind: 'approved'; outRefundNo: string; sent: SendRefundOutcome | { kind: 'provider_failed'; message: string } };

/** The merchant decides a waiting request (ledger: decideAftersaleRequest); an approval's refund is then sent to WeChat. */
export async function decideRequest(knex: Knex, provider: PaymentProvider, input: { aftersaleId: number; approve: boolean; note: string; operator: string; clock: Clock; dueAfterHours?: number; maxRefundFen?: number }): Promise<ApproveOutcome> {
  const result = await decideAftersaleRequest(knex, {
    aftersaleId: input.aftersaleId,
    approve: input.approve,
    note: input.note,
    operator: input.operator,
    now: input.clock(),
    ...(input.dueAfterHours === undefined ? {} : { dueAfterHours: input.dueAfterHours }),
    ...(input.maxRefundFen === undefined ? {} : { maxRefundFen: input.maxRefundFen }),
  });
  if (result.kind !== 'approved') return result;
  try {
    return { ...result, sent: await sendRefund(knex, provider, { outRefundNo: result.outRefundNo, operator: input.operator, clock: input.clock }) };
  } catch (err) {
    if (err instanceof ProviderError) return { ...result, sent: { kind: 'provider_failed', message: err.message } };
    throw err;
  }
}

/** The sweeper's round: requests the merchant left undecided `hours` are approved (each in its own transaction, decided again under lock) and their refunds sent. Returns how many were. */
export async function approveDueRequests(knex: Knex, provider: PaymentProvider, input: { clock: Clock; hours: number; limit: number }): Promise<number> {
  let approved = 0;
  for (const aftersaleId of await requestsDueForApproval(knex, input.clock(), input.hours, input.limit)) {
    const outcome = await decideRequest(knex, provider, { aftersaleId, approve: true, note: '', operator: 'system', clock: input.clock, dueAfterHours: input.hours });
    if (outcome.kind === 'approved') approved += 1;
  }
  return approved;
}

/** "¥12.34", "12.3", "12" -> fen; undefined when it is not an amount of money. */
export function parseYuan(raw: unknown): number | undefined {
  const text = typeof raw === 'string' ? raw.trim().replace(/^¥/, '') : '';
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(text)) return undefined;
  const [whole = '0', part = ''] = text.split('.');
  return Number(whole) * 100 + Number(part.padEnd(2, '0'));
}

/** The shopper asks for "refund only" or "return and refund" after shipment (ledger: requestAfterDelivery decides). */
export async function askAfterDelivery(
  knex: Knex,
  input: { orderId: number; shopperId: string | undefined; found: readonly number[]; kind: unknown; reason: unknown; amount: unknown; note: unknown; now: Date; returnDays: number },
): Promise<{ aftersaleId: number }> {
  const order = await orderOfSession(knex, input.orderId, input.shopperId, input.found);
  if (!order) throw new NotFound(`order ${input.orderId} is not this session's`, 'orders.notFound');
  if (input.kind !== 'refund_only' && input.kind !== 'return_refund') throw new Invalid('kind must be refund_only or return_refund', 'aftersale.error.kind');
  const amountFen = parseYuan(input.amount);
  if (amountFen === undefined || amountFen <= 0) throw new Invalid('bad amount', 'aftersale.error.amount');
  const result = await requestAfterDelivery(knex, {
    orderId: order.id,
    kind: input.kind,
    reason: typeof input.reason === 'string' ? input.reason : '',
    amountFen,
    note: typeof input.note === 'string' ? input.note : '',
    operator: `shopper:${input.shopperId ?? order.shopper_id}`,
    now: input.now,
    returnDays: input.returnDays,
  });
  switch (result.kind) {
    case 'requested':
      return { aftersaleId: result.aftersaleId };
    case 'unknown_order':
      throw new NotFound(`no order ${order.id}`, 'orders.notFound');
    case 'not_paid':
      throw new Conflict(`order ${order.id} has nothing paid to refund`, 'aftersale.error.notPaid');
    case 'not_shipped':
      throw new Conflict(`order ${order.id} has not shipped`, 'aftersale.error.notShipped');
    case 'window_closed':
      throw new Conflict(`order ${order.id}: the return window is closed`, 'aftersale.error.windowClosed', { days: input.returnDays });
    case 'waiting':
      throw new Conflict(`order ${order.id} has a request waiting`, 'aftersale.error.waiting');
    case 'exceeds':
      throw new Conflict(`more than the ${result.leftFen} fen left`, 'aftersale.error.exceeds', { left: formatFen(result.leftFen) });
  }
}

/** The shopper withdraws their waiting request. */
export async function withdrawRequest(knex: Knex, input: { orderId: number; aftersaleId: number; shopperId: string | undefined; found: readonly number[]; now: Date }): Promise<'withdrawn' | 'not_waiting'> {
  const order = await orderOfSession(knex, input.orderId, input.shopperId, input.found);
  if (!order) throw new NotFound(`order ${input.orderId} is not this session's`, 'orders.notFound');
  const outcome = await withdrawAftersale(knex, { orderId: order.id, aftersaleId: input.aftersaleId, operator: `shopper:${input.shopperId ?? order.shopper_id}`, now: input.now });
  if (outcome === 'unknown_order') throw new NotFound(`no order ${order.id}`, 'orders.notFound');
  return outcome;
}
