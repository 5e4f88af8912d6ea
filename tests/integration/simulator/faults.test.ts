import { addFault } from '../../../src/simulator';
import { WxReturnError, formatBeijingDate, parsePaymentNotify, parseXml, verifySignature } from '../../../src/wechatpay';
import { HMAC_MERCHANT, MD5_MERCHANT, SUCCESS_REPLY, FAIL_REPLY, newOutTradeNo, orderArgs, startHarness, startReceiver, type Harness, type Receiver, type TestMerchant } from './harness';

const TIME_SCALE = 60;
const scaled = (seconds: number) => Math.round((seconds * 1000) / TIME_SCALE);

describe('fault injection on payment notifies', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ timeScale: TIME_SCALE });
  });
  afterEach(async () => {
    await h.close();
  });

  async function payTrade(receiver: Receiver, outTradeNo = newOutTradeNo(), merchant: TestMerchant = MD5_MERCHANT) {
    const order = await h.client(merchant, merchant === MD5_MERCHANT ? 'MD5' : 'HMAC-SHA256').unifiedOrder(orderArgs(outTradeNo, receiver.url));
    expect((await h.pay(order.codeUrl)).status).toBe(200);
    const trade = await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first();
    return { outTradeNo, trade, note: await h.knex('sim_notifications').where({ trade_id: trade.id }).first() };
  }

  test('notify_duplicate sends `copies` identical notifies at once on one attempt', async () => {
    const receiver = await startReceiver();
    try {
      const outTradeNo = newOutTradeNo();
      await addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, outTradeNo, kind: 'notify_duplicate', copies: 3, count: 1 });
      const { note } = await payTrade(receiver, outTradeNo);
      expect(await h.sim.runDueWork()).toBe(1);
      expect(receiver.requests).toHaveLength(3);
      expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
      const spread = Math.max(...receiver.requests.map((r) => r.at)) - Math.min(...receiver.requests.map((r) => r.at));
      expect(spread).toBeLessThan(500);
      expect(await h.knex('sim_notifications').where({ id: note.id }).first()).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await receiver.close();
    }
  });

  test('notify_duplicate counts attempts: with count 1 the retry after a FAIL is sent once', async () => {
    const receiver = await startReceiver((n) => ({ body: n < 2 ? FAIL_REPLY : SUCCESS_REPLY }));
    try {
      await addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, kind: 'notify_duplicate', copies: 2, count: 1 });
      const { note } = await payTrade(receiver);
      await h.sim.runDueWork();
      expect(receiver.requests).toHaveLength(2);
      h.clock.advance(scaled(15));
      await h.sim.runDueWork();
      expect(receiver.requests).toHaveLength(3);
      expect(await h.knex('sim_notifications').where({ id: note.id }).first()).toMatchObject({ status: 'delivered', attempts: 2 });
    } finally {
      await receiver.close();
    }
  });

  test('notify_delay holds the first attempt for delay_seconds (unscaled)', async () => {
    const receiver = await startReceiver();
    try {
      const outTradeNo = newOutTradeNo();
      await addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, outTradeNo, kind: 'notify_delay', delaySeconds: 30, count: 1 });
      const { note } = await payTrade(receiver, outTradeNo);
      expect(note.next_attempt_at.getTime()).toBe(h.clock().getTime() + 30_000);
      expect(await h.sim.runDueWork()).toBe(0);
      h.clock.advance(29_999);
      expect(await h.sim.runDueWork()).toBe(0);
      expect(receiver.requests).toHaveLength(0);
      h.clock.advance(1);
      expect(await h.sim.runDueWork()).toBe(1);
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  test('notify_drop: the notify is kept as "dropped" and never sent, while the trade is paid', async () => {
    const receiver = await startReceiver();
    try {
      await addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, kind: 'notify_drop', count: 1 });
      const dropped = await payTrade(receiver);
      expect(dropped.trade.trade_state).toBe('SUCCESS');
      expect(dropped.note).toMatchObject({ status: 'dropped', attempts: 0, next_attempt_at: null });
      expect(dropped.note.last_error).toContain('notify_drop');
      for (let hour = 0; hour < 26; hour++) {
        await h.sim.runDueWork();
        h.clock.advance(3600 * 1000);
      }
      expect(receiver.requests).toHaveLength(0);
      // count 1: the next trade's notify is sent
      const next = await payTrade(receiver);
      expect(next.note.status).toBe('pending');
      await h.sim.runDueWork();
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  test('notify_bad_signature: the receiver\'s verifier refuses the first attempt; the retry is signed right and delivered', async () => {
    const receiver = await startReceiver(async (_n, body) => {
      try {
        await parsePaymentNotify(body, HMAC_MERCHANT);
        return { body: SUCCESS_REPLY };
      } catch {
        return { body: FAIL_REPLY };
      }
    });
    try {
      await addFault(h.knex, h.clock(), { mchId: HMAC_MERCHANT.mchId, kind: 'notify_bad_signature', count: 1 });
      const { note } = await payTrade(receiver, newOutTradeNo(), HMAC_MERCHANT);
      await h.sim.runDueWork();
      const first = await h.knex('sim_notifications').where({ id: note.id }).first();
      expect(first).toMatchObject({ status: 'pending', attempts: 1 });
      expect(first.last_error).toContain('bad signature');
      h.clock.advance(scaled(15));
      await h.sim.runDueWork();
      expect(await h.knex('sim_notifications').where({ id: note.id }).first()).toMatchObject({ status: 'delivered', attempts: 2 });
      expect(receiver.requests).toHaveLength(2);
      const [bad, good] = [await parseXml(receiver.requests[0]!.body), await parseXml(receiver.requests[1]!.body)];
      expect(bad.sign).toHaveLength(64);
      expect(verifySignature(bad, HMAC_MERCHANT.apiKey)).toBe(false);
      expect(verifySignature(good, HMAC_MERCHANT.apiKey)).toBe(true);
      expect({ ...bad, sign: '' }).toEqual({ ...good, sign: '' });
    } finally {
      await receiver.close();
    }
  });

  test('a fault for one trade leaves the merchant\'s other trades alone', async () => {
    const receiver = await startReceiver();
    try {
      const target = newOutTradeNo();
      await addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, outTradeNo: target, kind: 'notify_drop', count: 5 });
      const other = await payTrade(receiver);
      expect(other.note.status).toBe('pending');
      const hit = await payTrade(receiver, target);
      expect(hit.note.status).toBe('dropped');
      expect(await h.knex('sim_faults').first()).toMatchObject({ remaining: 4, used: 1 });
    } finally {
      await receiver.close();
    }
  });
});

