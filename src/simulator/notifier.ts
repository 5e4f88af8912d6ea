import http from 'node:http';
import https from 'node:https';
import type { Knex } from 'knex';
import { buildXml, isSuccessReply, signatureOf } from '../wechatpay';
import { scaledMs, type SimContext } from './context';
import { takeFault } from './faults';
import { buildV3Notify } from './v3/notify';

/**
 * Notify delivery as WeChat does it: the first attempt at once, then retries after 15 s, 15 s,
 * 30 s, 3 m, 10 m, 20 m, 30 m, 30 m, 30 m, 60 m, 3 h, 3 h, 3 h, 6 h, 6 h (24 h 4 m in all, 16
 * attempts), each divided by the time scale, until the receiver answers HTTP 200 with a body whose
 * return_code is SUCCESS. The state lives in sim_notifications, so a restart resumes the schedule,
 * and attempts are claimed with FOR UPDATE SKIP LOCKED, so two instances never send one attempt twice.
 */
export const NOTIFY_RETRY_SECONDS: readonly number[] = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];
export const MAX_NOTIFY_ATTEMPTS = NOTIFY_RETRY_SECONDS.length + 1;

/** A receiver's answer is read up to this size; WeChat expects a few dozen bytes. */
const MAX_REPLY_BYTES = 64 * 1024;
/** How many due notifies one round claims. */
const CLAIM_BATCH = 50;

/**
 * The wait after attempt number `attempt` (1-based) failed, scaled; undefined after the last one.
 */
export function retryDelayMs(attempt: number, timeScale: number): number | undefined {
  const seconds = NOTIFY_RETRY_SECONDS[attempt - 1];
  return seconds === undefined ? undefined : scaledMs(seconds * 1000, timeScale);
}

export type NotificationKind = 'pay' | 'refund';
export type NotificationStatus = 'pending' | 'delivered' | 'failed' | 'dropped';

export interface NotificationRow {
  id: number;
  kind: NotificationKind;
  mch_id: string;
  trade_id: number;
  refund_id: number | null;
  url: string;
  payload: Record<string, string>;
  /** v3: the payload is the resource's plaintext, encrypted and signed afresh at each attempt */
  api_version: 'v2' | 'v3';
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  last_error: string | null;
  claimed_until: Date | null;
  created_at: Date;
}

export interface NewNotification {
  kind: NotificationKind;
  mchId: string;
  tradeId: number;
  outTradeNo: string;
  refundId?: number;
  url: string;
  /** the XML fields, signed already for a payment notify; v3: see v3/notify.ts */
  payload: Record<string, string>;
  apiVersion?: 'v2' | 'v3' | undefined;
}

/**
 * Queues a notify inside the caller's transaction (it is sent after commit by the delivery loop).
 * Payment notifies honour the notify_drop and notify_delay faults here, once per notify.
 */
export async function enqueueNotification(trx: Knex.Transaction, ctx: SimContext, note: NewNotification): Promise<number> {
  const now = ctx.clock();
  let status: NotificationStatus = 'pending';
  let nextAttemptAt: Date | null = now;
  let lastError: string | null = null;
  if (ctx.notifyUrlAllowed && !ctx.notifyUrlAllowed(note.url)) {
    // never a request to an address the shop did not configure (the simulator is no open relay)
    status = 'failed';
    nextAttemptAt = null;
    lastError = `never sent: ${note.url.slice(0, 200)} is not one of this shop's notify URLs`;
  } else if (note.kind === 'pay') {
    const drop = await takeFault(trx, { mchId: note.mchId, kind: 'notify_drop', outTradeNo: note.outTradeNo });
    if (drop) {
      status = 'dropped';
      nextAttemptAt = null;
      lastError = `never sent: fault #${drop.id} (notify_drop)`;
    } else {
      const delay = await takeFault(trx, { mchId: note.mchId, kind: 'notify_delay', outTradeNo: note.outTradeNo });
      if (delay) nextAttemptAt = new Date(now.getTime() + (delay.delaySeconds ?? 0) * 1000);
    }
  }
  const [row] = (await trx('sim_notifications')
    .insert({
      kind: note.kind,
      mch_id: note.mchId,
      trade_id: note.tradeId,
      refund_id: note.refundId ?? null,
      url: note.url,
      payload: JSON.stringify(note.payload),
      api_version: note.apiVersion ?? 'v2',
      status,
      attempts: 0,
      next_attempt_at: nextAttemptAt,
      last_error: lastError,
      created_at: now,
    })
    .returning('id')) as { id: number }[];
  return (row as { id: number }).id;
}

