import crypto from 'node:crypto';
import request from 'supertest';
import { requestRefund } from '../../../src/ledger';
import { encryptResource, signWechatAnswer } from '../../../src/wechatpay/v3';
import { sendRefund } from '../../../src/refunds/service';
import { createTestShop, type TestShop } from '../../helpers/app';
import { tradeWithQr } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';

/** The demo started as `npm start` starts it, with WXPAY_API_VERSION=v3: the version chosen at start-up, the keys made and kept. */
describe('WXPAY_API_VERSION=v3 in simulator mode: the demo speaks APIv3 from start-up', () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await createTestShop({ env: { WXPAY_API_VERSION: 'v3', SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  const settled = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await shop.simulator?.runDueWork();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`never: ${what}`);
  };

  test('a Native payment and its refund go over v3 end to end, with keys kept in the database (never in the repository)', async () => {
    const knex = shop.db.knex;
    const kept = (await knex('app_settings').where({ key: 'simulator_v3_keys' }).first('value')) as { value: string } | undefined;
    expect(JSON.parse(kept?.value ?? '{}')).toMatchObject({ simulator: { publicKeyId: expect.stringMatching(/^PUB_KEY_ID_/) }, merchant: { apiV3Key: expect.any(String) } });

    const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('api_version')).toEqual({ api_version: 'v3' });
    expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
    await settled('paid by the v3 notify', async () => ((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string }).trade_state === 'SUCCESS');
    expect(await knex('sim_notifications').where({ kind: 'pay' }).orderBy('id', 'desc').first('api_version', 'status')).toEqual({ api_version: 'v3', status: 'delivered' });

    const payments = shop.app.locals.deps.payments;
    const [order] = (await knex('paylog_orders').where({ out_trade_no: outTradeNo }).select('order_id')) as { order_id: number }[];
    const outRefundNo = `RV${outTradeNo}`;
    await requestRefund(knex, { outTradeNo, orderId: order?.order_id, outRefundNo, refundFee: paylog.total_fee, reason: '', operator: 'admin:test', now: new Date() });
    expect(await sendRefund(knex, payments, { outRefundNo, operator: 'admin:test', clock: () => new Date() })).toMatchObject({ kind: 'accepted' });
    await settled('refunded by the v3 refund notify', async () => ((await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')) as { status: string }).status === 'SUCCESS');
    expect(await knex('sim_notifications').where({ kind: 'refund' }).orderBy('id', 'desc').first('api_version', 'status')).toEqual({ api_version: 'v3', status: 'delivered' });
  });

  describe('notifies signed with the simulator\'s own kept key, each broken in one way, are refused and recorded', () => {
    const kept = async () => JSON.parse(((await shop.db.knex('app_settings').where({ key: 'simulator_v3_keys' }).first('value')) as { value: string }).value) as { simulator: { privateKeyPem: string; publicKeyId: string }; merchant: { apiV3Key: string } };
    const notifyFor = async (m: { at: Date; key?: string; tamperTag?: boolean; serial?: string }) => {
      const k = await kept();
      const [trade] = (await shop.db.knex('paylog').where({ api_version: 'v3' }).select('out_trade_no', 'total_fee')) as { out_trade_no: string; total_fee: number }[];
      const plaintext = JSON.stringify({ mchid: '1900000109', appid: 'wx0000000000sim001', out_trade_no: trade?.out_trade_no, transaction_id: '4200000000202612070000000001', trade_state: 'SUCCESS', success_time: '2026-12-07T18:30:00+08:00', amount: { total: trade?.total_fee, currency: 'CNY' } });
      let ciphertext = encryptResource(plaintext, m.key ?? k.merchant.apiV3Key, { nonce: 'abcdefghijkl', associatedData: 'transaction' });
      if (m.tamperTag) {
        const bytes = Buffer.from(ciphertext, 'base64');
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
        ciphertext = bytes.toString('base64');
      }
      const body = JSON.stringify({ id: 'EV-T', create_time: '2026-12-07T18:30:00+08:00', resource_type: 'encrypt-resource', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功', resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce: 'abcdefghijkl' } });
      const headers = signWechatAnswer(body, { serial: m.serial ?? k.simulator.publicKeyId, privateKey: crypto.createPrivateKey(k.simulator.privateKeyPem) }, { timestamp: Math.floor(m.at.getTime() / 1000), nonce: 'n-test' });
      return request(shop.url).post('/wxpay/notify').set(headers).set('Content-Type', 'application/json').send(body);
    };
    const lastVerdict = async () => ((await shop.db.knex('notify_log').orderBy('id', 'desc').first('verdict')) as { verdict: string }).verdict;

    test('signed right but 300 s old (a replay): 401 bad_signature', async () => {
      const res = await notifyFor({ at: new Date(Date.now() - 300_000) });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'FAIL', message: expect.stringMatching(/away from our clock/) });
      expect(await lastVerdict()).toBe('bad_signature');
    });

    test('signed with the right key but naming a serial we do not hold: 401 bad_signature (the serial names the key; none is guessed)', async () => {
      const res = await notifyFor({ at: new Date(), serial: 'PUB_KEY_ID_0199999999999999999999' });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ message: expect.stringMatching(/neither our WeChat Pay public key id/) });
    });

    test('signed right, encrypted with another APIv3 key or with its GCM tag flipped: 401 bad_resource, nothing paid', async () => {
      expect((await notifyFor({ at: new Date(), key: 'another-apiv3-key-0000000000000x' })).status).toBe(401);
      expect(await lastVerdict()).toBe('bad_resource');
      expect((await notifyFor({ at: new Date(), tamperTag: true })).status).toBe(401);
      expect(await lastVerdict()).toBe('bad_resource');
      expect(await shop.db.knex('paylog').where({ transaction_id: '4200000000202612070000000001' }).first()).toBeUndefined();
    });
  });
});
