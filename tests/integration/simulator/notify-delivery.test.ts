import pino from 'pino';
import { createSimulator, MAX_NOTIFY_ATTEMPTS, NOTIFY_RETRY_SECONDS } from '../../../src/simulator';
import { parsePaymentNotify } from '../../../src/wechatpay';
import {
  FAIL_REPLY,
  HMAC_MERCHANT,
  MD5_MERCHANT,
  SUCCESS_REPLY,
  newOutTradeNo,
  orderArgs,
  startHarness,
  startReceiver,
  type Harness,
  type Receiver,
  type Reply,
} from './harness';

const TIME_SCALE = 60;
const scaled = (seconds: number) => Math.round((seconds * 1000) / TIME_SCALE);

interface NoteRow {
  id: number;
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  last_error: string | null;
  claimed_until: Date | null;
}

describe('notify delivery on WeChat\'s retry schedule (time scale 60, manual clock)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ timeScale: TIME_SCALE, notifyTimeoutMs: 400 });
  });
  afterEach(async () => {
    await h.close();
  });

  /** A paid trade whose notify goes to `receiver`; returns the notification row's id. */
  async function paidTrade(receiver: Receiver, merchant = MD5_MERCHANT): Promise<{ outTradeNo: string; noteId: number }> {
    const outTradeNo = newOutTradeNo();
    const order = await h.client(merchant, merchant === MD5_MERCHANT ? 'MD5' : 'HMAC-SHA256').unifiedOrder(orderArgs(outTradeNo, receiver.url));
    expect((await h.pay(order.codeUrl)).status).toBe(200);
    const trade = await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first();
    const note = await h.knex('sim_notifications').where({ trade_id: trade.id }).first();
    return { outTradeNo, noteId: note.id };
  }
  const note = async (id: number) => (await h.knex('sim_notifications').where({ id }).first()) as NoteRow;

  test('a receiver answering FAIL, then garbage, then SUCCESS gets exactly three deliveries, 15 s and 15 s apart (scaled)', async () => {
    const replies: Reply[] = [{ body: FAIL_REPLY }, { body: 'OK thanks' }, { body: SUCCESS_REPLY }];
    const receiver = await startReceiver((n) => replies[n] ?? { body: SUCCESS_REPLY });
    try {
      const { noteId } = await paidTrade(receiver);
      const t0 = h.clock().getTime();
      expect((await note(noteId)).next_attempt_at?.getTime()).toBe(t0);

      expect(await h.sim.runDueWork()).toBe(1);
      let row = await note(noteId);
      expect(row).toMatchObject({ status: 'pending', attempts: 1, claimed_until: null });
      expect(row.last_error).toContain('without return_code SUCCESS');
      expect(row.next_attempt_at?.getTime()).toBe(t0 + scaled(15));

      // not due yet: nothing is sent
      h.clock.advance(scaled(15) - 1);
      expect(await h.sim.runDueWork()).toBe(0);
      expect(receiver.requests).toHaveLength(1);

      h.clock.advance(1);
      const t1 = h.clock().getTime();
      expect(await h.sim.runDueWork()).toBe(1);
      row = await note(noteId);
      expect(row.attempts).toBe(2);
      expect(row.last_error).toBe('HTTP 200 without return_code SUCCESS: "OK thanks"');
      expect(row.next_attempt_at?.getTime()).toBe(t1 + scaled(15));

      h.clock.advance(scaled(15));
      expect(await h.sim.runDueWork()).toBe(1);
      row = await note(noteId);
      expect(row).toMatchObject({ status: 'delivered', attempts: 3, next_attempt_at: null, last_error: null });
      expect(row.delivered_at?.getTime()).toBe(h.clock().getTime());

      h.clock.advance(24 * 3600 * 1000);
      expect(await h.sim.runDueWork()).toBe(0);
      expect(receiver.requests).toHaveLength(3);
      // every attempt carries the same signed notify
      expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  test('HTTP 500 with a SUCCESS body is a failure: only HTTP 200 and return_code SUCCESS count', async () => {
    const receiver = await startReceiver((n) => (n === 0 ? { status: 500, body: SUCCESS_REPLY } : { body: SUCCESS_REPLY }));
    try {
      const { noteId } = await paidTrade(receiver);
      await h.sim.runDueWork();
      expect(await note(noteId)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500' });
      h.clock.advance(scaled(15));
      await h.sim.runDueWork();
      expect(await note(noteId)).toMatchObject({ status: 'delivered', attempts: 2 });
    } finally {
      await receiver.close();
    }
  });

  test('a receiver that never says SUCCESS gets 16 attempts over 24 h 4 m (scaled), then the notify is given up', async () => {
    const receiver = await startReceiver(() => ({ body: FAIL_REPLY }));
    try {
      const { noteId } = await paidTrade(receiver);
      const t0 = h.clock().getTime();
      const gaps: number[] = [];
      for (let attempt = 1; attempt <= MAX_NOTIFY_ATTEMPTS; attempt++) {
        const before = h.clock().getTime();
        expect(await h.sim.runDueWork()).toBe(1);
        const row = await note(noteId);
        expect(row.attempts).toBe(attempt);
        if (attempt < MAX_NOTIFY_ATTEMPTS) {
          expect(row.status).toBe('pending');
          const next = row.next_attempt_at!.getTime();
          gaps.push(next - before);
          h.clock.set(new Date(next));
        } else {
          expect(row).toMatchObject({ status: 'failed', next_attempt_at: null });
        }
      }
      expect(gaps).toEqual(NOTIFY_RETRY_SECONDS.map(scaled));
      expect(h.clock().getTime() - t0).toBe(NOTIFY_RETRY_SECONDS.map(scaled).reduce((a, b) => a + b, 0));
      expect(NOTIFY_RETRY_SECONDS.reduce((a, b) => a + b, 0)).toBe(24 * 3600 + 4 * 60);
      h.clock.advance(7 * 24 * 3600 * 1000);
      expect(await h.sim.runDueWork()).toBe(0);
      expect(receiver.requests).toHaveLength(16);
    } finally {
      await receiver.close();
    }
  });

  test('a receiver that does not answer within the timeout counts as a failure (bounded wait)', async () => {
    const receiver = await startReceiver(() => ({ body: '', hang: true }));
    try {
      const { noteId } = await paidTrade(receiver);
      const started = Date.now();
      await h.sim.runDueWork();
      expect(Date.now() - started).toBeLessThan(3000);
      const row = await note(noteId);
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      expect(row.last_error).toContain('no answer within 400 ms');
    } finally {
      await receiver.close();
    }
  });

  test('a refused connection counts as a failure and is retried on schedule', async () => {
    const receiver = await startReceiver();
    const { noteId } = await paidTrade(receiver);
    await receiver.close();
    await h.sim.runDueWork();
    const row = await note(noteId);
    expect(row.attempts).toBe(1);
    expect(row.last_error).toContain('ECONNREFUSED');
    expect(row.next_attempt_at?.getTime()).toBe(h.clock().getTime() + scaled(15));
  });

  test('a restart in the middle of the schedule resumes from the database and delivers', async () => {
    let accept = false;
    const receiver = await startReceiver(() => ({ body: accept ? SUCCESS_REPLY : FAIL_REPLY }));
    try {
      const { noteId, outTradeNo } = await paidTrade(receiver, HMAC_MERCHANT);
      await h.sim.runDueWork();
      h.clock.advance(scaled(15));
      await h.sim.runDueWork();
      const due = (await note(noteId)).next_attempt_at!;

      await h.restart();
      accept = true;
      h.clock.set(due);
      expect(await h.sim.runDueWork()).toBe(1);
      expect(await note(noteId)).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(receiver.requests).toHaveLength(3);
      const notice = await parsePaymentNotify(receiver.requests[2]!.body, HMAC_MERCHANT);
      expect(notice.outTradeNo).toBe(outTradeNo);
    } finally {
      await receiver.close();
    }
  });

  test('two simulators on one database send a due attempt once (FOR UPDATE SKIP LOCKED)', async () => {
    const receiver = await startReceiver(() => ({ body: SUCCESS_REPLY }));
    const other = createSimulator({ knex: h.knex, clock: h.clock, timeScale: TIME_SCALE, refundDelayMs: 0, logger: pino({ level: 'silent' }) });
    try {
      const notes = [await paidTrade(receiver), await paidTrade(receiver), await paidTrade(receiver)];
      const [a, b] = await Promise.all([h.sim.runDueWork(), other.runDueWork()]);
      expect(a + b).toBe(3);
      expect(receiver.requests).toHaveLength(3);
      for (const { noteId } of notes) expect(await note(noteId)).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await other.stop();
      await receiver.close();
    }
  });

  test('an attempt in flight (claimed by another instance) is not sent again until its lease runs out', async () => {
    const receiver = await startReceiver(() => ({ body: SUCCESS_REPLY }));
    try {
      const { noteId } = await paidTrade(receiver);
      const now = h.clock().getTime();
      // as if another instance claimed attempt 1 and then died before recording it
      await h.knex('sim_notifications').where({ id: noteId }).update({ attempts: 1, next_attempt_at: new Date(now), claimed_until: new Date(now + 1000) });
      expect(await h.sim.runDueWork()).toBe(0);
      expect(receiver.requests).toHaveLength(0);
      h.clock.advance(1000);
      expect(await h.sim.runDueWork()).toBe(1);
      expect(await note(noteId)).toMatchObject({ status: 'delivered', attempts: 2 });
    } finally {
      await receiver.close();
    }
  });
});

describe('the background loop', () => {
  test('start() delivers a payment notify without anyone calling runDueWork, and stop() waits for the round', async () => {
    const h = await startHarness({ clock: Object.assign(() => new Date(), { advance: () => undefined, set: () => undefined }) });
    const receiver = await startReceiver();
    try {
      h.sim.start();
      const order = await h.client(MD5_MERCHANT, 'MD5').unifiedOrder(orderArgs(newOutTradeNo(), receiver.url));
      expect((await h.pay(order.codeUrl)).status).toBe(200);
      const deadline = Date.now() + 5000;
      while (receiver.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(receiver.requests).toHaveLength(1);
      await h.sim.stop();
      const row = await h.knex('sim_notifications').first();
      expect(row).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await receiver.close();
      await h.close();
    }
  });
});
