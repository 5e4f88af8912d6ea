import type { Knex } from 'knex';
import { formatFen } from '../money';
import { checkAftersale, checkAftersaleAmounts, checkAftersaleRequests, type AftersaleDiscrepancyKind } from './check-aftersale';
import { checkFulfilment, type FulfilmentDiscrepancyKind } from './check-fulfilment';
import { checkWechatSide, type WechatDiscrepancyKind } from './check-wechat';

/**
 * The ledger's invariants, checked over the whole database in one read-only snapshot. It changes
 * nothing, so an admin can run it against a live shop (`npm run check:ledger`), and every fault,
 * fuzz and soak test ends with it.
 *
 * What is checked:
 *  - paid orders: every paid or refunded WeChat Pay order points at a SUCCESS/REFUND paylog, and
 *    every SUCCESS/REFUND paylog without a flag has all its orders paid (or refunded); an order paid
 *    by two attempts has all but one flagged, and an unflagged paid attempt's amount is its orders';
 *  - acknowledged notifies: a payment notify answered SUCCESS (verdict paid, duplicate, ...) names a
 *    trade stored SUCCESS/REFUND with that transaction id (or kept as its conflict id);
 *  - refunds: per trade, the SUCCESS refunds add up to paylog.refunded_fee, refunds that may still
 *    take money never exceed total_fee, and in total refunded <= paid; per order, what came back of
 *    its own payment is orders.refunded_fen (never over its total), and an order is refunded
 *    exactly when all of it is back;
 *  - delivery: the goods follow the money where they have not left (a closed order is never sent,
 *    an order accepted for delivery is cash on delivery, goods sent are paid for or cash on delivery);
 *  - stock, per variant (product_variants): the stock on the shelf is the sum of its stock
 *    movements; the units its orders' movements took (sale, less release and cancel, plus a late
 *    payment's retake) are the units open orders hold + the units sold (orders paid, or whose goods
 *    left the warehouse), less what a late payment could not take again; and where the starting
 *    stock is given (per variant SKU), start = stock now + held + sold;
 *  - after-sales (check-aftersale.ts): a payment its shopper cancelled, once closed, leaves no order
 *    waiting for it; every approved request has its refund (its order, at most its amount), no
 *    other request names one, and an order's approved requests never add up to more than it cost;
 *  - fulfilment (check-fulfilment.ts): nothing shipped or completed unpaid (cash on delivery is
 *    paid at the door), nothing completed once refunded in full, a parcel for every shipped order,
 *    and no outbox event naming a change the ledger does not show;
 *  - WeChat's side (check-wechat.ts), where the database holds it (simulator mode: the sim_* tables of the merchant):
 *    each trade paid here is paid there with the same transaction id and amount, no trade paid there
 *    is unpaid (or unknown) here, no trade closed here can still be paid there, every refund there
 *    is ours with the same amount and state, and the sums agree. In live mode WeChat's side is not in
 *    the database: the report says so (reconcile against the day's bill in /admin/reconcile).
 */

export type DiscrepancyKind =
  | 'paid_order_unpaid_paylog'
  | 'paid_paylog_unpaid_order'
  | 'paid_twice_unflagged'
  | 'paid_amount_mismatch'
  | 'acknowledged_notify_not_stored'
  | 'refunds_not_summed'
  | 'refunds_exceed_paid'
  | 'order_refunds_not_summed'
  | 'delivery_inconsistent'
  | 'stock_not_conserved'
  | WechatDiscrepancyKind
  | FulfilmentDiscrepancyKind
  | AftersaleDiscrepancyKind;

export interface Discrepancy {
  kind: DiscrepancyKind;
  /** the trade, order, product or refund it is about */
  subject: string;
  message: string;
}

export interface LedgerReport {
  /** payment attempts (paylog rows) */
  trades: number;
  paidFen: number;
  refundedFen: number;
  /** what WeChat's side says it took for our trades, when the database holds it */
  wechatPaidFen: number | undefined;
  discrepancies: Discrepancy[];
  /** parts that could not be checked from this database, and why */
  unchecked: string[];
}

export interface LedgerCheckOptions {
  /** our merchant: WeChat's side (sim_*) is read for this mch_id only */
  mchId: string;
  /** starting stock per variant SKU (the demo catalog's); without it, the movements alone are checked */
  initialStock?: Readonly<Record<string, number>>;
  /** "now" for what can still be paid at WeChat (a test's clock); default the database's now() */
  now?: Date;
}

