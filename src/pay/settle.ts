import type { Knex } from 'knex';
import client from 'prom-client';

/** The channel on which every instance hears that a paylog changed state (payload: out_trade_no). */
export const PAYLOG_CHANNEL = 'paylog_settled';

export type PaySource = 'notify' | 'query' | 'sweeper' | 'admin' | 'unifiedorder';

export interface MarkPaidInput {
  outTradeNo: string;
  transactionId: string;
  /** what WeChat says was paid, integer fen */
  totalFee: number;
  /** WeChat's time_end */
  paidAt: Date;
  source: PaySource;
  /** who: `system` for WeChat's news, `admin:<user>` for an admin's query */
  operator?: string;
  now: Date;
}

export type MarkPaidOutcome =
  /** NOTPAY -> SUCCESS: the one state change */
  | 'paid'
  /** a payment for a trade we had closed: kept, orders paid, flagged for the admin */
  | 'late_payment'
  /** a payment whose orders were all paid already by another attempt: kept and flagged (refund one) */
  | 'double_payment'
  /** already SUCCESS with this transaction id: nothing to do */
  | 'duplicate'
  /** already SUCCESS with ANOTHER transaction id: kept for the admin, nothing overwritten */
  | 'conflict'
  /** WeChat's amount is not ours: refused, nothing changed */
  | 'amount_mismatch'
  | 'unknown_trade';

