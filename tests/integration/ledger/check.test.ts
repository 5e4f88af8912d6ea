import type { Knex } from 'knex';
import { formatLedgerReport, type DiscrepancyKind } from '../../../src/ledger/check';
import type { ManualClock, TestShop } from '../../helpers/app';
import { codOrder, expectCleanLedger, ledgerOf, payAtWechat, refundOf, settleFromQuery } from '../../helpers/ledger';
import { addFault, shopOnClock, tradeWithQr } from '../../helpers/settlement';

/**
 * The ledger check (src/ledger/check.ts): a clean journey gives 0 discrepancies; each kind of
 * discrepancy, built on purpose as a bad row, is found, named and counted; and it changes nothing.
 */
describe('the ledger check', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let knex: Knex;
  let paid: { outTradeNo: string; totalFee: number; outRefundNo: string };
  let open: { outTradeNo: string };

  /** the simulator's due work (notifies, refunds) until none is left */
  async function settle() {
    for (let i = 0; i < 20 && ((await shop.simulator?.runDueWork()) ?? 0) > 0; i += 1);
  }

  beforeAll(async () => {
    ({ shop, clock } = await shopOnClock());
    knex = shop.db.knex;
    const a = await tradeWithQr(shop);
    await payAtWechat(shop, a.outTradeNo);
    await settle();
    clock.advance(61_000);
    const { outRefundNo, outcome } = await refundOf(shop, a.outTradeNo, 100, clock);
    expect(outcome.kind).toBe('accepted');
    clock.advance(10_000);
    await settle();
    paid = { outTradeNo: a.outTradeNo, totalFee: a.paylog.total_fee, outRefundNo };
    open = { outTradeNo: (await tradeWithQr(shop, [['TEA-LJ-250', 2]])).outTradeNo };
    await codOrder(shop, [['GEEK-PB-10K', 3]]);
  });
  afterAll(async () => {
    await shop?.close();
  });

  test('a clean journey (paid, partly refunded, open, cash on delivery) has 0 discrepancies', async () => {
    expect(await knex('paylog').where({ out_trade_no: paid.outTradeNo }).first('trade_state', 'refunded_fee')).toEqual({ trade_state: 'REFUND', refunded_fee: 100 });
    const report = await expectCleanLedger(shop, clock());
    expect(report).toMatchObject({ trades: 2, paidFen: paid.totalFee, refundedFen: 100, wechatPaidFen: paid.totalFee, discrepancies: [] });
    expect(formatLedgerReport(report).at(-1)).toBe(`ledger: 2 trades, ¥${(paid.totalFee / 100).toFixed(2)} paid, 0 discrepancies`);
  });

  /** Breaks the ledger with `apply`, checks that exactly the expected kinds are found, then repairs it with `revert`. */
  async function expectFound(kinds: DiscrepancyKind[], apply: () => Promise<unknown>, revert: () => Promise<unknown>) {
    await apply();
    try {
      const report = await ledgerOf(shop, clock());
      expect([...new Set(report.discrepancies.map((d) => d.kind))].sort()).toEqual([...kinds].sort());
      const lines = formatLedgerReport(report);
      expect(lines.at(-1)).toMatch(new RegExp(`^ledger: ${report.trades} trades, ¥[\\d.]+ paid, ${report.discrepancies.length} discrepancies$`));
      for (const d of report.discrepancies) expect(lines).toContain(`discrepancy ${d.kind}: ${d.subject} ${d.message}`);
    } finally {
      await revert();
    }
    await expectCleanLedger(shop, clock());
  }

  const orderIdsOf = async (outTradeNo: string) => (await knex('paylog_orders').where({ out_trade_no: outTradeNo }).orderBy('order_id').pluck('order_id')) as number[];

  test('an order marked paid whose payment is not', async () => {
    const [id] = await orderIdsOf(open.outTradeNo);
    await expectFound(
      ['paid_order_unpaid_paylog'],
      () => knex('orders').where({ id }).update({ status: 'paid' }),
      () => knex('orders').where({ id }).update({ status: 'unpaid' }),
    );
  });

  test('a paid payment (no flag) whose order is not paid', async () => {
    const [id] = await orderIdsOf(paid.outTradeNo);
    // (and its order.paid alert names a payment the ledger no longer shows)
    await expectFound(
      ['paid_paylog_unpaid_order', 'event_without_change'],
      () => knex('orders').where({ id }).update({ status: 'unpaid' }),
      () => knex('orders').where({ id }).update({ status: 'paid' }),
    );
  });

  test('a paid payment whose orders add up to another amount', async () => {
    const [id] = await orderIdsOf(paid.outTradeNo);
    await expectFound(
      ['paid_amount_mismatch'],
      () => knex('orders').where({ id }).increment('total_fen', 1),
      () => knex('orders').where({ id }).decrement('total_fen', 1),
    );
  });

  test('an order paid twice without a flag (and the second payment unknown to WeChat)', async () => {
    const ids = await orderIdsOf(paid.outTradeNo);
    const now = clock();
    await expectFound(
      ['paid_twice_unflagged', 'paid_here_not_at_wechat', 'totals_differ_from_wechat'],
      async () => {
        await knex('paylog').insert({ out_trade_no: 'DOUBLE000001', shopper_id: 's', total_fee: paid.totalFee, trade_state: 'SUCCESS', transaction_id: '4200000000000000000000000999', pay_time: now, create_time: now, updated_at: now });
        await knex('paylog_orders').insert(ids.map((id) => ({ out_trade_no: 'DOUBLE000001', order_id: id })));
      },
      async () => {
        await knex('paylog_orders').where({ out_trade_no: 'DOUBLE000001' }).delete();
        await knex('paylog').where({ out_trade_no: 'DOUBLE000001' }).delete();
      },
    );
  });

  test('a notify answered SUCCESS whose payment was not stored', async () => {
    await expectFound(
      ['acknowledged_notify_not_stored'],
      () => knex('notify_log').insert({ kind: 'pay', out_trade_no: open.outTradeNo, transaction_id: '4200000000000000000000000777', verdict: 'paid', raw_body: '<xml/>', received_at: clock() }),
      () => knex('notify_log').where({ transaction_id: '4200000000000000000000000777' }).delete(),
    );
  });

  test('refunded_fee that is not the sum of its SUCCESS refunds', async () => {
    await expectFound(
      ['refunds_not_summed'],
      () => knex('paylog').where({ out_trade_no: paid.outTradeNo }).increment('refunded_fee', 1),
      () => knex('paylog').where({ out_trade_no: paid.outTradeNo }).decrement('refunded_fee', 1),
    );
  });

  test('refunds asked for more than was paid', async () => {
    await expectFound(
      ['refunds_exceed_paid'],
      () => knex('refunds').insert({ out_refund_no: 'RTOOMUCH0001', out_trade_no: paid.outTradeNo, refund_fee: paid.totalFee, status: 'PENDING', operator: 'admin:x', created_at: clock(), updated_at: clock() }),
      () => knex('refunds').where({ out_refund_no: 'RTOOMUCH0001' }).delete(),
    );
  });

  test('stock that appeared or vanished', async () => {
    await expectFound(
      ['stock_not_conserved'],
      () => knex('product_variants').where({ sku: 'TEA-LJ-250' }).increment('stock', 1),
      () => knex('product_variants').where({ sku: 'TEA-LJ-250' }).decrement('stock', 1),
    );
  });

  test('paid here, not paid at WeChat', async () => {
    await expectFound(
      ['paid_here_not_at_wechat', 'totals_differ_from_wechat'],
      () => knex('sim_trades').where({ out_trade_no: paid.outTradeNo }).update({ trade_state: 'NOTPAY' }),
      () => knex('sim_trades').where({ out_trade_no: paid.outTradeNo }).update({ trade_state: 'REFUND' }),
    );
  });

  test('paid at WeChat, its notify lost: found until the sweeper (orderquery) settles it', async () => {
    const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    await addFault(shop, { kind: 'notify_drop', out_trade_no: outTradeNo });
    await payAtWechat(shop, outTradeNo);
    await settle();
    const report = await ledgerOf(shop, clock());
    expect(report.discrepancies).toEqual([
      { kind: 'paid_at_wechat_not_here', subject: outTradeNo, message: expect.stringContaining('NOTPAY here') },
      { kind: 'totals_differ_from_wechat', subject: 'all trades', message: expect.stringMatching(/^paid here ¥[\d.]+, WeChat took ¥[\d.]+ for our trades$/) },
    ]);
    await settleFromQuery(knex, shop.app.locals.deps.payments, outTradeNo, { now: clock(), source: 'sweeper' });
    const after = await expectCleanLedger(shop, clock());
    expect(after.trades).toBe(3);
  });

  test('closed here while its QR code can still be paid at WeChat', async () => {
    await expectFound(
      ['closed_here_payable_at_wechat'],
      () => knex('paylog').where({ out_trade_no: open.outTradeNo }).update({ trade_state: 'CLOSED' }),
      () => knex('paylog').where({ out_trade_no: open.outTradeNo }).update({ trade_state: 'NOTPAY' }),
    );
  });

  test('a refund whose state differs at WeChat, and one WeChat has that we never asked for', async () => {
    await expectFound(
      ['refund_mismatch_at_wechat'],
      () => knex('sim_refunds').where({ out_refund_no: paid.outRefundNo }).update({ status: 'PROCESSING' }),
      () => knex('sim_refunds').where({ out_refund_no: paid.outRefundNo }).update({ status: 'SUCCESS' }),
    );
    await expectFound(
      ['refund_mismatch_at_wechat'],
      () => knex('refunds').where({ out_refund_no: paid.outRefundNo }).update({ out_refund_no: 'RRENAMED0001' }),
      () => knex('refunds').where({ out_refund_no: 'RRENAMED0001' }).update({ out_refund_no: paid.outRefundNo }),
    );
  });

  test('without the simulator tables it says what it could not check, and still checks the rest', async () => {
    const report = await ledgerOf({ db: shop.db, app: { locals: { deps: { config: { wxpay: { mchId: '1234567890' } } } } } as never }, clock());
    expect(report.wechatPaidFen).toBeUndefined();
    expect(report.unchecked.join('\n')).toMatch(/WeChat's side \(merchant 1234567890\) is not in this database/);
    expect(report.discrepancies).toEqual([]);
  });

  test('it changes nothing (read-only transaction)', async () => {
    const before = await knex('paylog').orderBy('out_trade_no').select();
    await ledgerOf(shop, clock());
    expect(await knex('paylog').orderBy('out_trade_no').select()).toEqual(before);
  });
});
