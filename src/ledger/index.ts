import type { Knex } from 'knex';
import client from 'prom-client';
import { Conflict, Invalid, NotFound } from '../errors';
import { needsAttentionAlert, orderPaidAlert, type AlertEvent } from './alerts';
import { deliveryAfter } from './delivery-rules';
import { orderEvent, type OrderEvent } from './events';
import { markPaidInOneStatement, type NotifyRecord } from './fast-path';
import { isPaid, newOutTradeNo, type PaySource, type PayType, type TradeState, type TradeType } from './model';
import { insertAlerts } from './outbox-repo';
import * as repo from './repo';
import * as stock from './stock-repo';
import { checkoutLimitBreach, decideClose, decidePayment, decideRenew, MAX_ATTEMPTS_PER_ORDERS, type CheckoutLimits, type MarkPaidOutcome, type WechatWord } from './rules';

/**
 * THE owner of a payment attempt. Every state change of money or orders is one function here
 * (refunds: ./refunds.ts; cash on delivery and the goods: ./delivery.ts; flags: ./flags.ts), in
 * one transaction: the rows it decides on locked first (paylog row, then its orders, then a
 * refund), the decision taken by rules.ts, the statements run by repo.ts, the waiters woken by a
 * pg_notify that arrives after commit. Features (checkout, pay, refunds, admin, the sweeper) talk
 * to WeChat outside any transaction and hand what it said to these functions. Every function is
 * idempotent: doing it again changes nothing and says so.
 *
 * PGlite is one connection: inside these transactions only `trx` is used.
 */

export * from './model';
export * from './events';
export * from './rules';
export * from './aftersale-rules';
export * from './aftersale';
export * from './aftersale-returns';
export * from './refund-rules';
export * from './delivery-rules';
export * from './refunds';
export * from './delivery';
export * from './fulfilment-rules';
export * from './fulfilment';
export * from './alerts';
export * from './reconcile-alerts';
export * from './flags';
export * from './reads';
export * from './stock';
export { type NotifyRecord } from './fast-path';
export { PAYLOG_CHANNEL, storeOrdered } from './repo';
export { type SweepKind, claimForSweep, claimQuery } from './sweep-repo';
export { liveRefundFen } from './refund-repo';

// ---- checkout ------------------------------------------------------------------------------

export interface PlaceOrdersInput {
  shopperId: string;
  /** variant id -> quantity, as the cart holds it (checked here again) */
  lines: readonly { variantId: number; quantity: number }[];
  receiver: { name: string; mobile: string; address: string };
  payType: PayType;
  /** WeChat Pay: how the attempt is paid (chosen by the shopper's device) */
  tradeType: TradeType;
  /** one per rendered checkout form: a double submit finds the first result */
  checkoutToken: string;
  /** the shopper's network address, for the per-address limits */
  clientIp: string;
  now: Date;
  limits: CheckoutLimits;
}

export interface CheckoutResult {
  orderIds: number[];
  /** the payment attempt to pay (WeChat Pay); undefined for cash on delivery */
  outTradeNo: string | undefined;
  totalFen: number;
  /** false when this token had already checked out (a double submit): nothing new was made */
  created: boolean;
}

async function existingCheckout(knex: Knex, shopperId: string, checkoutToken: string): Promise<CheckoutResult | undefined> {
  const orders = await repo.ordersOfCheckoutToken(knex, checkoutToken);
  if (orders.length === 0) return undefined;
  if (orders.some((o) => o.shopper_id !== shopperId)) throw new Conflict('checkout token belongs to another shopper', 'checkout.error.stale');
  return { orderIds: orders.map((o) => o.id), outTradeNo: orders[0]?.out_trade_no ?? undefined, totalFen: orders.reduce((sum, o) => sum + o.total_fen, 0), created: false };
}

/**
 * The cart becomes one order per seller, in ONE transaction: the shopper's and the address's
 * open checkouts within their bounds (under a lock per shopper, then per address, so two
 * checkouts at once cannot both slip under), items at the database's prices (never the form's),
 * the variants locked in id order and their stock taken (never below zero, each unit a 'sale'
 * stock movement naming its order), only of products on sale, a NOTPAY paylog row for WeChat Pay
 * (total_fee = the sum of the orders), order_log rows. Idempotent per checkout token.
 */
