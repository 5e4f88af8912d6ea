import fc from 'fast-check';
import type { Knex } from 'knex';
import request from 'supertest';
import { encryptReqInfo, signatureOf } from '../../../src/wechatpay';
import { formatBeijingTime } from '../../../src/wechatpay/time';
import type { TestShop } from '../../helpers/app';
import { byteMutation, damage, fuzzParameters, fuzzTimeout, replyCode, shuffled, toXml, type ByteMutation, type Element } from '../../helpers/fuzz';
import { merchantOf, shopOnClock } from '../../helpers/settlement';

/**
 * Property-based tests of both webhooks, through the real HTTP routes on a real database: random
 * mutations of a valid notify (fields dropped, set, added, reordered, re-encoded; amounts and ids
 * changed; signed again, with another key, or not at all; bytes flipped, inserted, cut; fields
 * duplicated; CDATA, entities and DOCTYPE inserted) never change state unless what was sent is
 * still validly signed (or encrypted) for our merchant with the right amount for the right trade;
 * a refused notify changes nothing; SUCCESS is answered only when the state is stored; and the
 * route never answers 5xx (no database fault here).
 *
 * Each run gets a trade (or refund) of its own, so runs cannot disturb each other, and the model
 * of a run says which outcome it must have: `refuse` (must answer FAIL with a 4xx and change
 * nothing), `accept` (must be stored and answered SUCCESS) or `may` (either, but if it changed
 * anything, exactly the signed payment). Byte damage makes a run `may` at best.
 */

type Verdict = 'refuse' | 'accept' | 'may';
const worst = (a: Verdict, b: Verdict): Verdict => (a === 'refuse' || b === 'refuse' ? 'refuse' : a === 'may' || b === 'may' ? 'may' : 'accept');

let serial = 0;
const nextSerial = () => (serial += 1);