export interface DeliveryResult {
  ok: boolean;
  error?: string;
}

/** One POST of a notify: success only for HTTP 200 with a return_code=SUCCESS body, within the timeout. */
export function postNotify(url: string, xml: string, timeoutMs: number): Promise<DeliveryResult> {
  return postBody(url, Buffer.from(xml, 'utf8'), { 'Content-Type': 'text/xml; charset=utf-8', 'User-Agent': 'Mozilla/4.0' }, timeoutMs, async (status, body) => {
    if (status !== 200) return { ok: false, error: `HTTP ${status}` };
    try {
      return (await isSuccessReply(body)) ? { ok: true } : { ok: false, error: `HTTP 200 without return_code SUCCESS: ${snippet(body)}` };
    } catch (err) {
      return { ok: false, error: `unreadable answer: ${(err as Error).message}` };
    }
  });
}

/** One POST of a v3 notify: success for HTTP 200 or 204 (the body is ignored), within the timeout. */
export function postV3Notify(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<DeliveryResult> {
  return postBody(url, Buffer.from(body, 'utf8'), { 'Content-Type': 'application/json', 'User-Agent': 'Mozilla/4.0', ...headers }, timeoutMs, async (status, reply) =>
    status === 200 || status === 204 ? { ok: true } : { ok: false, error: `HTTP ${status}: ${snippet(reply)}` },
  );
}

function postBody(url: string, payload: Buffer, headers: Record<string, string>, timeoutMs: number, judge: (status: number, body: Buffer) => Promise<DeliveryResult>): Promise<DeliveryResult> {
  return new Promise<DeliveryResult>((resolve) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const finish = (result: DeliveryResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!result.ok) request?.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      finish({ ok: false, error: 'the notify_url is not a URL' });
      return;
    }
    const transport = target.protocol === 'https:' ? https : http;
    try {
      request = transport.request(
        target,
        { method: 'POST', headers: { ...headers, 'Content-Length': payload.length } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_REPLY_BYTES) {
              finish({ ok: false, error: `HTTP ${res.statusCode ?? 0}: the answer is larger than ${MAX_REPLY_BYTES} bytes` });
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (err) => finish({ ok: false, error: `the answer broke off: ${err.message}` }));
          res.on('end', () => {
            judge(res.statusCode ?? 0, Buffer.concat(chunks)).then(finish, (err: unknown) => finish({ ok: false, error: `unreadable answer: ${(err as Error).message}` }));
          });
        },
      );
    } catch (err) {
      finish({ ok: false, error: `cannot send: ${(err as Error).message}` });
      return;
    }
    request.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: `${err.code ?? 'error'}: ${err.message}` }));
    request.end(payload);
  });
}