const PAID_STATES = ['SUCCESS', 'REFUND'];
/** notify verdicts answered SUCCESS to WeChat: the state must be stored */
const ACKNOWLEDGED_VERDICTS = ['paid', 'late_payment', 'double_payment', 'duplicate', 'conflict'];

/** fen as people read money, in a message line (the shop's one formatter) */
export const yuan = formatFen;

async function hasTable(trx: Knex.Transaction, table: string): Promise<boolean> {
  const { rows } = await trx.raw<{ rows: { present: boolean }[] }>('SELECT to_regclass(?) IS NOT NULL AS present', [table]);
  return rows[0]?.present === true;
}

async function hasColumn(trx: Knex.Transaction, table: string, column: string): Promise<boolean> {
  const { rows } = await trx.raw<{ rows: { present: boolean }[] }>('SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = ? AND column_name = ?) AS present', [table, column]);
  return rows[0]?.present === true;
}

const n = (v: number | string | null | undefined) => Number(v ?? 0);

/** Runs every check in one REPEATABLE READ, READ ONLY transaction (a consistent snapshot). */
export async function checkLedger(knex: Knex, options: LedgerCheckOptions): Promise<LedgerReport> {
  return knex.transaction(async (trx) => {
    await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    if (!(await hasTable(trx, 'paylog'))) throw new Error('this database has no shop tables (paylog): start the shop once to migrate it, or check DATABASE_URL / PGLITE_DIR');
    const found: Discrepancy[] = [];
    const add = (kind: DiscrepancyKind, subject: string, message: string) => found.push({ kind, subject, message });
    const unchecked: string[] = [];

    const [totals] = (await trx('paylog').select(
      trx.raw('count(*)::bigint AS trades'),
      trx.raw(`coalesce(sum(total_fee) FILTER (WHERE trade_state IN ('SUCCESS', 'REFUND')), 0)::bigint AS paid`),
      trx.raw('coalesce(sum(refunded_fee), 0)::bigint AS refunded'),
    )) as { trades: number; paid: number; refunded: number }[];

    // 1. paid orders point at a paid attempt
    const paidOrders = (await trx('orders')
      .leftJoin('paylog', 'paylog.out_trade_no', 'orders.out_trade_no')
      .where('orders.pay_type', 'wxpay')
      .whereIn('orders.status', ['paid', 'refunded'])
      .andWhere((q) => q.whereNull('paylog.trade_state').orWhereNotIn('paylog.trade_state', PAID_STATES))
      .select('orders.id', 'orders.status', 'orders.out_trade_no', 'paylog.trade_state')) as { id: number; status: string; out_trade_no: string | null; trade_state: string | null }[];
    for (const o of paidOrders) add('paid_order_unpaid_paylog', `order ${o.id}`, `is ${o.status} but its payment ${o.out_trade_no ?? '(none)'} is ${o.trade_state ?? 'missing'}`);

    // 2. an unflagged paid attempt has all its orders paid, for its own amount
    const attempts = (await trx('paylog')
      .leftJoin('paylog_orders', 'paylog_orders.out_trade_no', 'paylog.out_trade_no')
      .leftJoin('orders', 'orders.id', 'paylog_orders.order_id')
      .whereIn('paylog.trade_state', PAID_STATES)
      .whereNull('paylog.flag')
      .groupBy('paylog.out_trade_no', 'paylog.total_fee')
      .select(
        'paylog.out_trade_no',
        'paylog.total_fee',
        trx.raw('count(orders.id)::int AS orders'),
        trx.raw(`count(orders.id) FILTER (WHERE orders.status NOT IN ('paid', 'refunded'))::int AS unpaid`),
        trx.raw('coalesce(sum(orders.total_fen), 0)::bigint AS orders_fen'),
      )) as { out_trade_no: string; total_fee: number; orders: number; unpaid: number; orders_fen: number }[];
    for (const a of attempts) {
      if (a.orders === 0) add('paid_paylog_unpaid_order', a.out_trade_no, 'is paid but is for no order');
      else if (a.unpaid > 0) add('paid_paylog_unpaid_order', a.out_trade_no, `is paid (no flag) but ${a.unpaid} of its ${a.orders} orders are not`);
      if (a.orders > 0 && n(a.orders_fen) !== a.total_fee) add('paid_amount_mismatch', a.out_trade_no, `took ${yuan(a.total_fee)} for orders of ${yuan(n(a.orders_fen))}`);
    }

    // 3. an order paid by several attempts: all but one flagged for the admin
    const twice = (await trx('paylog_orders')
      .join('paylog', 'paylog.out_trade_no', 'paylog_orders.out_trade_no')
      .whereIn('paylog.trade_state', PAID_STATES)
      .groupBy('paylog_orders.order_id')
      .havingRaw('count(*) - count(paylog.flag) > 1')
      .select('paylog_orders.order_id', trx.raw('array_agg(paylog.out_trade_no ORDER BY paylog.out_trade_no) AS trades'))) as { order_id: number; trades: string[] }[];
    for (const t of twice) add('paid_twice_unflagged', `order ${t.order_id}`, `is paid by ${t.trades.join(', ')} and no flag tells an admin to refund one`);

    // 4. every notify we answered SUCCESS is stored
    const acknowledged = (await trx('notify_log')
      .leftJoin('paylog', 'paylog.out_trade_no', 'notify_log.out_trade_no')
      .where('notify_log.kind', 'pay')
      .whereIn('notify_log.verdict', ACKNOWLEDGED_VERDICTS)
      .andWhere((q) =>
        q
          .whereNull('paylog.out_trade_no')
          .orWhereNotIn('paylog.trade_state', PAID_STATES)
          .orWhere((q2) =>
            q2.whereRaw('paylog.transaction_id IS DISTINCT FROM notify_log.transaction_id').andWhereRaw('paylog.conflict_transaction_id IS DISTINCT FROM notify_log.transaction_id'),
          ),
      )
      .select('notify_log.id', 'notify_log.out_trade_no', 'notify_log.transaction_id', 'notify_log.verdict', 'paylog.trade_state')) as {
      id: number;
      out_trade_no: string | null;
      transaction_id: string | null;
      verdict: string;
      trade_state: string | null;
    }[];
    for (const a of acknowledged) {
      add('acknowledged_notify_not_stored', a.out_trade_no ?? `notify ${a.id}`, `notify ${a.id} (${a.verdict}, transaction ${a.transaction_id}) was answered SUCCESS but the trade is ${a.trade_state ?? 'missing'} without that transaction`);
    }

    // 5. refunds add up, and never exceed what was paid
    const refundSums = (await trx('paylog')
      .leftJoin('refunds', 'refunds.out_trade_no', 'paylog.out_trade_no')
      .groupBy('paylog.out_trade_no', 'paylog.total_fee', 'paylog.refunded_fee', 'paylog.trade_state')
      .havingRaw('count(refunds.out_refund_no) > 0 OR paylog.refunded_fee > 0')
      .select(
        'paylog.out_trade_no',
        'paylog.total_fee',
        'paylog.refunded_fee',
        'paylog.trade_state',
        trx.raw(`coalesce(sum(refunds.refund_fee) FILTER (WHERE refunds.status = 'SUCCESS'), 0)::bigint AS succeeded`),
        trx.raw(`coalesce(sum(refunds.refund_fee) FILTER (WHERE refunds.status <> 'REFUNDCLOSE'), 0)::bigint AS live`),
      )) as { out_trade_no: string; total_fee: number; refunded_fee: number; trade_state: string; succeeded: number; live: number }[];
    for (const r of refundSums) {
      if (n(r.succeeded) !== r.refunded_fee) add('refunds_not_summed', r.out_trade_no, `refunded_fee is ${yuan(r.refunded_fee)} but its SUCCESS refunds add up to ${yuan(n(r.succeeded))}`);
      if (n(r.live) > r.total_fee) add('refunds_exceed_paid', r.out_trade_no, `refunds of ${yuan(n(r.live))} asked for a payment of ${yuan(r.total_fee)}`);
      if (r.refunded_fee > 0 && !PAID_STATES.includes(r.trade_state)) add('refunds_exceed_paid', r.out_trade_no, `refunded ${yuan(r.refunded_fee)} of a trade that is ${r.trade_state}`);
    }
    if (n(totals?.refunded) > n(totals?.paid)) add('refunds_exceed_paid', 'all trades', `refunded ${yuan(n(totals?.refunded))} of ${yuan(n(totals?.paid))} paid`);

    // 5b. per order: what came back of its own payment (refunds naming it, of the attempt that paid it)
    const orderRefunds = (await trx('orders')
      .where('orders.pay_type', 'wxpay')
      .andWhere((q) => q.where('orders.refunded_fen', '>', 0).orWhere('orders.status', 'refunded').orWhereExists(trx('refunds').select(trx.raw('1')).whereRaw('refunds.order_id = orders.id')))
      .select(
        'orders.id',
        'orders.status',
        'orders.total_fen',
        'orders.refunded_fen',
        trx.raw(`(SELECT count(*) FROM refunds r WHERE r.order_id = orders.id AND r.out_trade_no = orders.out_trade_no)::int AS naming`),
        trx.raw(`(SELECT coalesce(sum(r.refund_fee), 0) FROM refunds r WHERE r.order_id = orders.id AND r.out_trade_no = orders.out_trade_no AND r.status = 'SUCCESS')::bigint AS succeeded`),
      )) as { id: number; status: string; total_fen: number; refunded_fen: number; naming: number; succeeded: number }[];
    for (const o of orderRefunds) {
      const total = n(o.total_fen);
      const back = n(o.refunded_fen);
      // more came back of its own payment than it cost (a refund WeChat completed after we had closed it, asked again meanwhile)
      if (n(o.succeeded) > total) add('order_refunds_not_summed', `order ${o.id}`, `had ${yuan(n(o.succeeded))} refunded of its own payment of ${yuan(total)}`);
      // refunds from before they named orders: the order was refunded with its whole payment
      const expected = o.naming > 0 ? Math.min(total, n(o.succeeded)) : o.status === 'refunded' ? total : 0;
      if (back !== expected) add('order_refunds_not_summed', `order ${o.id}`, `has ${yuan(back)} refunded but its own refunds add up to ${yuan(expected)}`);
      if ((o.status === 'refunded') !== (back === total)) add('order_refunds_not_summed', `order ${o.id}`, `is ${o.status} with ${yuan(back)} of ${yuan(total)} refunded`);
    }

    // 5b'. a payment all refunded leaves none of the orders it pays paid
    const leftPaid = (await trx('orders')
      .join('paylog', 'paylog.out_trade_no', 'orders.out_trade_no')
      .where('orders.status', 'paid')
      .whereRaw('paylog.refunded_fee = paylog.total_fee')
      .select('orders.id', 'orders.out_trade_no')) as { id: number; out_trade_no: string }[];
    for (const o of leftPaid) add('order_refunds_not_summed', `order ${o.id}`, `is paid by ${o.out_trade_no}, which is refunded in full`);

    // 5c. the goods follow the money where they have not left
    const deliveries = (await trx('orders')
      .where((q) =>
        q
          .where((c) => c.where('status', 'closed').whereNot('delivery_status', 'cancelled'))
          .orWhere((c) => c.where('status', 'unpaid').whereNotIn('delivery_status', ['pending', 'accepted', 'shipped']))
          .orWhere((c) => c.where('delivery_status', 'accepted').whereNot('pay_type', 'cod'))
          .orWhere((c) => c.where('status', 'unpaid').where('delivery_status', 'shipped').whereNot('pay_type', 'cod'))
          .orWhere((c) => c.where('status', 'paid').where('delivery_status', 'cancelled'))
          // refunded in full before its goods left: they are never to be sent
          .orWhere((c) => c.where('status', 'refunded').whereIn('delivery_status', ['pending', 'accepted'])),
      )
      .select('id', 'status', 'pay_type', 'delivery_status')) as { id: number; status: string; pay_type: string; delivery_status: string }[];
    for (const o of deliveries) add('delivery_inconsistent', `order ${o.id}`, `is ${o.status} (${o.pay_type}) but its goods are ${o.delivery_status}`);

    // 5d. the goods after "paid", and the events the merchant was sent
    if (await hasTable(trx, 'shipments')) await checkFulfilment(trx, add);
    if (await hasColumn(trx, 'paylog', 'cancel_requested_at')) await checkAftersale(trx, add);
    if (await hasTable(trx, 'aftersales')) {
      await checkAftersaleRequests(trx, add);
      await checkAftersaleAmounts(trx, add);
    }

    // 6. stock, per variant: the stock is the sum of its movements; what the orders took is what
    // their movements say (held while the money is open, sold once paid for or once the goods left,
    // less what a late payment found sold meanwhile); and, where the starting stock is known,
    // start = on the shelf + held + sold
    const stock = (await trx('product_variants')
      .leftJoin(
        trx('order_items')
          .join('orders', 'orders.id', 'order_items.order_id')
          .whereIn('orders.status', ['unpaid', 'paid', 'refunded'])
          .groupBy('order_items.variant_id')
          .select(
            'order_items.variant_id',
            trx.raw(`sum(order_items.quantity - order_items.stock_short) FILTER (WHERE orders.status = 'unpaid' AND orders.delivery_status IN ('pending', 'accepted'))::bigint AS held`),
            trx.raw(`sum(order_items.quantity - order_items.stock_short) FILTER (WHERE NOT (orders.status = 'unpaid' AND orders.delivery_status IN ('pending', 'accepted')))::bigint AS sold`),
          )
          .as('taken'),
        'taken.variant_id',
        'product_variants.id',
      )
      .leftJoin(
        trx('stock_movements')
          .groupBy('variant_id')
          .select(
            'variant_id',
            trx.raw('sum(delta)::bigint AS moved'),
            trx.raw(`coalesce(-sum(delta) FILTER (WHERE reason IN ('sale', 'release', 'cancel', 'retake')), 0)::bigint AS by_orders`),
          )
          .as('movements'),
        'movements.variant_id',
        'product_variants.id',
      )
      .select(
        'product_variants.sku',
        'product_variants.stock',
        trx.raw('coalesce(taken.held, 0)::bigint AS held'),
        trx.raw('coalesce(taken.sold, 0)::bigint AS sold'),
        trx.raw('coalesce(movements.moved, 0)::bigint AS moved'),
        trx.raw('coalesce(movements.by_orders, 0)::bigint AS by_orders'),
      )) as { sku: string; stock: number; held: number; sold: number; moved: number; by_orders: number }[];
    for (const p of stock) {
      if (n(p.moved) !== p.stock) add('stock_not_conserved', p.sku, `has ${p.stock} on the shelf but its stock movements add up to ${n(p.moved)}`);
      if (n(p.by_orders) !== n(p.held) + n(p.sold)) {
        add('stock_not_conserved', p.sku, `orders hold ${n(p.held)} and sold ${n(p.sold)}, but the stock movements of orders took ${n(p.by_orders)}`);
      }
    }
    if (options.initialStock) {
      const unknown: string[] = [];
      for (const p of stock) {
        const start = options.initialStock[p.sku];
        if (start === undefined) {
          unknown.push(p.sku);
          continue;
        }
        const accounted = p.stock + n(p.held) + n(p.sold);
        if (accounted !== start) {
          add('stock_not_conserved', p.sku, `started with ${start}, has ${p.stock} on the shelf, ${n(p.held)} held by open orders and ${n(p.sold)} sold (${accounted - start > 0 ? '+' : ''}${accounted - start})`);
        }
      }
      if (unknown.length > 0) unchecked.push(`starting stock of ${unknown.length} variant(s) not given (their movements are checked): ${unknown.slice(0, 10).join(', ')}`);
    }

    // 7. WeChat's side, when it is in this database (simulator mode)
    let wechatPaidFen: number | undefined;
    const simulated = (await hasTable(trx, 'sim_trades')) && (await trx('sim_merchants').where({ mch_id: options.mchId }).first('mch_id')) !== undefined;
    if (!simulated) {
      unchecked.push(
        `WeChat's side (merchant ${options.mchId}) is not in this database: what WeChat took and refunded is not checked here; reconcile against the day's bill (/admin/reconcile) or ask WeChat (Query WeChat on a payment)`,
      );
    } else {
      const now = options.now ?? ((await trx.raw<{ rows: { now: Date }[] }>('SELECT now() AS now')).rows[0] as { now: Date }).now;
      wechatPaidFen = await checkWechatSide(trx, options.mchId, now, add);
    }

    return {
      trades: n(totals?.trades),
      paidFen: n(totals?.paid),
      refundedFen: n(totals?.refunded),
      wechatPaidFen,
      discrepancies: found,
      unchecked,
    };
  });
}

/** The report as `npm run check:ledger` prints it: one line per discrepancy, the summary last. */
export function formatLedgerReport(report: LedgerReport): string[] {
  return [
    ...report.discrepancies.map((d) => `discrepancy ${d.kind}: ${d.subject} ${d.message}`),
    ...report.unchecked.map((u) => `not checked: ${u}`),
    `ledger: ${report.trades} trades, ${yuan(report.paidFen)} paid, ${report.discrepancies.length} discrepancies`,
  ];
}