export async function placeOrders(knex: Knex, input: PlaceOrdersInput): Promise<CheckoutResult> {
  const already = await existingCheckout(knex, input.shopperId, input.checkoutToken);
  if (already) return already;
  // a fixed lock order, so two checkouts of the same variants cannot deadlock
  const lines = [...input.lines].sort((a, b) => a.variantId - b.variantId);
  if (lines.length === 0) throw new Invalid('the cart is empty', 'checkout.error.emptyCart');
  const units = lines.reduce((sum, l) => sum + l.quantity, 0);
  const ip = input.clientIp.slice(0, 64);
  try {
    return await knex.transaction(async (trx) => {
      await repo.lockName(trx, `checkout:shopper:${input.shopperId}`);
      await repo.lockName(trx, `checkout:ip:${ip}`);
      const breach = checkoutLimitBreach(await repo.openHoldings(trx, input.shopperId, ip), units, input.limits);
      if (breach?.kind === 'open') {
        throw new Conflict(`${breach.by} holds ${breach.count} open checkouts`, 'checkout.error.tooManyOpen', { count: breach.count, max: breach.max });
      }
      if (breach?.kind === 'units') throw new Conflict(`${breach.by} would hold more than ${breach.max} units`, 'checkout.error.tooManyUnits', { max: breach.max });

      // the variants locked in id order, read at the database's prices (never the form's)
      const variants = await stock.lockVariants(
        trx,
        lines.map((l) => l.variantId),
      );
      const bySeller = new Map<string, repo.NewOrder['items']>();
      for (const line of lines) {
        const variant = variants.get(line.variantId);
        if (!variant || !variant.sellable) throw new Conflict(`variant ${line.variantId} is not sold`, 'checkout.error.productGone');
        if (variant.stock < line.quantity) {
          const title = variant.label ? `${variant.title} (${variant.label})` : variant.title;
          throw new Conflict(`${title}: ${line.quantity} wanted, ${variant.stock} left`, 'cart.notEnoughStock', { title, stock: variant.stock });
        }
        const items = bySeller.get(variant.seller) ?? [];
        items.push({ productId: variant.productId, variantId: variant.id, sku: variant.sku, variantLabel: variant.label, title: variant.title, unitPriceFen: variant.priceFen, quantity: line.quantity });
        bySeller.set(variant.seller, items);
      }
      const sellers = [...bySeller.keys()].sort();
      const totals = sellers.map((seller) => (bySeller.get(seller) ?? []).reduce((sum, i) => sum + i.unitPriceFen * i.quantity, 0));
      const totalFen = totals.reduce((a, b) => a + b, 0);

      const outTradeNo = input.payType === 'wxpay' ? newOutTradeNo(input.now) : undefined;
      if (outTradeNo) await repo.insertAttempt(trx, { outTradeNo, shopperId: input.shopperId, totalFee: totalFen, tradeType: input.tradeType, now: input.now });
      const line = { operator: `shopper:${input.shopperId}`, event: outTradeNo ? orderEvent('checkout_wxpay', { outTradeNo }) : orderEvent('checkout_cod', {}), at: input.now };
      const orderIds: number[] = [];
      for (const [index, seller] of sellers.entries()) {
        orderIds.push(
          await repo.insertOrder(
            trx,
            {
              shopperId: input.shopperId,
              seller,
              payType: input.payType,
              totalFen: totals[index] ?? 0,
              receiver: input.receiver,
              outTradeNo,
              checkoutToken: input.checkoutToken,
              clientIp: ip,
              items: bySeller.get(seller) ?? [],
            },
            line,
          ),
        );
      }
      // the units taken, one 'sale' movement per line (checked above; a second guard in the decrement)
      for (const orderId of orderIds) await stock.takeForOrder(trx, orderId, { operator: line.operator, at: input.now });
      if (outTradeNo) await repo.linkOrders(trx, outTradeNo, orderIds);
      return { orderIds, outTradeNo, totalFen, created: true };
    });
  } catch (err) {
    // the same token submitted twice at once: the other submit won (by the unique key, or by
    // taking the last units first, so that this one saw no stock); return its result
    const winner = await existingCheckout(knex, input.shopperId, input.checkoutToken);
    if (winner) return winner;
    throw err;
  }
}

