import type { Knex } from 'knex';
import { prepared } from '../db';
import { orderEvent } from './events';
import { isPaid, type PaySource, type TradeState } from './model';
import { PAYLOG_CHANNEL } from './repo';

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

/** The webhook's record of its call, stored by the fast path in the same statement (notify_log). */
export interface NotifyRecord {
  rawBody: string;
  source: string | undefined;
  receivedAt: Date;
}

export interface FastPathInput {
  outTradeNo: string;
  transactionId: string;
  totalFee: number;
  paidAt: Date;
  now: Date;
  operator: string;
  source: PaySource;
}

/**
 * The two common cases of markPaid in ONE statement (one round trip, its own transaction): a
 * NOTPAY attempt with the right amount whose orders all wait for it becomes SUCCESS with its
 * orders paid, order_log written, an order.paid outbox event per order and the waiters notified; or the attempt is paid with this very
 * transaction id already (WeChat's retries): a duplicate. With `record`, the webhook's
 * notify_log row is inserted by the same statement in either case (so a duplicate notify is one
 * round trip and one commit, nothing traded away). Locks are taken in markPaid's order (paylog
 * row, then its orders). Anything else (unknown trade, wrong amount, closed, conflict, orders
 * paid or closed meanwhile, a row changed under our snapshot) answers undefined and writes
 * nothing: the locked transaction decides. rules.fastPathOutcome is the same rule in TypeScript.
 */
export async function markPaidInOneStatement(db: Db, input: FastPathInput, record?: NotifyRecord): Promise<{ outcome: 'paid'; orderIds: number[]; recorded: boolean } | { outcome: 'duplicate'; state: TradeState; recorded: boolean } | undefined> {
  const recording = record
    ? `, recorded AS (
         INSERT INTO notify_log (kind, out_trade_no, transaction_id, verdict, detail, raw_body, received_at, verified, source)
         SELECT 'pay', :outTradeNo, :transactionId, CASE WHEN EXISTS (SELECT 1 FROM logged) THEN 'paid' ELSE 'duplicate' END, NULL, :rawBody, :receivedAt, true, :source
          WHERE EXISTS (SELECT 1 FROM logged)
             OR EXISTS (SELECT 1 FROM paylog d WHERE d.out_trade_no = :outTradeNo AND d.trade_state IN ('SUCCESS', 'REFUND') AND d.transaction_id = :transactionId AND d.total_fee = :totalFee)
         RETURNING id
       )`
    : '';
  const query = db.raw<{ rows: Row[] }>(
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
       RETURNING id, total_fen
     ), logged AS (
       INSERT INTO order_log (order_id, from_status, to_status, operator, event, params, at)
       SELECT id, 'unpaid', 'paid', :operator, 'paid', CAST(:params AS jsonb), :now FROM paid_orders
       RETURNING order_id
     ), alerted AS (
       -- the order.paid events (alerts.orderPaidAlert's shape), in the same statement: an alert is
       -- never lost for a payment that committed, never sent for one that did not
       INSERT INTO outbox (type, order_ids, data, created_at)
       SELECT 'order.paid', ARRAY[id], jsonb_build_object(
                'orders', jsonb_build_array(jsonb_build_object('id', id, 'amount_fen', total_fen)),
                'amount_fen', total_fen, 'pay_type', 'wxpay', 'out_trade_no', CAST(:outTradeNo AS text),
                'transaction_id', CAST(:transactionId AS text), 'late', false), :now
         FROM paid_orders ORDER BY id
       RETURNING id
     )${recording}
     SELECT (SELECT array_agg(order_id ORDER BY order_id) FROM logged) AS paid_ids,
            (SELECT pg_notify(:channel, out_trade_no) FROM paid_paylog) AS notified,
            ${record ? '(SELECT count(*) FROM recorded)' : '0'} AS recorded,
            (SELECT count(*) FROM alerted) AS alerted,
            before.trade_state AS state, before.transaction_id, before.total_fee
       FROM (SELECT 1) AS one
       LEFT JOIN paylog AS before ON before.out_trade_no = :outTradeNo`,
    {
      outTradeNo: input.outTradeNo,
      totalFee: input.totalFee,
      transactionId: input.transactionId,
      paidAt: input.paidAt,
      now: input.now,
      operator: input.operator.slice(0, 64),
      params: JSON.stringify(orderEvent('paid', { transactionId: input.transactionId, source: input.source }).params),
      channel: PAYLOG_CHANNEL,
      ...(record ? { rawBody: record.rawBody, receivedAt: record.receivedAt, source: record.source?.slice(0, 64) ?? null } : {}),
    },
  );
  const { rows } = await prepared(db, record ? 'mark_paid_recorded' : 'mark_paid', query);
  const row = rows[0];
  const recorded = Number(row?.recorded ?? 0) > 0;
  const paidIds = row?.paid_ids as (number | string)[] | null | undefined;
  if (paidIds && paidIds.length > 0) return { outcome: 'paid', orderIds: paidIds.map(Number), recorded };
  // (`before` is the statement's snapshot: a duplicate seen there is one for sure; anything else is decided under lock)
  const state = row?.state as TradeState | null | undefined;
  if (row && state && isPaid(state) && row.transaction_id === input.transactionId && Number(row.total_fee) === input.totalFee) {
    return { outcome: 'duplicate', state, recorded };
  }
  return undefined;
}
