import type { Knex } from 'knex';
import { markPaid, orderPaidAlert, PAYLOG_CHANNEL } from '../../../src/ledger';
import { markPaidInOneStatement } from '../../../src/ledger/fast-path';
import { createTestDatabase, type TestDatabase } from '../../helpers/testdb';
import { PAYMENT_CASES, type PaymentCase } from '../../helpers/payment-cases';

/**
 * markPaid's table (tests/helpers/payment-cases.ts) on a real database: each case built as rows,
 * then run through the one-statement fast path alone (it must decide exactly the cases the table
 * says, as the rules do, and leave every other case untouched), and through the whole markPaid
 * (outcome, flag, orders, order_log, stock, conflict id and wake-ups as the rules decide).
 */

const STOCK = 50;
const AT = new Date('2026-12-02T03:00:00Z');
const PAID_AT = new Date('2026-12-02T03:00:05Z');

interface Built {
  self: string;
  newer: string;
  orderIds: number[];
  productId: number;
  /** the case's transaction ids made unique to this build (the column is unique), equal where the case's are */
  txn(id: string): string;
}

let serial = 0;

async function build(knex: Knex, c: PaymentCase): Promise<Built> {
  serial += 1;
  const tag = String(serial).padStart(4, '0');
  const self = `TBL${tag}SELF${Date.now() % 1e8}`;
  const newer = `TBL${tag}NEWR${Date.now() % 1e8}`;
  const txn = (id: string) => `${id.slice(0, 18)}${tag}${id.slice(22)}`;
  const [product] = (await knex('products')
    .insert({ sku: `TBL-${tag}-${Date.now() % 1e6}`, title: `table ${tag}`, seller: 's', price_fen: 600, image: '/img/x.svg' })
    .returning('id')) as { id: number }[];
  const productId = Number(product?.id);
  // its one variant, with the product's id, holding STOCK (a fixture: no movements, no ledger check here)
  await knex('product_variants').insert({ id: productId + 900000, product_id: productId, sku: `TBL-${tag}-${productId}`, price_fen: 600, stock: STOCK });
  if (c.attempt) {
    const paid = c.attempt.trade_state === 'SUCCESS' || c.attempt.trade_state === 'REFUND';
    await knex('paylog').insert({
      out_trade_no: self,
      shopper_id: 's_table',
      total_fee: c.attempt.total_fee,
      refunded_fee: c.attempt.trade_state === 'REFUND' ? 100 : 0,
      trade_state: c.attempt.trade_state,
      transaction_id: c.attempt.transaction_id && txn(c.attempt.transaction_id),
      conflict_transaction_id: c.attempt.conflict_transaction_id && txn(c.attempt.conflict_transaction_id),
      flag: c.attempt.conflict_transaction_id ? 'conflict' : null,
      pay_time: paid ? AT : null,
      closed_at: c.attempt.trade_state === 'CLOSED' ? AT : null,
      create_time: AT,
      updated_at: AT,
    });
    await knex('paylog').insert({ out_trade_no: newer, shopper_id: 's_table', total_fee: c.attempt.total_fee, trade_state: 'NOTPAY', create_time: AT, updated_at: AT });
  }
  const orderIds: number[] = [];
  for (const [index, o] of c.orders.entries()) {
    const [order] = (await knex('orders')
      .insert({
        shopper_id: 's_table',
        seller: `seller ${index}`,
        status: o.status,
        delivery_status: o.status === 'closed' ? 'cancelled' : 'pending',
        pay_type: 'wxpay',
        total_fen: 600,
        receiver_name: '张三',
        receiver_mobile: '13800138000',
        receiver_address: '北京市朝阳区某路 1 号',
        out_trade_no: o.current === 'self' ? self : o.current === 'newer' ? newer : null,
        checkout_token: `tbl-${tag}-token-${index}-xxxxxxxx`,
        created_at: AT,
        updated_at: AT,
        paid_at: o.status === 'paid' || o.status === 'refunded' ? AT : null,
      })
      .returning('id')) as { id: number }[];
    const id = Number(order?.id);
    orderIds.push(id);
    await knex('order_items').insert({ order_id: id, product_id: productId, variant_id: productId + 900000, title: 'x', unit_price_fen: 600, quantity: 1 });
    await knex('paylog_orders').insert({ out_trade_no: self, order_id: id });
    if (o.current === 'newer') await knex('paylog_orders').insert({ out_trade_no: newer, order_id: id });
  }
  return { self, newer, orderIds, productId, txn };
}