function snippet(body: Buffer): string {
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}...` : text);
}

/** A signature of the same algorithm and length made with another key: what a forger would send. */
function badlySigned(fields: Record<string, string>): Record<string, string> {
  const sign = fields.sign ?? '';
  const algorithm = sign.length === 64 ? 'HMAC-SHA256' : 'MD5';
  return { ...fields, sign: signatureOf(fields, 'not-the-merchant-key-0000000000000', algorithm) };
}

interface ClaimedAttempt {
  row: NotificationRow;
  attempt: number;
  copies: number;
  badSignature: boolean;
}

/** How long a claimed attempt is kept from other instances: the send timeout and a margin. */
function leaseMs(ctx: SimContext): number {
  return ctx.notifyTimeoutMs * 2 + 1000;
}

async function claimDue(ctx: SimContext, now: Date): Promise<ClaimedAttempt[]> {
  return ctx.knex.transaction(async (trx) => {
    const rows = (await trx('sim_notifications')
      .where({ status: 'pending' })
      .andWhere('next_attempt_at', '<=', now)
      .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<=', now))
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(CLAIM_BATCH)
      .forUpdate()
      .skipLocked()) as NotificationRow[];
    const claimed: ClaimedAttempt[] = [];
    for (const row of rows) {
      if (row.attempts >= MAX_NOTIFY_ATTEMPTS) {
        // the last attempt's instance died before recording it: the schedule is over all the same
        await trx('sim_notifications').where({ id: row.id }).update({ status: 'failed', next_attempt_at: null, claimed_until: null });
        continue;
      }
      const attempt = row.attempts + 1;
      const delay = retryDelayMs(attempt, ctx.timeScale);
      let copies = 1;
      let badSignature = false;
      if (row.kind === 'pay') {
        const outTradeNo = row.payload.out_trade_no;
        const duplicate = await takeFault(trx, { mchId: row.mch_id, kind: 'notify_duplicate', outTradeNo });
        if (duplicate) copies = duplicate.copies ?? 2;
        badSignature = (await takeFault(trx, { mchId: row.mch_id, kind: 'notify_bad_signature', outTradeNo })) !== undefined;
      }
      await trx('sim_notifications')
        .where({ id: row.id })
        .update({
          attempts: attempt,
          last_attempt_at: now,
          // the schedule counts from this attempt's start; after the last attempt nothing is due
          next_attempt_at: new Date(now.getTime() + (delay ?? 0)),
          claimed_until: new Date(now.getTime() + leaseMs(ctx)),
        });
      claimed.push({ row, attempt, copies, badSignature });
    }
    return claimed;
  });
}

async function sendAttempt(ctx: SimContext, claim: ClaimedAttempt): Promise<DeliveryResult> {
  if (ctx.notifyUrlAllowed && !ctx.notifyUrlAllowed(claim.row.url)) return { ok: false, error: `not sent: ${claim.row.url.slice(0, 200)} is not one of this shop's notify URLs` };
  let send: () => Promise<DeliveryResult>;
  if (claim.row.api_version === 'v3') {
    // encrypted and signed at each attempt: a fresh timestamp and nonce every time (the 300 s rule)
    const notify = buildV3Notify(ctx, claim.row, { badSignature: claim.badSignature });
    send = () => postV3Notify(claim.row.url, notify.body, notify.headers, ctx.notifyTimeoutMs);
  } else {
    const xml = buildXml(claim.badSignature ? badlySigned(claim.row.payload) : claim.row.payload);
    send = () => postNotify(claim.row.url, xml, ctx.notifyTimeoutMs);
  }
  const results = await Promise.all(Array.from({ length: claim.copies }, send));
  const success = results.find((r) => r.ok);
  if (success) return success;
  const error = results[0]?.error ?? 'not sent';
  return { ok: false, error: claim.badSignature ? `${error} (sent with a bad signature: fault)` : error };
}

async function recordResult(ctx: SimContext, claim: ClaimedAttempt, result: DeliveryResult): Promise<void> {
  const now = ctx.clock();
  await ctx.knex.transaction(async (trx) => {
    const row = (await trx('sim_notifications').where({ id: claim.row.id }).forUpdate().first()) as NotificationRow | undefined;
    if (!row || row.status !== 'pending') return;
    if (result.ok) {
      await trx('sim_notifications')
        .where({ id: row.id })
        .update({ status: 'delivered', delivered_at: now, next_attempt_at: null, claimed_until: null, last_error: null });
      return;
    }
    // a later attempt claimed after our lease ran out owns the row now
    if (row.attempts !== claim.attempt) return;
    const exhausted = claim.attempt >= MAX_NOTIFY_ATTEMPTS;
    await trx('sim_notifications')
      .where({ id: row.id })
      .update({
        status: exhausted ? 'failed' : 'pending',
        next_attempt_at: exhausted ? null : row.next_attempt_at,
        claimed_until: null,
        last_error: (result.error ?? 'failed').slice(0, 1000),
      });
  });
}

/** One delivery round: claims what is due, sends outside any transaction, records each outcome. */
export async function deliverDueNotifications(ctx: SimContext): Promise<number> {
  const now = ctx.clock();
  const claimed = await claimDue(ctx, now);
  await Promise.all(
    claimed.map(async (claim) => {
      const result = await sendAttempt(ctx, claim);
      ctx.logger[result.ok ? 'info' : 'warn'](
        { notification: claim.row.id, kind: claim.row.kind, attempt: claim.attempt, copies: claim.copies, url: claim.row.url, error: result.error },
        result.ok ? 'simulator notify delivered' : 'simulator notify not acknowledged',
      );
      await recordResult(ctx, claim, result);
    }),
  );
  return claimed.length;
}