// ---- payment -------------------------------------------------------------------------------

export interface MarkPaidInput {
  outTradeNo: string;
  transactionId: string;
  /** what WeChat says was paid, integer fen */
  totalFee: number;
  /** WeChat's time_end */
  paidAt: Date;
  source: PaySource;
  /** who: `system` for WeChat's news, `admin:<user>` for an admin's query */
  operator?: string | undefined;
  now: Date;
}

export interface MarkPaidResult {
  outcome: MarkPaidOutcome;
  tradeState: TradeState | undefined;
  orderIds: number[];
  /** the webhook's notify_log row was stored in the same statement (see repo.markPaidInOneStatement) */
  recorded: boolean;
}

/**
 * markPaid's outcomes by source, counted wherever the news came from. Registered into each app's
 * registry by createApp (one process-wide series: several apps in one process share it).
 */
export const markPaidOutcomes = new client.Counter({
  name: 'pay_markpaid_outcomes_total',
  help: 'markPaid calls by outcome and by where the news came from',
  labelNames: ['outcome', 'source'] as const,
  registers: [],
});

/**
 * The one way to SUCCESS, whatever brought the news (webhook, status poll's orderquery, sweeper,
 * admin). The common cases (NOTPAY -> SUCCESS with all its orders waiting; a duplicate) in one
 * statement; anything else in one locked transaction decided by rules.decidePayment: refuse a
 * wrong amount, no-op on a duplicate, never overwrite a different transaction id, pay the orders
 * (late or twice: flagged), write order_log, pg_notify the waiters (after commit, on every
 * instance). Idempotent per (out_trade_no, transaction_id). `record` is the webhook's own
 * notify_log row, stored with the fast path's statement when that one decides.
 */
export async function markPaid(knex: Knex, input: MarkPaidInput, record?: NotifyRecord): Promise<MarkPaidResult> {
  const operator = input.operator ?? 'system';
  const fast = await markPaidInOneStatement(knex, { ...input, operator }, record);
  const result: MarkPaidResult = fast
    ? fast.outcome === 'paid'
      ? { outcome: 'paid', tradeState: 'SUCCESS', orderIds: fast.orderIds, recorded: fast.recorded }
      : { outcome: 'duplicate', tradeState: fast.state, orderIds: [], recorded: fast.recorded }
    : await markPaidInTransaction(knex, input, operator);
  markPaidOutcomes.inc({ outcome: result.outcome, source: input.source });
  return result;
}

