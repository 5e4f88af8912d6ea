/**
 * Ceiling for the notify: markPaid's SQL transaction run bare from Node, on the same database, in
 * a process of its own — the four statements (lock the paylog FOR UPDATE, update it, update its
 * orders, insert order_log and the orders' order.paid outbox rows + pg_notify) between BEGIN and COMMIT. Through node-postgres with a
 * pool of 8 on a server; through PGlite itself (one connection) when embedded.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { PAYLOG_CHANNEL } from '../src/ledger';
import { tradeNo } from './lib/data';
import { progress, serveIpc } from './lib/ipc';

const LOCK = 'SELECT out_trade_no, total_fee, trade_state, transaction_id, conflict_transaction_id FROM paylog WHERE out_trade_no = $1 FOR UPDATE';
const UPDATE_PAYLOG = "UPDATE paylog SET trade_state = 'SUCCESS', transaction_id = $2, pay_time = $3, updated_at = $4 WHERE out_trade_no = $1";
const UPDATE_ORDERS =
  "UPDATE orders SET status = 'paid', paid_at = $2, out_trade_no = $1, updated_at = $3 WHERE id IN (SELECT order_id FROM paylog_orders WHERE out_trade_no = $1) AND status IN ('unpaid', 'closed') RETURNING id";
const LOG_AND_NOTIFY = `WITH logged AS (
    INSERT INTO order_log (order_id, from_status, to_status, operator, remark, at)
    SELECT unnest($1::bigint[]), 'unpaid', 'paid', 'system', $2, $3 RETURNING 1
  ), alerted AS (
    INSERT INTO outbox (type, order_ids, data, created_at)
    SELECT 'order.paid', ARRAY[id], jsonb_build_object('orders', jsonb_build_array(jsonb_build_object('id', id)), 'out_trade_no', $5::text), $3
      FROM unnest($1::bigint[]) AS id RETURNING 1)
  SELECT pg_notify($4, $5) FROM (SELECT (SELECT count(*) FROM logged) + (SELECT count(*) FROM alerted)) AS c`;

type Query = (sql: string, params: unknown[]) => Promise<{ rows: unknown[] }>;

async function settleOne(query: Query, outTradeNo: string, transactionId: string): Promise<void> {
  const now = new Date();
  const locked = await query(LOCK, [outTradeNo]);
  if (locked.rows.length !== 1) throw new Error(`no paylog ${outTradeNo}`);
  await query(UPDATE_PAYLOG, [outTradeNo, transactionId, now, now]);
  const orders = (await query(UPDATE_ORDERS, [outTradeNo, now, now])).rows as { id: number | string }[];
  await query(LOG_AND_NOTIFY, [orders.map((o) => Number(o.id)), `WeChat Pay transaction ${transactionId} via notify`, now, PAYLOG_CHANNEL, outTradeNo]);
}

interface RunArgs {
  kind: 'postgres' | 'pglite';
  databaseUrl?: string;
  pgliteDir?: string;
  prefix: string;
  count: number;
  warmupSeconds: number;
  seconds: number;
  poolSize: number;
}

async function run(args: RunArgs) {
  let next = 1;
  let transaction: (outTradeNo: string, transactionId: string) => Promise<void>;
  let close: () => Promise<void>;
  let workers: number;
  if (args.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: args.databaseUrl, max: args.poolSize });
    transaction = async (outTradeNo, transactionId) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await settleOne((sql, params) => client.query(sql, params), outTradeNo, transactionId);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    };
    close = () => pool.end();
    workers = args.poolSize;
  } else {
    const db = new PGlite(args.pgliteDir as string);
    await db.waitReady;
    transaction = (outTradeNo, transactionId) => db.transaction((tx) => settleOne((sql, params) => tx.query(sql, params), outTradeNo, transactionId));
    close = () => db.close();
    workers = 1;
  }

  let done = 0;
  let measuring = false;
  let measuredDone = 0;
  let measureStart = 0;
  let measureEnd = 0;
  const start = Date.now();
  const warmUntil = start + args.warmupSeconds * 1000;
  const until = warmUntil + args.seconds * 1000;
  let second = 0;
  let thisSecond = 0;
  const ticker = setInterval(() => {
    if (!measuring) return;
    second += 1;
    progress(`bare transaction: ${second}s ${thisSecond} tx/s`);
    thisSecond = 0;
  }, 1000);
  const worker = async () => {
    for (;;) {
      const now = Date.now();
      if (now >= until || next > args.count) return;
      if (!measuring && now >= warmUntil) {
        measuring = true;
        measureStart = now;
        thisSecond = 0;
      }
      const i = next++;
      const counted = measuring;
      await transaction(tradeNo(args.prefix, i), `4200${args.prefix}${String(i).padStart(10, '0')}`);
      done += 1;
      if (counted) {
        measuredDone += 1;
        thisSecond += 1;
        measureEnd = Date.now();
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  clearInterval(ticker);
  await close();
  const elapsedMs = Math.max(1, measureEnd - measureStart);
  return { kind: args.kind, workers, done, measured: measuredDone, elapsedMs, perSecond: measuredDone / (elapsedMs / 1000), exhausted: next > args.count };
}

serveIpc({ run: (args) => run(args as unknown as RunArgs), stop: () => true }, { pid: process.pid });