async function snapshot(knex: Knex, b: Built) {
  return {
    paylog: await knex('paylog').whereIn('out_trade_no', [b.self, b.newer]).orderBy('out_trade_no').select('*'),
    orders: await knex('orders').whereIn('id', b.orderIds.length > 0 ? b.orderIds : [0]).orderBy('id').select('*'),
    log: await knex('order_log').whereIn('order_id', b.orderIds.length > 0 ? b.orderIds : [0]).count({ n: '*' }).first(),
    notifies: await knex('notify_log').where({ out_trade_no: b.self }).count({ n: '*' }).first(),
    stock: (await knex('product_variants').where({ product_id: b.productId }).first('stock'))?.stock,
    // the merchant's alerts written with the change (src/ledger/alerts.ts)
    outbox: ((await knex('outbox').whereRaw("data->>'out_trade_no' = ?", [b.self]).orderBy('id').select('type', 'order_ids', 'data')) as { type: string; order_ids: unknown; data: unknown }[]).map((r) => ({
      type: r.type,
      order_ids: (r.order_ids as (number | string)[]).map(Number),
      data: typeof r.data === 'string' ? (JSON.parse(r.data) as unknown) : r.data,
    })),
  };
}

describe('markPaid on a real database follows the rules table', () => {
  let testDb: TestDatabase;
  const knex = () => testDb.db.knex;
  const woken: string[] = [];
  let unlisten: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    unlisten = await testDb.db.listen(PAYLOG_CHANNEL, (payload) => woken.push(payload));
  });
  afterAll(async () => {
    await unlisten?.();
    await testDb.drop();
  });

  test.each(PAYMENT_CASES.map((c) => [c.name, c] as const))('the one statement alone: %s', async (_name, c) => {
    const b = await build(knex(), c);
    const before = await snapshot(knex(), b);
    const record = { rawBody: '<xml>table</xml>', source: '127.0.0.1', receivedAt: AT };
    const result = await markPaidInOneStatement(
      knex(),
      { outTradeNo: b.self, transactionId: b.txn(c.news.transactionId), totalFee: c.news.totalFee, paidAt: PAID_AT, now: AT, operator: 'system', source: 'notify' },
      record,
    );
    expect(result?.outcome).toBe(c.expect.fast);
    const after = await snapshot(knex(), b);
    if (result === undefined) {
      // undecided: not a row changed, not even the notify's record (the caller stores it)
      expect(after).toEqual(before);
      return;
    }
    expect(result.recorded).toBe(true);
    expect(Number(after.notifies?.n)).toBe(Number(before.notifies?.n) + 1);
    expect(await knex()('notify_log').where({ out_trade_no: b.self }).orderBy('id', 'desc').first('verdict', 'verified', 'raw_body')).toEqual({ verdict: result.outcome, verified: true, raw_body: '<xml>table</xml>' });
    if (result.outcome === 'duplicate') {
      expect({ ...after, notifies: undefined }).toEqual({ ...before, notifies: undefined });
      return;
    }
    expect(result.orderIds).toEqual(b.orderIds);
    expect(await knex()('paylog').where({ out_trade_no: b.self }).first('trade_state', 'transaction_id', 'flag')).toEqual({ trade_state: 'SUCCESS', transaction_id: b.txn(c.news.transactionId), flag: null });
    expect(await knex()('orders').whereIn('id', b.orderIds).orderBy('id').pluck('status')).toEqual(b.orderIds.map(() => 'paid'));
    expect(Number(after.log?.n)).toBe(Number(before.log?.n) + b.orderIds.length);
    expect(after.stock).toBe(STOCK);
    // one order.paid alert per order, in the same statement, exactly as the transaction writes it
    expect(after.outbox).toEqual(
      b.orderIds.map((id) => {
        const alert = orderPaidAlert({ id, total_fen: 600, pay_type: 'wxpay' }, { outTradeNo: b.self, transactionId: b.txn(c.news.transactionId), late: false });
        return { type: alert.type, order_ids: [id], data: alert.data };
      }),
    );
  });

  /** Resolves once every wake-up committed before it has arrived (a marker sent now arrives after them). */
  async function drained(marker: string): Promise<void> {
    await knex().raw('select pg_notify(?, ?)', [PAYLOG_CHANNEL, marker]);
    const until = Date.now() + 30_000;
    while (!woken.includes(marker) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(woken).toContain(marker);
  }

  test('the whole markPaid: every case decided as the rules say, rows and wake-ups included', async () => {
    await drained('table-start');
    woken.length = 0;
    const expectedWakes: string[] = [];
    for (const c of PAYMENT_CASES) {
      const b = await build(knex(), c);
      const before = await snapshot(knex(), b);
      const result = await markPaid(knex(), { outTradeNo: b.self, transactionId: b.txn(c.news.transactionId), totalFee: c.news.totalFee, paidAt: PAID_AT, source: 'notify', now: AT });
      const where = c.name;
      expect([where, result.outcome]).toEqual([where, c.expect.outcome]);
      const paylog = (await knex()('paylog').where({ out_trade_no: b.self }).first('trade_state', 'transaction_id', 'flag', 'conflict_transaction_id', 'pay_time')) as Record<string, unknown> | undefined;
      const statuses = (await knex()('orders').whereIn('id', b.orderIds.length > 0 ? b.orderIds : [0]).orderBy('id').pluck('status')) as string[];
      const after = await snapshot(knex(), b);
      if (c.expect.pays) {
        expect([where, paylog?.trade_state, paylog?.transaction_id, paylog?.flag]).toEqual([where, 'SUCCESS', b.txn(c.news.transactionId), c.expect.flag ?? null]);
        const paid = new Set(c.expect.pays.map((p) => p.index));
        expect([where, statuses]).toEqual([where, c.orders.map((o, i) => (paid.has(i) ? 'paid' : o.status))]);
        expect([where, Number(after.log?.n)]).toEqual([where, Number(before.log?.n) + c.expect.pays.length]);
        expect([where, after.stock]).toEqual([where, STOCK - (c.expect.retakes ?? []).length]);
        // the orders it paid point at this attempt now
        for (const p of c.expect.pays) expect((await knex()('orders').where({ id: b.orderIds[p.index] }).first('out_trade_no')).out_trade_no).toBe(b.self);
        for (const w of c.expect.wakes ?? []) expectedWakes.push(w === 'self' ? b.self : b.newer);
        // an order.paid alert per order it paid; a payment to look at (late, twice) tells the merchant too
        const alerts = [...c.expect.pays.map(() => 'order.paid'), ...(c.expect.flag ? ['payment.needs_attention'] : [])];
        expect([where, after.outbox.map((a) => a.type)]).toEqual([where, alerts]);
        if (c.expect.flag) expect([where, (after.outbox.at(-1)?.data as { reason: string }).reason]).toEqual([where, c.expect.flag]);
      } else if (c.expect.outcome === 'conflict') {
        expect([where, paylog?.conflict_transaction_id]).toEqual([where, b.txn((c.expect.recordConflict ?? c.attempt?.conflict_transaction_id) as string)]);
        expect([where, paylog?.flag]).toEqual([where, 'conflict']);
        expect([where, after.orders, after.stock]).toEqual([where, before.orders, before.stock]);
        // the merchant hears of the second transaction id once, when it is first kept
        expect([where, after.outbox.map((a) => a.type)]).toEqual([where, c.expect.recordConflict ? ['payment.needs_attention'] : []]);
      } else {
        // refused or a duplicate: nothing changed at all, but a wrong amount is told to the merchant (once)
        expect([where, { ...after, outbox: [] }]).toEqual([where, { ...before, outbox: [] }]);
        expect([where, after.outbox.map((a) => (a.data as { reason?: string }).reason ?? a.type)]).toEqual([where, c.expect.outcome === 'amount_mismatch' ? ['amount_mismatch'] : []]);
        if (c.expect.outcome === 'amount_mismatch') {
          await markPaid(knex(), { outTradeNo: b.self, transactionId: b.txn(c.news.transactionId), totalFee: c.news.totalFee, paidAt: PAID_AT, source: 'notify', now: AT });
          expect([where, (await snapshot(knex(), b)).outbox.length]).toEqual([where, 1]);
        }
      }
    }
    // every wake-up arrives after its commit, in order: a marker sent last arrives last
    await drained('table-done');
    const mine = woken.filter((w) => w.startsWith('TBL'));
    expect([...new Set(mine)].sort()).toEqual([...new Set(expectedWakes)].sort());
  });
});