function markPaidInTransaction(knex: Knex, input: MarkPaidInput, operator: string): Promise<MarkPaidResult> {
  return knex.transaction(async (trx): Promise<MarkPaidResult> => {
    const attempt = await repo.lockAttempt(trx, input.outTradeNo);
    // its orders are read (and locked) only when they may change: the amount is right and it is not paid yet
    const orders = attempt && attempt.total_fee === input.totalFee && !isPaid(attempt.trade_state) ? await repo.lockOrdersOfAttempt(trx, input.outTradeNo) : [];
    const decision = decidePayment(attempt, orders, input);
    const done = (outcome: MarkPaidOutcome, orderIds: number[] = []): MarkPaidResult => ({ outcome, tradeState: attempt?.trade_state, orderIds, recorded: false });
    // the merchant hears of a payment that did not go as it should, once per piece of news
    const attention = async (reason: 'amount_mismatch' | 'conflict' | 'late_payment' | 'double_payment', dedupeKey?: string) => {
      if (!attempt) return;
      const its = orders.length > 0 ? orders : await repo.lockOrdersOfAttempt(trx, input.outTradeNo);
      await insertAlerts(trx, [needsAttentionAlert({ reason, outTradeNo: input.outTradeNo, amountFen: input.totalFee, orders: its, transactionId: input.transactionId, ...(dedupeKey ? { dedupeKey } : {}) })], input.now);
    };
    switch (decision.outcome) {
      case 'unknown_trade':
      case 'duplicate':
        return done(decision.outcome);
      case 'amount_mismatch':
        // nothing changes, but someone sent news of another amount: WeChat retries it, the merchant hears it once
        await attention('amount_mismatch', `amount_mismatch:${input.outTradeNo}:${input.transactionId}:${input.totalFee}`);
        return done(decision.outcome);
      case 'conflict':
        // an earlier flag (a late payment) stays: the admin sees both in the detail and notify_log
        if (decision.recordConflict) {
          await repo.recordConflict(trx, input.outTradeNo, decision.recordConflict, input.now);
          await attention('conflict');
        }
        return done('conflict');
      default: {
        await repo.changeAttempt(trx, input.outTradeNo, { trade_state: 'SUCCESS', transaction_id: input.transactionId, pay_time: input.paidAt, ...(decision.flag ? { flag: decision.flag } : {}) }, input.now);
        const short = await stock.retakeStock(trx, decision.retakeStockOf, { operator, at: input.now });
        const paid = { transactionId: input.transactionId, source: input.source };
        await repo.moveOrders(trx, decision.payOrders, { to: 'paid', paidAt: input.paidAt, outTradeNo: input.outTradeNo }, { operator, event: decision.late ? orderEvent('paid_late', paid) : orderEvent('paid', paid), at: input.now });
        // goods sold meanwhile: each order says which of its lines could not be taken again
        for (const [orderId, lines] of short) await repo.noteOnOrders(trx, [orderId], { operator, event: orderEvent('stock_short', { lines }), at: input.now });
        const alerts: AlertEvent[] = decision.payOrders.map((paid) => {
          const order = orders.find((o) => o.id === paid.id);
          return orderPaidAlert({ id: paid.id, total_fen: order?.total_fen ?? 0, pay_type: 'wxpay' }, { outTradeNo: input.outTradeNo, transactionId: input.transactionId, late: decision.late });
        });
        await insertAlerts(trx, alerts, input.now);
        if (decision.flag) await attention(decision.flag);
        await repo.wake(trx, decision.wake);
        return { outcome: decision.outcome, tradeState: 'SUCCESS', orderIds: decision.payOrders.map((o) => o.id), recorded: false };
      }
    }
  });
}

export type CloseAttemptOutcome = 'closed' | 'already_closed' | 'paid' | 'unknown_trade' | 'ordered_meanwhile' | 'still_open';

/**
 * NOTPAY -> CLOSED in one transaction, under the one close rule (rules.closableHere) from what
 * WeChat said (`wechat`): the paylog row locked first, its orders that still wait for this attempt
 * closed (their goods never to be sent) with their stock given back, order_log written, waiters
 * woken. Idempotent: closing a closed attempt is a no-op that says so; a paid one stays paid.
 */
export async function closeAttempt(knex: Knex, input: { outTradeNo: string; now: Date; operator: string; event: OrderEvent; wechat: WechatWord }): Promise<CloseAttemptOutcome> {
  return knex.transaction(async (trx) => {
    const attempt = await repo.lockAttempt(trx, input.outTradeNo);
    const decision = decideClose(attempt, input.wechat);
    if (decision !== 'close') return decision;
    // the shopper's cancel, carried out now that WeChat allows it (the sweeper's round, or the shopper's own)
    const event = attempt?.cancel_requested_at ? orderEvent('closed_by_shopper', {}) : input.event;
    await repo.changeAttempt(trx, input.outTradeNo, { trade_state: 'CLOSED', closed_at: input.now }, input.now);
    // only the orders whose current attempt this is: a newer attempt keeps its orders open
    const orders = await repo.lockCurrentOrders(trx, input.outTradeNo, 'unpaid');
    await stock.returnStock(
      trx,
      orders.map((o) => o.id),
      { reason: 'release', operator: input.operator, at: input.now },
    );
    const line = { operator: input.operator, event, at: input.now };
    await repo.moveOrders(
      trx,
      orders.map((o) => ({ id: o.id, from: 'unpaid' as const, delivery: deliveryAfter(o.delivery_status, 'closed') })),
      { to: 'closed' },
      line,
    );
    // superseded, or its orders paid through another attempt: none moved, but its orders' log says it closed
    if (orders.length === 0) await repo.noteOnOrdersOf(trx, input.outTradeNo, line);
    await repo.wake(trx, [input.outTradeNo]);
    return 'closed';
  });
}

