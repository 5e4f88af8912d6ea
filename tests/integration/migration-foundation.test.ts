import type { Knex } from 'knex';
import { migrationConfig, migrateToLatest } from '../../src/db';
import { checkLedger } from '../../src/ledger/check';
import { createTestDatabase, type TestDatabase } from '../helpers/testdb';

/**
 * The foundation's migration (20261207000100) on a shop that has history: delivery moves off the
 * money status (a cash-on-delivery order accepted becomes delivery 'accepted', one delivered and
 * paid 'completed', a closed order 'cancelled'), old refunds of a one-order payment name that
 * order, and each order's refunded amount is filled in, so the ledger check finds the old rows
 * consistent with the new rules.
 */

const BEFORE = '20261202000100_trade_types';
const AT = new Date('2026-12-01T02:00:00Z');

let testDb: TestDatabase;
const knex = (): Knex => testDb.db.knex;

async function migrateUpTo(name: string): Promise<void> {
  for (;;) {
    const [done] = (await knex().migrate.list(migrationConfig)) as [{ name: string }[], unknown[]];
    if (done.some((m) => m.name === `${name}.ts`)) return;
    await knex().migrate.up(migrationConfig);
  }
}

let productId = 0;
async function order(row: { status: string; pay_type: string; total_fen: number; out_trade_no?: string | null; accepted_at?: Date | null; paid_at?: Date | null; closed_at?: Date | null }, token: string): Promise<number> {
  const [inserted] = (await knex()('orders')
    .insert({
      shopper_id: 's_old',
      seller: token,
      receiver_name: '张三',
      receiver_mobile: '13800138000',
      receiver_address: '北京市朝阳区某路 1 号',
      checkout_token: `old-${token}-xxxxxxxxxxxxxxxx`,
      created_at: AT,
      updated_at: AT,
      out_trade_no: null,
      ...row,
    })
    .returning('id')) as { id: number }[];
  const id = Number(inserted?.id);
  await knex()('order_items').insert({ order_id: id, product_id: productId, title: 'x', unit_price_fen: row.total_fen, quantity: 1 });
  return id;
}

async function paylog(outTradeNo: string, totalFee: number, refundedFee: number, orderIds: number[]): Promise<void> {
  await knex()('paylog').insert({
    out_trade_no: outTradeNo,
    shopper_id: 's_old',
    total_fee: totalFee,
    refunded_fee: refundedFee,
    trade_state: refundedFee > 0 ? 'REFUND' : 'SUCCESS',
    transaction_id: `42000000002026120100000${outTradeNo.slice(-5)}`,
    pay_time: AT,
    create_time: AT,
    updated_at: AT,
  });
  await knex()('paylog_orders').insert(orderIds.map((id) => ({ out_trade_no: outTradeNo, order_id: id })));
  await knex()('orders').whereIn('id', orderIds).update({ out_trade_no: outTradeNo });
}

beforeAll(async () => {
  testDb = await createTestDatabase({ migrate: false });
}, 180_000);
afterAll(async () => {
  await testDb?.drop();
});

test('an old shop migrates: delivery apart from money, refunds naming their order, each order\'s refunded amount', async () => {
  await migrateUpTo(BEFORE);
  const [product] = (await knex()('products').insert({ sku: 'OLD-1', title: 'x', seller: 's', price_fen: 100, stock: 100, image: '/img/x.svg' }).returning('id')) as { id: number }[];
  productId = Number(product?.id);
  const codAccepted = await order({ status: 'unpaid', pay_type: 'cod', total_fen: 500, accepted_at: AT }, 'a');
  const codOpen = await order({ status: 'unpaid', pay_type: 'cod', total_fen: 500 }, 'b');
  const codPaid = await order({ status: 'paid', pay_type: 'cod', total_fen: 500, paid_at: AT }, 'c');
  const closed = await order({ status: 'closed', pay_type: 'wxpay', total_fen: 500, closed_at: AT }, 'd');
  // one order, partly refunded
  const single = await order({ status: 'paid', pay_type: 'wxpay', total_fen: 800, paid_at: AT }, 'e');
  await paylog('OLD0000000000000000000001', 800, 300, [single]);
  await knex()('refunds').insert({ out_refund_no: 'ROLD1', out_trade_no: 'OLD0000000000000000000001', refund_fee: 300, status: 'SUCCESS', operator: 'admin:x', refund_id: 'RF1', success_time: AT, created_at: AT, updated_at: AT });
  // two orders, refunded whole by one refund that named neither
  const both = [await order({ status: 'refunded', pay_type: 'wxpay', total_fen: 600, paid_at: AT }, 'f'), await order({ status: 'refunded', pay_type: 'wxpay', total_fen: 400, paid_at: AT }, 'g')];
  await paylog('OLD0000000000000000000002', 1000, 1000, both);
  await knex()('refunds').insert({ out_refund_no: 'ROLD2', out_trade_no: 'OLD0000000000000000000002', refund_fee: 1000, status: 'SUCCESS', operator: 'admin:x', refund_id: 'RF2', success_time: AT, created_at: AT, updated_at: AT });
  await knex()('order_log').insert({ order_id: single, from_status: 'unpaid', to_status: 'paid', operator: 'system', remark: 'WeChat Pay transaction 42 via notify', at: AT });

  expect(await migrateToLatest(knex())).toContain('20261207000100_foundation.ts');

  const delivery = async (id: number) => (await knex()('orders').where({ id }).first('status', 'delivery_status', 'delivery_at', 'refunded_fen')) as Record<string, unknown>;
  expect(await delivery(codAccepted)).toMatchObject({ status: 'unpaid', delivery_status: 'accepted', delivery_at: AT });
  expect(await delivery(codOpen)).toMatchObject({ status: 'unpaid', delivery_status: 'pending', delivery_at: null });
  expect(await delivery(codPaid)).toMatchObject({ status: 'paid', delivery_status: 'completed', delivery_at: AT });
  expect(await delivery(closed)).toMatchObject({ status: 'closed', delivery_status: 'cancelled', delivery_at: AT });
  expect(await knex().schema.hasColumn('orders', 'accepted_at')).toBe(false);
  // the one-order refund names its order; the two-order one names none, and its orders are refunded whole
  expect(await knex()('refunds').orderBy('out_refund_no').select('out_refund_no', 'order_id')).toEqual([
    { out_refund_no: 'ROLD1', order_id: single },
    { out_refund_no: 'ROLD2', order_id: null },
  ]);
  expect(Number((await delivery(single)).refunded_fen)).toBe(300);
  expect((await Promise.all(both.map(delivery))).map((o) => [Number(o.refunded_fen), o.delivery_status])).toEqual([
    [600, 'cancelled'],
    [400, 'cancelled'],
  ]);
  // old log rows keep their words and have no event
  expect(await knex()('order_log').where({ order_id: single }).first('event', 'params', 'remark')).toEqual({ event: null, params: null, remark: 'WeChat Pay transaction 42 via notify' });
  // and the ledger check, with its new per-order and delivery rules, finds the old rows consistent
  const report = await checkLedger(knex(), { mchId: 'none' });
  expect(report.discrepancies).toEqual([]);
}, 180_000);