describe('fuzz: the payment and refund webhooks', () => {
  let shop: TestShop;
  let knex: Knex;
  let merchant: ReturnType<typeof merchantOf>;

  beforeAll(async () => {
    ({ shop } = await shopOnClock());
    knex = shop.db.knex;
    merchant = merchantOf(shop);
  });
  afterAll(async () => {
    await shop?.close();
  });

  /** A NOTPAY payment attempt for one unpaid order, made straight in the database (cheap per run). */
  async function unpaidTrade(totalFee: number): Promise<{ outTradeNo: string; orderId: number }> {
    const outTradeNo = `FZ${String(Date.now()).slice(-9)}${String(nextSerial()).padStart(7, '0')}`;
    const now = new Date();
    await knex('paylog').insert({ out_trade_no: outTradeNo, shopper_id: 'fuzz', total_fee: totalFee, trade_state: 'NOTPAY', create_time: now, updated_at: now });
    const [order] = (await knex('orders')
      .insert({ shopper_id: 'fuzz', seller: 'fuzz', status: 'unpaid', pay_type: 'wxpay', total_fen: totalFee, receiver_name: 'f', receiver_mobile: '13800138000', receiver_address: 'fuzz address', out_trade_no: outTradeNo, checkout_token: `fuzz${outTradeNo}`, created_at: now, updated_at: now })
      .returning('id')) as { id: number }[];
    await knex('paylog_orders').insert({ out_trade_no: outTradeNo, order_id: (order as { id: number }).id });
    return { outTradeNo, orderId: (order as { id: number }).id };
  }

  describe('POST /wxpay/notify', () => {
    const FIELDS = ['return_code', 'appid', 'mch_id', 'nonce_str', 'result_code', 'openid', 'is_subscribe', 'trade_type', 'bank_type', 'total_fee', 'fee_type', 'cash_fee', 'transaction_id', 'out_trade_no', 'attach', 'time_end'] as const;
    /** a refusal is required when one of these is not as ours */
    const REQUIRED_AS_OURS = ['return_code', 'result_code', 'appid', 'mch_id', 'total_fee', 'out_trade_no', 'transaction_id'];

    type FieldMutation =
      | { op: 'drop'; field: string }
      | { op: 'set'; field: string; value: string }
      | { op: 'amount'; delta: number; garbage: string | undefined }
      | { op: 'add'; name: string; value: string }
      | { op: 'reorder'; seed: number }
      | { op: 'encoding'; index: number; cdata: boolean };

    const fieldValue = fc.oneof(
      fc.constantFrom('', 'SUCCESS', 'FAIL', 'USD', 'CNY', 'wx1111111111111111', '1234567890', '20261301250000', 'garbage', ' SUCCESS'),
      fc.string({ maxLength: 20 }),
    );
    const fieldMutation: fc.Arbitrary<FieldMutation> = fc.oneof(
      { weight: 2, arbitrary: fc.record({ op: fc.constant('drop' as const), field: fc.constantFrom(...FIELDS) }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), field: fc.constantFrom(...FIELDS), value: fieldValue }) },
      {
        weight: 4,
        arbitrary: fc.record({
          op: fc.constant('amount' as const),
          delta: fc.integer({ min: -1000, max: 1000 }).filter((d) => d !== 0),
          garbage: fc.option(fc.constantFrom('.5', 'abc', '.00', 'e2', ' '), { nil: undefined, freq: 3 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const), name: fc.stringMatching(/^[a-z][a-z_]{0,15}$/), value: fc.string({ maxLength: 20 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('reorder' as const), seed: fc.integer() }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('encoding' as const), index: fc.nat(), cdata: fc.boolean() }) },
    );
    // mostly signed again with our key: a forger cannot, but the amount and merchant checks must hold on their own
    const signChoice = fc.constantFrom('resign', 'resign', 'resign', 'resign', 'keep', 'wrong_key', 'none');

    test('no mutation changes state unless it is still validly signed for our merchant with the right amount', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 100_000_00 }), fc.array(fieldMutation, { maxLength: 3 }), signChoice, byteMutation, async (totalFee, mutations, sign, bytes) => {
          const { outTradeNo, orderId } = await unpaidTrade(totalFee);
          const transactionId = `42000000${String(nextSerial()).padStart(20, '0')}`;
          const base: Record<string, string> = {
            return_code: 'SUCCESS',
            appid: merchant.appId,
            mch_id: merchant.mchId,
            nonce_str: `n${nextSerial()}`,
            result_code: 'SUCCESS',
            openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
            is_subscribe: 'N',
            trade_type: 'NATIVE',
            bank_type: 'OTHERS',
            total_fee: String(totalFee),
            fee_type: 'CNY',
            cash_fee: String(totalFee),
            transaction_id: transactionId,
            out_trade_no: outTradeNo,
            attach: 'orders:1',
            time_end: formatBeijingTime(new Date()),
          };
          let elements: Element[] = Object.entries(base).map(([name, value]) => ({ name, value, cdata: true }));
          let verdict: Verdict = 'accept';
          for (const m of mutations) {
            if (m.op === 'drop') {
              elements = elements.filter((e) => e.name !== m.field);
            } else if (m.op === 'set') {
              const target = elements.find((e) => e.name === m.field);
              if (target) target.value = m.value === outTradeNo ? `${m.value}x` : m.value;
            } else if (m.op === 'amount') {
              const target = elements.find((e) => e.name === 'total_fee');
              if (target) target.value = m.garbage === undefined ? String(Math.abs(totalFee + m.delta) || totalFee + 1) : `${totalFee}${m.garbage}`;
            } else if (m.op === 'add') {
              if (!elements.some((e) => e.name === m.name) && m.name !== 'sign' && m.name !== 'sign_type') elements.push({ name: m.name, value: m.value, cdata: true });
            } else if (m.op === 'reorder') {
              elements = shuffled(elements, m.seed);
            } else {
              const target = elements[m.index % elements.length];
              if (target) target.cdata = m.cdata && !target.value.includes(']]>');
            }
          }
          const fields = Object.fromEntries(elements.map((e) => [e.name, e.value]));
          // what a verifier sees: empty values are left out of the signature as of the wire
          const meaningful = (f: Record<string, string>) => JSON.stringify(Object.entries(f).filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : 1)));
          const fieldsChanged = meaningful(fields) !== meaningful(base);
          if (sign === 'resign') elements.push({ name: 'sign', value: signatureOf(fields, merchant.apiKey, 'MD5'), cdata: true });
          else if (sign === 'keep') elements.push({ name: 'sign', value: signatureOf(base, merchant.apiKey, 'MD5'), cdata: true });
          else if (sign === 'wrong_key') elements.push({ name: 'sign', value: signatureOf(fields, 'not-our-key-000000000000000000000', 'MD5'), cdata: true });

          // the model: what this notify is, as sent
          const validlySigned = sign === 'resign' || (sign === 'keep' && !fieldsChanged);
          if (!validlySigned) verdict = 'refuse';
          for (const name of REQUIRED_AS_OURS) if (fields[name] !== base[name]) verdict = name === 'transaction_id' && fields[name] ? worst(verdict, 'may') : 'refuse';
          if (fields.fee_type !== undefined && fields.fee_type !== '' && fields.fee_type !== 'CNY') verdict = 'refuse';
          // anything else that differs (an optional field dropped or changed, a time_end, a new field) may go either way
          const others = Object.keys({ ...base, ...fields }).filter((k) => !REQUIRED_AS_OURS.includes(k) && k !== 'fee_type');
          if (others.some((k) => fields[k] !== base[k])) verdict = worst(verdict, 'may');
          if (bytes.kind !== 'none') verdict = worst(verdict, 'may');
          const signedTransaction = fields.transaction_id;

          const res = await request(shop.url).post('/wxpay/notify').set('Content-Type', 'text/xml').send(damage(elements, bytes));
          const paylog = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'transaction_id', 'flag', 'conflict_transaction_id')) as Record<string, unknown>;
          const order = (await knex('orders').where({ id: orderId }).first('status')) as { status: string };
          const reply = replyCode(res.text);
          const context = `status ${res.status}, reply ${res.text.slice(0, 160)}, verdict ${verdict}, sign ${sign}, bytes ${JSON.stringify(bytes)}, paylog ${JSON.stringify(paylog)}`;

          expect({ context, lt500: res.status < 500 }).toEqual({ context, lt500: true });
          expect({ context, reply }).toEqual({ context, reply: expect.stringMatching(/^(SUCCESS|FAIL)$/) });
          const stored = paylog.trade_state === 'SUCCESS' && paylog.transaction_id === signedTransaction && order.status === 'paid';
          const unchanged = paylog.trade_state === 'NOTPAY' && paylog.transaction_id === null && paylog.flag === null && paylog.conflict_transaction_id === null && order.status === 'unpaid';
          // SUCCESS only once stored; FAIL never with anything changed; nothing else is ever possible
          expect({ context, ok: reply === 'SUCCESS' ? stored && res.status === 200 : unchanged }).toEqual({ context, ok: true });
          if (verdict === 'refuse') expect({ context, refused: reply === 'FAIL' && res.status >= 400 }).toEqual({ context, refused: true });
          if (verdict === 'accept') expect({ context, accepted: reply === 'SUCCESS' }).toEqual({ context, accepted: true });
        }),
        fuzzParameters(200),
      );
    }, fuzzTimeout(200));
  });

  describe('POST /wxpay/refund-notify', () => {
    const INNER = ['out_trade_no', 'transaction_id', 'refund_id', 'out_refund_no', 'total_fee', 'refund_fee', 'settlement_refund_fee', 'refund_status', 'success_time', 'refund_recv_accout', 'refund_account', 'refund_request_source'] as const;
    /** must be exactly ours, or the notify must be refused */
    const MUST_MATCH = ['out_trade_no', 'transaction_id', 'refund_id', 'out_refund_no', 'total_fee', 'refund_fee'];

    type Mutation =
      | { op: 'amount'; field: 'refund_fee' | 'total_fee' | 'settlement_refund_fee'; delta: number }
      | { op: 'drop'; field: string }
      | { op: 'set'; field: string; value: string }
      | { op: 'status'; value: string }
      | { op: 'reorder'; seed: number }
      | { op: 'outer'; field: 'appid' | 'mch_id' | 'return_code'; value: string };

    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.record({ op: fc.constant('amount' as const), field: fc.constantFrom('refund_fee' as const, 'total_fee' as const, 'settlement_refund_fee' as const), delta: fc.integer({ min: -1000, max: 1000 }).filter((d) => d !== 0) }),
      fc.record({ op: fc.constant('amount' as const), field: fc.constantFrom('refund_fee' as const, 'total_fee' as const), delta: fc.integer({ min: -1000, max: 1000 }).filter((d) => d !== 0) }),
      fc.record({ op: fc.constant('drop' as const), field: fc.constantFrom(...INNER) }),
      fc.record({ op: fc.constant('set' as const), field: fc.constantFrom(...INNER), value: fc.oneof(fc.constantFrom('', '1', '0', '-1', '99999999', 'R000000000000000', '1.5'), fc.string({ maxLength: 16 })) }),
      fc.record({ op: fc.constant('status' as const), value: fc.constantFrom('SUCCESS', 'CHANGE', 'REFUNDCLOSE', 'PROCESSING', 'success', '') }),
      fc.record({ op: fc.constant('reorder' as const), seed: fc.integer() }),
      fc.record({ op: fc.constant('outer' as const), field: fc.constantFrom('appid' as const, 'mch_id' as const, 'return_code' as const), value: fc.constantFrom('', 'FAIL', 'wx1111111111111111', '1234567890') }),
    );
    const encryption = fc.constantFrom('ours', 'ours', 'ours', 'ours', 'other_key', 'not_base64', 'flipped');

    test('no mutation settles a refund unless it decrypts with our key and matches our refund exactly', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 100_000_00 }), fc.array(mutation, { maxLength: 3 }), encryption, byteMutation, async (totalFee, mutations, enc, bytes) => {
          const { outTradeNo } = await unpaidTrade(totalFee);
          const transactionId = `42000000${String(nextSerial()).padStart(20, '0')}`;
          const refundFee = Math.max(1, Math.floor(totalFee / 3));
          const outRefundNo = `RFZ${String(nextSerial()).padStart(12, '0')}`;
          const refundId = `50300000${String(nextSerial()).padStart(20, '0')}`;
          const now = new Date();
          await knex('paylog').where({ out_trade_no: outTradeNo }).update({ trade_state: 'SUCCESS', transaction_id: transactionId, pay_time: now });
          await knex('orders').where({ out_trade_no: outTradeNo }).update({ status: 'paid', paid_at: now });
          await knex('refunds').insert({ out_refund_no: outRefundNo, out_trade_no: outTradeNo, refund_fee: refundFee, status: 'PROCESSING', refund_id: refundId, operator: 'admin:fuzz', created_at: now, updated_at: now });

          const base: Record<string, string> = {
            out_trade_no: outTradeNo,
            transaction_id: transactionId,
            refund_id: refundId,
            out_refund_no: outRefundNo,
            total_fee: String(totalFee),
            refund_fee: String(refundFee),
            settlement_refund_fee: String(refundFee),
            refund_status: 'SUCCESS',
            success_time: '2026-11-26 10:00:00',
            refund_recv_accout: '支付用户零钱',
            refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
            refund_request_source: 'API',
          };
          let inner: Element[] = Object.entries(base).map(([name, value]) => ({ name, value, cdata: true }));
          const outerFields: Record<string, string> = { return_code: 'SUCCESS', appid: merchant.appId, mch_id: merchant.mchId };
          for (const m of mutations) {
            if (m.op === 'amount') {
              const target = inner.find((e) => e.name === m.field);
              if (target) target.value = String(Math.abs(Number(base[m.field]) + m.delta) || Number(base[m.field]) + 1);
            } else if (m.op === 'drop') inner = inner.filter((e) => e.name !== m.field);
            else if (m.op === 'set' || m.op === 'status') {
              const field = m.op === 'status' ? 'refund_status' : m.field;
              const target = inner.find((e) => e.name === field);
              if (target) target.value = m.value;
            } else if (m.op === 'reorder') inner = shuffled(inner, m.seed);
            else outerFields[m.field] = m.value;
          }
          const fields = Object.fromEntries(inner.map((e) => [e.name, e.value]));
          const innerXml = toXml(inner, 'root');
          let reqInfo = enc === 'other_key' ? encryptReqInfo(innerXml, 'not-our-key-000000000000000000000') : enc === 'not_base64' ? `${encryptReqInfo(innerXml, merchant.apiKey)}*` : encryptReqInfo(innerXml, merchant.apiKey);
          if (enc === 'flipped') reqInfo = `${reqInfo.slice(0, 4)}${reqInfo[4] === 'A' ? 'B' : 'A'}${reqInfo.slice(5)}`;
          const outer: Element[] = [
            { name: 'return_code', value: outerFields.return_code as string, cdata: true },
            { name: 'return_msg', value: 'OK', cdata: true },
            { name: 'appid', value: outerFields.appid as string, cdata: true },
            { name: 'mch_id', value: outerFields.mch_id as string, cdata: true },
            { name: 'nonce_str', value: `n${nextSerial()}`, cdata: true },
            { name: 'req_info', value: reqInfo, cdata: true },
          ];

          let verdict: Verdict = 'accept';
          if (enc !== 'ours') verdict = 'refuse';
          if (outerFields.return_code !== 'SUCCESS' || outerFields.appid !== merchant.appId || outerFields.mch_id !== merchant.mchId) verdict = 'refuse';
          for (const name of MUST_MATCH) if (fields[name] !== base[name]) verdict = 'refuse';
          const status = fields.refund_status;
          if (status !== 'SUCCESS' && status !== 'CHANGE' && status !== 'REFUNDCLOSE') verdict = 'refuse';
          else if (status !== 'SUCCESS') verdict = worst(verdict, 'may');
          if (INNER.some((k) => !MUST_MATCH.includes(k) && k !== 'refund_status' && fields[k] !== base[k])) verdict = worst(verdict, 'may');
          if (bytes.kind !== 'none') verdict = worst(verdict, 'may');

          const res = await request(shop.url).post('/wxpay/refund-notify').set('Content-Type', 'text/xml').send(damage(outer, bytes as ByteMutation));
          const refund = (await knex('refunds').where({ out_refund_no: outRefundNo }).first('status', 'refund_id')) as { status: string; refund_id: string };
          const paylog = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state', 'refunded_fee')) as { trade_state: string; refunded_fee: number };
          const reply = replyCode(res.text);
          const context = `status ${res.status}, reply ${res.text.slice(0, 160)}, verdict ${verdict}, enc ${enc}, bytes ${JSON.stringify(bytes)}, refund ${JSON.stringify(refund)}, paylog ${JSON.stringify(paylog)}`;

          expect({ context, lt500: res.status < 500 }).toEqual({ context, lt500: true });
          expect({ context, reply }).toEqual({ context, reply: expect.stringMatching(/^(SUCCESS|FAIL)$/) });
          const unchanged = refund.status === 'PROCESSING' && refund.refund_id === refundId && paylog.trade_state === 'SUCCESS' && paylog.refunded_fee === 0;
          const settledAsSent =
            status === 'SUCCESS'
              ? refund.status === 'SUCCESS' && paylog.trade_state === 'REFUND' && paylog.refunded_fee === refundFee
              : refund.status === status && paylog.trade_state === 'SUCCESS' && paylog.refunded_fee === 0;
          expect({ context, ok: reply === 'SUCCESS' ? settledAsSent && res.status === 200 : unchanged }).toEqual({ context, ok: true });
          if (verdict === 'refuse') expect({ context, refused: reply === 'FAIL' && res.status >= 400 }).toEqual({ context, refused: true });
          if (verdict === 'accept') expect({ context, accepted: reply === 'SUCCESS' }).toEqual({ context, accepted: true });
        }),
        fuzzParameters(150),
      );
    }, fuzzTimeout(150));
  });
});