export type RenewOutcome = { kind: 'renewed' | 'current' | 'paid'; outTradeNo: string };

/**
 * The database half of "pay again" and of switching how to pay (pay/service.ts asks WeChat first
 * and closes the old attempt there when it can): a new attempt for the same unpaid orders, paid
 * `tradeType` (default: the old one's). One transaction: the old attempt CLOSED only under the one
 * close rule from what WeChat said (`wechat`, which the caller must state: nothing asked closes
 * nothing), else it stays NOTPAY, superseded, for the sweeper to close once WeChat allows; a new
 * NOTPAY paylog for the same orders, which now point at it. Idempotent: a second click finds the
 * attempt the first one made. A payment that landed meanwhile is reported as `paid` with the
 * attempt that was paid.
 */
export async function replaceAttempt(
  knex: Knex,
  input: { outTradeNo: string; shopperId: string; now: Date; qrTtlSeconds: number; tradeType?: TradeType; wechat: WechatWord },
): Promise<RenewOutcome> {
  return knex.transaction(async (trx): Promise<RenewOutcome> => {
    const old = await repo.lockAttempt(trx, input.outTradeNo);
    if (!old || old.shopper_id !== input.shopperId) throw new NotFound(`no paylog ${input.outTradeNo} for this shopper`, 'pay.notFound');
    const orders = await repo.lockOrdersOfAttempt(trx, input.outTradeNo);
    const attempts = await repo.attemptsOfOrders(
      trx,
      orders.map((o) => o.id),
    );
    const decision = decideRenew(old, orders, input.now, input.qrTtlSeconds, { tradeType: input.tradeType ?? old.trade_type, wechat: input.wechat, attempts });
    switch (decision.kind) {
      case 'paid':
      case 'renewed':
        return { kind: decision.kind, outTradeNo: decision.outTradeNo };
      case 'current':
        return { kind: 'current', outTradeNo: input.outTradeNo };
      case 'orders_closed':
        throw new Conflict(`orders of ${input.outTradeNo} are no longer unpaid`, 'pay.error.ordersClosed');
      case 'too_many_attempts':
        throw new Conflict(`orders of ${input.outTradeNo} have had ${attempts} payment attempts`, 'pay.error.tooManyAttempts', { max: MAX_ATTEMPTS_PER_ORDERS });
      case 'replace': {
        if (decision.closeOld) await repo.changeAttempt(trx, input.outTradeNo, { trade_state: 'CLOSED', closed_at: input.now }, input.now);
        const fresh = newOutTradeNo(input.now);
        await repo.insertAttempt(trx, { outTradeNo: fresh, shopperId: input.shopperId, totalFee: decision.totalFee, tradeType: decision.tradeType, now: input.now, offeredUntil: decision.offeredUntil });
        await repo.linkOrders(trx, fresh, decision.orderIds);
        await repo.moveOrders(
          trx,
          decision.orderIds.map((id) => ({ id, from: 'unpaid' as const })),
          { to: 'unpaid', outTradeNo: fresh },
          {
            operator: `shopper:${input.shopperId}`,
            event:
              decision.tradeType === old.trade_type
                ? orderEvent('attempt_replaced', { fresh, old: input.outTradeNo })
                : orderEvent('attempt_switched', { fresh, old: input.outTradeNo, tradeType: decision.tradeType, oldTradeType: old.trade_type, closeLater: !decision.closeOld }),
            at: input.now,
          },
        );
        await repo.wake(trx, [input.outTradeNo]);
        return { kind: 'renewed', outTradeNo: fresh };
      }
    }
  });
}

/** An audit line on each order of an attempt, keeping its status: who asked what, and what came of it. */
export async function noteOnAttempt(knex: Knex, outTradeNo: string, operator: string, event: OrderEvent, now: Date): Promise<void> {
  await repo.noteOnOrdersOf(knex, outTradeNo, { operator, event, at: now });
}
export { apiVersionOfAttempt, apiVersionOfRefund } from './api-version';