describe('fault control API and SYSTEMERROR on other calls', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('POST /wxsim/faults (JSON) adds a fault, GET lists it, DELETE removes it', async () => {
    const created = await fetch(`${h.baseUrl}/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ mch_id: MD5_MERCHANT.mchId, kind: 'notify_delay', delay_seconds: 90, count: 2, out_trade_no: 'ORDER000123' }),
    });
    expect(created.status).toBe(201);
    const { fault } = (await created.json()) as { fault: { id: number } };
    expect(fault).toMatchObject({ mchId: MD5_MERCHANT.mchId, kind: 'notify_delay', delaySeconds: 90, remaining: 2, used: 0, outTradeNo: 'ORDER000123' });
    expect(await h.knex('sim_faults').where({ id: fault.id }).first()).toMatchObject({ kind: 'notify_delay', delay_seconds: 90, remaining: 2 });

    const list = (await (await fetch(`${h.baseUrl}/faults`)).json()) as { faults: { id: number }[] };
    expect(list.faults.map((f) => f.id)).toContain(fault.id);

    expect((await fetch(`${h.baseUrl}/faults/${fault.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await h.knex('sim_faults').where({ id: fault.id }).first()).toBeUndefined();
    expect((await fetch(`${h.baseUrl}/faults/${fault.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  test('POST /wxsim/faults takes a form too (systemerror on one API, count defaults to 1)', async () => {
    const res = await fetch(`${h.baseUrl}/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ mch_id: HMAC_MERCHANT.mchId, kind: 'systemerror', api: 'closeorder' }).toString(),
    });
    expect(res.status).toBe(201);
    const { fault } = (await res.json()) as { fault: { id: number; remaining: number; api: string } };
    expect(fault).toMatchObject({ remaining: 1, api: 'closeorder' });
    await h.knex('sim_faults').where({ id: fault.id }).delete();
  });

  test.each([
    [{ kind: 'notify_drop' }, 'mch_id'],
    [{ mch_id: MD5_MERCHANT.mchId, kind: 'explode' }, 'kind'],
    [{ mch_id: MD5_MERCHANT.mchId, kind: 'notify_delay' }, 'delay_seconds'],
    [{ mch_id: MD5_MERCHANT.mchId, kind: 'notify_drop', count: 0 }, 'count'],
    [{ mch_id: MD5_MERCHANT.mchId, kind: 'systemerror', api: 'pay' }, 'api'],
    [{ mch_id: '1234509876', kind: 'notify_drop' }, 'not a merchant'],
  ])('a bad fault request %j is 400 naming %s, and adds nothing', async (body, naming) => {
    const before = await h.knex('sim_faults').count('* as n');
    const res = await fetch(`${h.baseUrl}/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(naming);
    expect(await h.knex('sim_faults').count('* as n')).toEqual(before);
  });

  test('a cross-site form POST to /wxsim/faults is refused with 403', async () => {
    const res = await fetch(`${h.baseUrl}/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'cross-site' },
      body: new URLSearchParams({ mch_id: MD5_MERCHANT.mchId, kind: 'notify_drop' }).toString(),
    });
    expect(res.status).toBe(403);
    expect(await h.knex('sim_faults').where({ kind: 'notify_drop' })).toHaveLength(0);
  });

  test('SYSTEMERROR on downloadbill answers return_code=FAIL "SYSTEMERROR" (it has no result_code)', async () => {
    await addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, kind: 'systemerror', api: 'downloadbill', count: 1 });
    const err = await h.client(MD5_MERCHANT, 'MD5').downloadBill({ billDate: formatBeijingDate(h.clock()), billType: 'ALL' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WxReturnError);
    expect((err as WxReturnError).returnMsg).toBe('SYSTEMERROR');
  });

  test('SYSTEMERROR on closeorder leaves the trade NOTPAY; the retry closes it', async () => {
    const receiver = 'http://127.0.0.1:9/notify';
    const outTradeNo = newOutTradeNo();
    const client = h.client(MD5_MERCHANT, 'MD5');
    await client.unifiedOrder(orderArgs(outTradeNo, receiver));
    // closeorder is taken 5 minutes after the order was made (orders.test.ts)
    h.clock.advance(5 * 60 * 1000);
    await addFault(h.knex, h.clock(), { mchId: MD5_MERCHANT.mchId, outTradeNo, kind: 'systemerror', count: 1 });
    const err = (await client.closeOrder({ outTradeNo }).catch((e: unknown) => e)) as { errCode?: string };
    expect(err.errCode).toBe('SYSTEMERROR');
    expect((await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('NOTPAY');
    await client.closeOrder({ outTradeNo });
    expect((await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first()).trade_state).toBe('CLOSED');
  });
});