export interface MarkPaidResult {
  outcome: MarkPaidOutcome;
  tradeState: string | undefined;
  orderIds: number[];
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

interface LockedPaylog {
  out_trade_no: string;
  total_fee: number;
  trade_state: string;
  transaction_id: string | null;
  conflict_transaction_id: string | null;
}

/**
 * The one way to SUCCESS, whatever brought the news (webhook, status poll's orderquery, sweeper,
 * admin). One transaction: lock the paylog row, refuse a wrong amount, no-op on a duplicate,
 * never overwrite a different transaction id, set the paylog and every order of it paid, write
 * order_log, and pg_notify the waiters (delivered after commit, on every instance).
 * Idempotent per (out_trade_no, transaction_id).
 */
export async function markPaid(knex: Knex, input: MarkPaidInput): Promise<MarkPaidResult> {
  const result = (await markPaidInOneStatement(knex, input)) ?? (await markPaidInTransaction(knex, input));
  markPaidOutcomes.inc({ outcome: result.outcome, source: input.source });
  return result;
}

/**
 * The two common cases in ONE statement (one round trip, its own transaction): a NOTPAY trade
 * with the right amount whose orders all wait for it becomes SUCCESS with its orders paid,
 * order_log written and the waiters notified; or the trade is SUCCESS with this very transaction
 * id already (WeChat's retries): a duplicate, nothing to do. Locks are taken in the same order as
 * in markPaidInTransaction (paylog row, then its orders). Anything else (unknown trade, wrong
 * amount, closed, conflict, orders paid or closed meanwhile, a row changed under our snapshot)
 * answers undefined, and the full transaction decides.
 */
async function markPaidInOneStatement(knex: Knex, input: MarkPaidInput): Promise<MarkPaidResult | undefined> {
  const remark = `WeChat Pay transaction ${input.transactionId} via ${input.source}`;
  const { rows } = await knex.raw<{ rows: { paid_ids: (number | string)[] | null; state: string | null; transaction_id: string | null; total_fee: number | null }[] }>(
    `WITH target AS (
       SELECT out_trade_no FROM paylog
        WHERE out_trade_no = :outTradeNo AND trade_state = 'NOTPAY' AND total_fee = :totalFee
        FOR UPDATE
     ), its_orders AS (
       SELECT orders.id, orders.status, orders.out_trade_no FROM orders
         JOIN paylog_orders ON paylog_orders.order_id = orders.id
         JOIN target ON target.out_trade_no = paylog_orders.out_trade_no
        ORDER BY orders.id
        FOR UPDATE OF orders
     ), ready AS (
       SELECT 1 FROM target
        WHERE EXISTS (SELECT 1 FROM its_orders)
          AND NOT EXISTS (SELECT 1 FROM its_orders WHERE status <> 'unpaid' OR out_trade_no IS DISTINCT FROM :outTradeNo)
     ), paid_paylog AS (
       UPDATE paylog SET trade_state = 'SUCCESS', transaction_id = :transactionId, pay_time = :paidAt, updated_at = :now
        WHERE out_trade_no = :outTradeNo AND EXISTS (SELECT 1 FROM ready)
       RETURNING out_trade_no
     ), paid_orders AS (
       UPDATE orders SET status = 'paid', paid_at = :paidAt, updated_at = :now
        WHERE id IN (SELECT id FROM its_orders) AND EXISTS (SELECT 1 FROM paid_paylog)
       RETURNING id
     ), logged AS (
       INSERT INTO order_log (order_id, from_status, to_status, operator, remark, at)
       SELECT id, 'unpaid', 'paid', :operator, :remark, :now FROM paid_orders
       RETURNING order_id
     )
     SELECT (SELECT array_agg(order_id ORDER BY order_id) FROM logged) AS paid_ids,
            (SELECT pg_notify(:channel, out_trade_no) FROM paid_paylog) AS notified,
            before.trade_state AS state, before.transaction_id, before.total_fee
       FROM (SELECT 1) AS one
       LEFT JOIN paylog AS before ON before.out_trade_no = :outTradeNo`,
    {
      outTradeNo: input.outTradeNo,
      totalFee: input.totalFee,
      transactionId: input.transactionId,
      paidAt: input.paidAt,
      now: input.now,
      operator: input.operator ?? 'system',
      remark,
      channel: PAYLOG_CHANNEL,
    },
  );
  const row = rows[0];
  if (row?.paid_ids && row.paid_ids.length > 0) return { outcome: 'paid', tradeState: 'SUCCESS', orderIds: row.paid_ids.map(Number) };
  // (`before` is the statement's snapshot: a duplicate seen there is one for sure; anything else is decided under lock)
  if (row && row.transaction_id === input.transactionId && row.total_fee === input.totalFee && (row.state === 'SUCCESS' || row.state === 'REFUND')) {
    return { outcome: 'duplicate', tradeState: row.state, orderIds: [] };
  }
  return undefined;
}

function markPaidInTransaction(knex: Knex, input: MarkPaidInput): Promise<MarkPaidResult> {
  return knex.transaction(async (trx) => {
    const paylog = (await trx('paylog')
      .where({ out_trade_no: input.outTradeNo })
      .forUpdate()
      .first('out_trade_no', 'total_fee', 'trade_state', 'transaction_id', 'conflict_transaction_id')) as LockedPaylog | undefined;
    if (!paylog) return { outcome: 'unknown_trade', tradeState: undefined, orderIds: [] };
    if (paylog.total_fee !== input.totalFee) return { outcome: 'amount_mismatch', tradeState: paylog.trade_state, orderIds: [] };

    if (paylog.trade_state === 'SUCCESS' || paylog.trade_state === 'REFUND') {
      if (paylog.transaction_id === input.transactionId) return { outcome: 'duplicate', tradeState: paylog.trade_state, orderIds: [] };
      if (paylog.conflict_transaction_id === null) {
        // an earlier flag (a late payment) stays: the admin sees both in the detail and notify_log
        await trx('paylog')
          .where({ out_trade_no: input.outTradeNo })
          .update({ flag: trx.raw('coalesce(flag, ?)', ['conflict']), conflict_transaction_id: input.transactionId, updated_at: input.now });
      }
      return { outcome: 'conflict', tradeState: paylog.trade_state, orderIds: [] };
    }

    // the orders this attempt was for (a later attempt may have replaced it as their current one)
    const orders = (await trx('orders')
      .join('paylog_orders', 'paylog_orders.order_id', 'orders.id')
      .where('paylog_orders.out_trade_no', input.outTradeNo)
      .forUpdate()
      .select('orders.id', 'orders.status', 'orders.out_trade_no')) as { id: number; status: string; out_trade_no: string | null }[];
    const payable = orders.filter((o) => o.status === 'unpaid' || o.status === 'closed');
    const late = paylog.trade_state === 'CLOSED';
    // paid, but every order was paid already through another attempt: the shopper paid twice
    const double = orders.length > 0 && payable.length === 0;
    const flag = double ? 'double_payment' : late ? 'late_payment' : undefined;
    await trx('paylog')
      .where({ out_trade_no: input.outTradeNo })
      .update({
        trade_state: 'SUCCESS',
        transaction_id: input.transactionId,
        pay_time: input.paidAt,
        updated_at: input.now,
        ...(flag ? { flag } : {}),
      });

    if (late) {
      // a closed order gave its stock back: take it again where there is some; where there is not,
      // the flag tells the admin to refund or restock (the payment itself is never lost)
      const closedIds = payable.filter((o) => o.status === 'closed').map((o) => o.id);
      if (closedIds.length > 0) {
        const items = (await trx('order_items').whereIn('order_id', closedIds).orderBy('product_id').select('product_id', 'quantity')) as { product_id: number; quantity: number }[];
        for (const item of items) {
          await trx('products').where({ id: item.product_id }).andWhere('stock', '>=', item.quantity).decrement('stock', item.quantity);
        }
      }
    }

    const orderIds = payable.map((o) => o.id);
    if (orderIds.length > 0) {
      await trx('orders').whereIn('id', orderIds).update({ status: 'paid', paid_at: input.paidAt, out_trade_no: input.outTradeNo, updated_at: input.now });
      await trx('order_log').insert(
        payable.map((o) => ({
          order_id: o.id,
          from_status: o.status,
          to_status: 'paid',
          operator: input.operator ?? 'system',
          remark: `WeChat Pay transaction ${input.transactionId} via ${input.source}${late ? ' (paid after the trade was closed)' : ''}`,
          at: input.now,
        })),
      );
    }
    // wake this attempt's pollers, and those of a newer attempt for the same orders
    const attempts = new Set([input.outTradeNo, ...payable.map((o) => o.out_trade_no).filter((no): no is string => no !== null)]);
    for (const attempt of attempts) await trx.raw('select pg_notify(?, ?)', [PAYLOG_CHANNEL, attempt]);
    return { outcome: double ? 'double_payment' : late ? 'late_payment' : 'paid', tradeState: 'SUCCESS', orderIds };
  });
}

export type ClosePaylogOutcome = 'closed' | 'already_closed' | 'paid' | 'unknown_trade' | 'code_url_appeared';

/**
 * NOTPAY -> CLOSED in one transaction: the paylog row locked first, its orders that still wait
 * for this attempt closed with their stock given back, order_log written, waiters woken.
 * Call it only once WeChat can no longer take the money (closeorder answered, or the code
 * expired there). Idempotent: closing a closed trade is a no-op that says so; a paid one stays paid.
 */
export async function closePaylog(
  knex: Knex,
  input: { outTradeNo: string; now: Date; operator: string; reason: string; /** WeChat had no such trade: refuse if a QR code was drawn since */ onlyWithoutCodeUrl?: boolean },
): Promise<ClosePaylogOutcome> {
  return knex.transaction(async (trx) => {
    const paylog = (await trx('paylog').where({ out_trade_no: input.outTradeNo }).forUpdate().first('trade_state', 'code_url')) as { trade_state: string; code_url: string | null } | undefined;
    if (!paylog) return 'unknown_trade';
    if (paylog.trade_state === 'CLOSED') return 'already_closed';
    if (paylog.trade_state !== 'NOTPAY') return 'paid';
    if (input.onlyWithoutCodeUrl && paylog.code_url !== null) return 'code_url_appeared';
    await trx('paylog').where({ out_trade_no: input.outTradeNo }).update({ trade_state: 'CLOSED', closed_at: input.now, updated_at: input.now });
    // only the orders whose current attempt this is: a newer attempt keeps its orders open
    const orders = (await trx('orders').where({ out_trade_no: input.outTradeNo, status: 'unpaid' }).forUpdate().orderBy('id').select('id')) as { id: number }[];
    const orderIds = orders.map((o) => o.id);
    if (orderIds.length > 0) {
      const items = (await trx('order_items').whereIn('order_id', orderIds).orderBy('product_id').select('product_id', 'quantity')) as { product_id: number; quantity: number }[];
      for (const item of items) await trx('products').where({ id: item.product_id }).increment('stock', item.quantity);
      await trx('orders').whereIn('id', orderIds).update({ status: 'closed', closed_at: input.now, updated_at: input.now });
      await trx('order_log').insert(orderIds.map((id) => ({ order_id: id, from_status: 'unpaid', to_status: 'closed', operator: input.operator, remark: input.reason, at: input.now })));
    }
    await trx.raw('select pg_notify(?, ?)', [PAYLOG_CHANNEL, input.outTradeNo]);
    return 'closed';
  });
}
