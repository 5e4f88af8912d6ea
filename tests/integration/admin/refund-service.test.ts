import { refundAccepted, refundFailed, requestRefund, settleRefund } from '../../../src/ledger';
import { createTestDatabase, type TestDatabase } from '../../helpers/testdb';
import { insertPaylog } from './helpers';

/** The refund rules on the database alone (no HTTP): the invariants under concurrency. */
describe('refund service invariants', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });
  const knex = () => testDb.db.knex;
  const now = new Date('2026-11-25T02:00:00Z');

  async function paid(totalFee: number): Promise<string> {
    return insertPaylog(knex(), { trade_state: 'SUCCESS', total_fee: totalFee, transaction_id: `42${Date.now()}${Math.floor(Math.random() * 1e9)}`.slice(0, 28) });
  }

  test('twenty refunds asked at once never add up to more than total_fee', async () => {
    const outTradeNo = await paid(1000);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => requestRefund(knex(), { outTradeNo, outRefundNo: `RC${i}_${outTradeNo}`.slice(0, 64), refundFee: 150, reason: '', operator: 'admin:a', now })),
    );
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(accepted).toHaveLength(6);
    expect(refused).toHaveLength(14);
    expect(refused.every((r) => (r.reason as { messageKey?: string }).messageKey === 'refund.error.exceeds')).toBe(true);
    const [sum] = await knex()('refunds').where({ out_trade_no: outTradeNo }).sum({ fen: 'refund_fee' });
    expect(Number(sum?.fen)).toBe(900);
  });

  test('the same out_refund_no asked twice is one refund; with another amount it is refused', async () => {
    const outTradeNo = await paid(500);
    const input = { outTradeNo, outRefundNo: `RSAME_${outTradeNo}`, refundFee: 100, reason: 'r', operator: 'admin:a', now };
    const [a, b] = await Promise.all([requestRefund(knex(), input), requestRefund(knex(), input)]);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    await expect(requestRefund(knex(), { ...input, refundFee: 200 })).rejects.toMatchObject({ messageKey: 'refund.error.tokenUsed' });
    expect(await knex()('refunds').where({ out_trade_no: outTradeNo }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  test('a closed refund frees its amount; a failed-for-now one keeps holding it', async () => {
    const outTradeNo = await paid(300);
    await requestRefund(knex(), { outTradeNo, outRefundNo: `RCLOSE_${outTradeNo}`, refundFee: 300, reason: '', operator: 'admin:a', now });
    await expect(requestRefund(knex(), { outTradeNo, outRefundNo: `RMORE_${outTradeNo}`, refundFee: 1, reason: '', operator: 'admin:a', now })).rejects.toMatchObject({ messageKey: 'refund.error.exceeds' });
    expect(await refundFailed(knex(), { outRefundNo: `RCLOSE_${outTradeNo}`, error: 'SYSTEMERROR', final: false, operator: 'admin:a', now })).toBe('PENDING');
    await expect(requestRefund(knex(), { outTradeNo, outRefundNo: `RMORE_${outTradeNo}`, refundFee: 1, reason: '', operator: 'admin:a', now })).rejects.toMatchObject({ messageKey: 'refund.error.exceeds' });
    expect(await refundFailed(knex(), { outRefundNo: `RCLOSE_${outTradeNo}`, error: 'PARAM_ERROR', final: true, operator: 'admin:a', now })).toBe('REFUNDCLOSE');
    const again = await requestRefund(knex(), { outTradeNo, outRefundNo: `RMORE_${outTradeNo}`, refundFee: 300, reason: '', operator: 'admin:a', now });
    expect(again.created).toBe(true);
  });

  test('ten concurrent SUCCESS outcomes of one refund add its amount once', async () => {
    const outTradeNo = await paid(700);
    const outRefundNo = `RDUP_${outTradeNo}`;
    await requestRefund(knex(), { outTradeNo, outRefundNo, refundFee: 700, reason: '', operator: 'admin:a', now });
    const paylog = (await knex()('paylog').where({ out_trade_no: outTradeNo }).first('transaction_id')) as { transaction_id: string };
    const outcome = { outRefundNo, outTradeNo, transactionId: paylog.transaction_id, refundId: '5030000000000000000000000007', refundFee: 700, totalFee: 700, status: 'SUCCESS' as const, operator: 'system', now };
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => settleRefund(knex(), outcome)));
    expect(outcomes.filter((o) => o === 'fully_refunded')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(9);
    expect(await knex()('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee', 'trade_state')).toEqual({ refunded_fee: 700, trade_state: 'REFUND' });
    // the accept answer arriving after the notify does not move the refund back
    expect(await refundAccepted(knex(), { outRefundNo, refundId: '5030000000000000000000000007', refundFee: 700, now })).toBe('SUCCESS');
    expect((await knex()('refunds').where({ out_refund_no: outRefundNo }).first('status')).status).toBe('SUCCESS');
  });
});
