import crypto from 'node:crypto';
import request from 'supertest';
import { SIMULATOR_MERCHANT } from '../../../src/config';
import { requestRefund } from '../../../src/ledger';
import { sendRefund } from '../../../src/refunds/service';
import { AUTH_SCHEMA, newNonce, requestMessage, rsaSign } from '../../../src/wechatpay/v3';
import { tradeWithQr } from '../../helpers/settlement';
import { payOnPhone } from '../../helpers/shopper';
import { V3_MERCHANT, createV3Shop, type V3Shop } from '../../helpers/v3-shop';

/**
 * The simulator's v3 door refuses what WeChat refuses (WECHATPAY-V3.md "classic mistakes"), and a
 * shop that switches version keeps settling the trades the other version made.
 */
describe('the simulator speaking APIv3', () => {
  let s: V3Shop;
  beforeAll(async () => {
    s = await createV3Shop({ current: 'v2' });
  });
  afterAll(async () => {
    await s.shop.close();
  });

  const path = `/wxsim/v3/pay/transactions/out-trade-no/NEVER0000000000001?mchid=${SIMULATOR_MERCHANT.mchId}`;
  /** a GET signed with the merchant's key, the message bent by `bend` */
  const signedGet = (bend: (m: { method: string; pathWithQuery: string; timestamp: number; nonce: string; body: string }) => string = requestMessage, m: { timestamp?: number; serial?: string } = {}) => {
    const timestamp = m.timestamp ?? Math.floor(Date.now() / 1000);
    const nonce = newNonce();
    const signature = rsaSign(bend({ method: 'GET', pathWithQuery: path, timestamp, nonce, body: '' }), V3_MERCHANT.privateKey);
    return request(s.shop.url)
      .get(path)
      .set('Accept', 'application/json')
      .set('User-Agent', 'test')
      .set('Authorization', `${AUTH_SCHEMA} mchid="${SIMULATOR_MERCHANT.mchId}",nonce_str="${nonce}",timestamp="${timestamp}",serial_no="${m.serial ?? V3_MERCHANT.serial}",signature="${signature}"`);
  };

  test('a rightly signed request is answered (404 ORDER_NOT_EXIST for a trade it never had)', async () => {
    const res = await signedGet().expect(404);
    expect(res.body).toMatchObject({ code: 'ORDER_NOT_EXIST' });
  });

  test('the classic mistakes are 401 SIGN_ERROR: no final newline, the path without /wxsim, "\\r\\n", milliseconds, another serial, a stale timestamp', async () => {
    const refused = async (req: request.Test, field: string) => {
      const res = await req.expect(401);
      expect(res.body).toMatchObject({ code: 'SIGN_ERROR', detail: { field } });
      return res;
    };
    const noFinalNewline = await refused(signedGet((m) => requestMessage(m).slice(0, -1)), 'signature');
    // WeChat's echo of what it verified: the five lines it rebuilt from the request
    expect(noFinalNewline.body.detail.sign_information).toMatchObject({ method: 'GET', url: path });
    await refused(signedGet((m) => requestMessage({ ...m, pathWithQuery: m.pathWithQuery.replace('/wxsim', '') })), 'signature');
    await refused(signedGet((m) => requestMessage(m).replace(/\n/g, '\r\n')), 'signature');
    await refused(signedGet((m) => requestMessage({ ...m, timestamp: m.timestamp * 1000 })), 'signature');
    await refused(signedGet(requestMessage, { serial: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB' }), 'serial_no');
    await refused(signedGet(requestMessage, { timestamp: Math.floor(Date.now() / 1000) - 301 }), 'timestamp');
  });

  test('without Accept or User-Agent: 400 INVALID_REQUEST', async () => {
    const res = await request(s.shop.url).get(path).set('User-Agent', '').expect(400);
    expect(res.body).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  test('a pretty-printed body signed but a compact one sent is refused', async () => {
    const body = { mchid: SIMULATOR_MERCHANT.mchId };
    const closePath = '/wxsim/v3/pay/transactions/out-trade-no/NEVER0000000000001/close';
    const timestamp = Math.floor(Date.now() / 1000);
    const nonce = newNonce();
    const signature = rsaSign(requestMessage({ method: 'POST', pathWithQuery: closePath, timestamp, nonce, body: JSON.stringify(body, null, 2) }), V3_MERCHANT.privateKey);
    const res = await request(s.shop.url)
      .post(closePath)
      .set({ Accept: 'application/json', 'User-Agent': 'test', 'Content-Type': 'application/json' })
      .set('Authorization', `${AUTH_SCHEMA} mchid="${SIMULATOR_MERCHANT.mchId}",nonce_str="${nonce}",timestamp="${timestamp}",serial_no="${V3_MERCHANT.serial}",signature="${signature}"`)
      .send(JSON.stringify(body))
      .expect(401);
    expect(res.body).toMatchObject({ code: 'SIGN_ERROR' });
  });

  test('public-key mode: /v3/certificates answers 404 RESOURCE_NOT_EXISTS', async () => {
    const certPath = '/wxsim/v3/certificates';
    const timestamp = Math.floor(Date.now() / 1000);
    const nonce = newNonce();
    const signature = rsaSign(requestMessage({ method: 'GET', pathWithQuery: certPath, timestamp, nonce, body: '' }), V3_MERCHANT.privateKey);
    const res = await request(s.shop.url)
      .get(certPath)
      .set({ Accept: 'application/json', 'User-Agent': 'test' })
      .set('Authorization', `${AUTH_SCHEMA} mchid="${SIMULATOR_MERCHANT.mchId}",nonce_str="${nonce}",timestamp="${timestamp}",serial_no="${V3_MERCHANT.serial}",signature="${signature}"`)
      .expect(404);
    expect(res.body).toMatchObject({ code: 'RESOURCE_NOT_EXISTS' });
  });

  test('a v2 trade started before a switch to v3 still settles, is queried and refunds on v2; a new attempt after the switch is v3', async () => {
    const knex = s.shop.db.knex;
    const { outTradeNo, paylog } = await tradeWithQr(s.shop, [['TEA-MLH-100', 1]]);
    expect(await knex('paylog').where({ out_trade_no: outTradeNo }).first('api_version')).toEqual({ api_version: 'v2' });
    // the switch: the same adapters now order on v3
    const afterSwitch = s.speaking('v3');
    expect((await payOnPhone(s.shop.url, paylog.code_url)).status).toBe(200);
    for (let i = 0; i < 100; i++) {
      await s.shop.simulator?.runDueWork();
      if (((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string }).trade_state === 'SUCCESS') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await knex('sim_notifications').where({ kind: 'pay' }).orderBy('id', 'desc').first('api_version', 'status')).toEqual({ api_version: 'v2', status: 'delivered' });
    expect(await afterSwitch.query(outTradeNo)).toMatchObject({ kind: 'paid', said: { state: 'SUCCESS' } });
    const [order] = (await knex('paylog_orders').where({ out_trade_no: outTradeNo }).select('order_id')) as { order_id: number }[];
    const outRefundNo = `RS${outTradeNo}`;
    await requestRefund(knex, { outTradeNo, orderId: order?.order_id, outRefundNo, refundFee: paylog.total_fee, reason: '', operator: 'admin:test', now: new Date() });
    expect(await sendRefund(knex, afterSwitch, { outRefundNo, operator: 'admin:test', clock: () => new Date() })).toMatchObject({ kind: 'accepted' });
    expect(await afterSwitch.refundQuery(outRefundNo)).toMatchObject({ kind: 'found', refundFen: paylog.total_fee });
    // the simulator made it on v2: its refund notify is v2's
    for (let i = 0; i < 100 && !(await knex('sim_notifications').where({ kind: 'refund', status: 'delivered' }).first('id')); i++) {
      await s.shop.simulator?.runDueWork();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await knex('sim_notifications').where({ kind: 'refund' }).orderBy('id', 'desc').first('api_version', 'status')).toEqual({ api_version: 'v2', status: 'delivered' });
    expect(await knex('refunds').where({ out_refund_no: outRefundNo }).first('status')).toEqual({ status: 'SUCCESS' });

    // an attempt not yet ordered anywhere is ordered on the version spoken now
    const offered = await afterSwitch.order({ outTradeNo: `V3${crypto.randomInt(1e9)}X`, description: 'switch', totalFen: 1, startsAt: new Date(), expiresAt: new Date(Date.now() + 3600_000), way: { tradeType: 'NATIVE' } });
    expect(offered).toMatchObject({ kind: 'offered', api: 'v3' });
  });
});
