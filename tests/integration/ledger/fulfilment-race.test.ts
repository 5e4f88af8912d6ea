import { shipOrder } from '../../../src/ledger';
import { createTestDatabase, serverUrl, type TestDatabase } from '../../helpers/testdb';

/**
 * A refund asked for at the very moment the order is shipped: shipOrder locks the payment attempt
 * first (the lock requestRefund takes), so it waits for the refund's transaction and then sees it:
 * the order is not shipped while its refund is undecided. Only on a server (two connections; on
 * embedded PGlite transactions run one at a time anyway).
 */
const onServer = serverUrl() ? describe : describe.skip;

onServer('shipping while a refund is being asked for', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  test('the ship waits for the refund\'s transaction, then refuses', async () => {
    const knex = testDb.db.knex;
    const now = new Date();
    const outTradeNo = `RACE${Date.now()}`;
    await knex('paylog').insert({ out_trade_no: outTradeNo, shopper_id: 's', total_fee: 600, trade_state: 'SUCCESS', transaction_id: `4200${Date.now()}`, pay_time: now, create_time: now, updated_at: now });
    const [row] = (await knex('orders')
      .insert({ shopper_id: 's', seller: 's', status: 'paid', delivery_status: 'pending', pay_type: 'wxpay', total_fen: 600, receiver_name: '张三', receiver_mobile: '13800138000', receiver_address: '北京', out_trade_no: outTradeNo, checkout_token: `race-${Date.now()}-xxxxxxxxxxxx`, created_at: now, updated_at: now, paid_at: now })
      .returning('id')) as { id: number }[];
    const orderId = Number(row?.id);
    await knex('paylog_orders').insert({ out_trade_no: outTradeNo, order_id: orderId });

    // requestRefund's transaction: the attempt locked, what is refundable read (no refund row yet)
    const refund = await knex.transaction();
    try {
      await refund('paylog').where({ out_trade_no: outTradeNo }).forUpdate().first();
      let settled = false;
      const ship = shipOrder(knex, { orderId, parcel: { courier: 'sf', courierName: null, trackingNo: 'SF1234567890123' }, operator: 'admin:test', now }).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      // the ship waits for the attempt's lock (without it, it would ship now, seeing no refund yet)
      expect(settled).toBe(false);
      await refund('refunds').insert({ out_refund_no: `RRACE${Date.now()}`, out_trade_no: outTradeNo, order_id: orderId, refund_fee: 100, status: 'PENDING', operator: 'admin:test', created_at: now, updated_at: now });
      await refund.commit();
      expect(await ship).toBe('refund_in_progress');
    } finally {
      // a failing expectation must not leave the attempt locked (the database could not be dropped)
      if (!refund.isCompleted()) await refund.rollback().catch(() => undefined);
    }
    expect(await knex('orders').where({ id: orderId }).first('delivery_status')).toEqual({ delivery_status: 'pending' });
  });
});
