import crypto from 'node:crypto';
import request from 'supertest';
import { requestRefund } from '../../../src/ledger';
import { sendRefund } from '../../../src/refunds/service';
import { signWechatAnswer } from '../../../src/wechatpay/v3';
import { tradeWithQr } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';
import { createV3Shop, type V3Shop } from '../../helpers/v3-shop';

/** Until `check` holds, running the simulator's due work (notifies, refund ends) in between. */
async function until<T>(s: V3Shop, what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = await check();
    if (found !== undefined) return found;
    await s.shop.simulator?.runDueWork();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never: ${what}`);
}

describe('a shop on APIv3 credentials, against the simulator over real HTTP', () => {
  let s: V3Shop;
  beforeAll(async () => {
    s = await createV3Shop();
  });
  afterAll(async () => {
    await s.shop.close();
  });
  const knex = () => s.shop.db.knex;

  test('Native: ordered on v3, paid on the phone, the v3 notify verified, decrypted and settled; then refunded with its v3 refund notify', async () => {
    const { outTradeNo, paylog } = await tradeWithQr(s.shop, [['TEA-MLH-100', 1]]);
    expect(paylog.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(await knex()('paylog').where({ out_trade_no: outTradeNo }).first('api_version')).toEqual({ api_version: 'v3' });
    expect(await knex()('sim_trades').where({ out_trade_no: outTradeNo }).first('api_version')).toEqual({ api_version: 'v3' });

    expect((await payOnPhone(s.shop.url, paylog.code_url)).status).toBe(200);
    const paid = await until(s, 'the v3 notify settles the payment', async () => {
      const row = (await knex()('paylog').where({ out_trade_no: outTradeNo }).first()) as { trade_state: string; transaction_id: string | null };
      return row.trade_state === 'SUCCESS' ? row : undefined;
    });
    const simTrade = (await knex()('sim_trades').where({ out_trade_no: outTradeNo }).first()) as { transaction_id: string };
    expect(paid.transaction_id).toBe(simTrade.transaction_id);
    const notification = (await knex()('sim_notifications').where({ kind: 'pay' }).orderBy('id', 'desc').first()) as { api_version: string; status: string };
    expect(notification).toMatchObject({ api_version: 'v3', status: 'delivered' });
    const logged = (await knex()('notify_log').where({ out_trade_no: outTradeNo, kind: 'pay' }).first()) as { verdict: string; raw_body: string };
    expect(logged.verdict).toBe('paid');
    expect(JSON.parse(logged.raw_body)).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource: { algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction' } });

    // the query on v3 says the same
    const total = ((await knex()('paylog').where({ out_trade_no: outTradeNo }).first('total_fee')) as { total_fee: number }).total_fee;
    expect(await s.payments.query(outTradeNo)).toMatchObject({ kind: 'paid', news: { outTradeNo, transactionId: simTrade.transaction_id, totalFee: total } });

    // refund: no client certificate; accepted PROCESSING, ended by the simulator, its v3 notify settles it
    const outRefundNo = `R3${outTradeNo}`.slice(0, 64);
    const [order] = (await knex()('paylog_orders').where({ out_trade_no: outTradeNo }).select('order_id')) as { order_id: number }[];
    await requestRefund(knex(), { outTradeNo, orderId: order?.order_id, outRefundNo, refundFee: total, reason: '测试退款', operator: 'admin:test', now: new Date() });
    expect(await sendRefund(knex(), s.payments, { outRefundNo, operator: 'admin:test', clock: () => new Date() })).toMatchObject({ kind: 'accepted' });
    const refunded = await until(s, 'the v3 refund notify settles the refund', async () => {
      const row = (await knex()('refunds').where({ out_refund_no: outRefundNo }).first()) as { status: string; refund_id: string | null };
      return row.status === 'SUCCESS' ? row : undefined;
    });
    const simRefund = (await knex()('sim_refunds').where({ out_refund_no: outRefundNo }).first()) as { refund_id: string };
    expect(refunded.refund_id).toBe(simRefund.refund_id);
    expect(await knex()('paylog').where({ out_trade_no: outTradeNo }).first('refunded_fee')).toEqual({ refunded_fee: total });
    expect(await knex()('sim_notifications').where({ kind: 'refund' }).orderBy('id', 'desc').first('api_version', 'status')).toEqual({ api_version: 'v3', status: 'delivered' });
    expect(await s.payments.refundQuery(outRefundNo)).toMatchObject({ kind: 'found', status: 'SUCCESS', refundId: simRefund.refund_id, refundFen: total, totalFen: total, outTradeNo });
    expect(await s.payments.refundQuery('R3-never-made')).toEqual({ kind: 'not_found' });
  });

  test('close: a v3 attempt closes at once (204, no 5-minute refusal), again without harm, and the query then says closed', async () => {
    const { outTradeNo } = await tradeWithQr(s.shop);
    expect(await s.payments.close(outTradeNo)).toBe('closed');
    expect(await s.payments.close(outTradeNo)).toBe('closed');
    expect(await s.payments.query(outTradeNo)).toMatchObject({ kind: 'closed', said: { state: 'CLOSED' } });
    expect(await s.payments.query('NEVER0000000000001')).toEqual({ kind: 'not_found' });
  });

  describe('notifies that do not prove themselves are refused with 4xx and recorded', () => {
    const forged = (body: string, overrides: Record<string, string> = {}, at = new Date()) => {
      const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      return { ...signWechatAnswer(body, { serial: s.shop.simulator?.v3PublicKey.id ?? '', privateKey: key }, { timestamp: Math.floor(at.getTime() / 1000), nonce: 'n' }), ...overrides };
    };
    const post = (headers: Record<string, string>, body: string) => request(s.shop.url).post('/wxpay/notify').set(headers).set('Content-Type', 'application/json').send(body);
    const body = JSON.stringify({ id: 'EV', event_type: 'TRANSACTION.SUCCESS', resource: { algorithm: 'AEAD_AES_256_GCM', ciphertext: 'AAAA', nonce: 'abcdefghijkl', associated_data: 'transaction' } });

    test('signed with a key WeChat never published: 401 {"code":"FAIL"}', async () => {
      const res = await post(forged(body), body).expect(401);
      expect(res.body).toMatchObject({ code: 'FAIL' });
      expect(await knex()('notify_log').where({ verdict: 'bad_signature' }).count({ n: '*' })).not.toEqual([{ n: 0 }]);
    });

    test('an unknown serial, and a SIGNTEST probe, are refused', async () => {
      await post(forged(body, { 'Wechatpay-Serial': 'PUB_KEY_ID_0000000000000000000000000000000001' }), body).expect(401);
      await post(forged(body, { 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/abc' }), body).expect(401);
    });
  });
});
