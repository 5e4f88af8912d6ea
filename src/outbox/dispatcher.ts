import type { Knex } from 'knex';
import type { Logger } from 'pino';
import client from 'prom-client';
import type { Locale } from '../i18n';
import type { Channel, ChannelName } from './channel';
import { renderAlert } from './message';
import { claimDue, fanOut, recordAttempt, type Claimed } from './store';

/**
 * The outbox's dispatcher, a job of its own on every instance (started and stopped beside the
 * sweeper): each round fans new events out to the enabled channels, claims the deliveries that are
 * due (FOR UPDATE SKIP LOCKED with a lease, in order per order, so two instances never send one
 * at once), sends each over HTTP outside any transaction, and records the try: delivered, or
 * again later on the schedule (schedule.ts), or given up after about 24 hours. At least once: a
 * delivery whose answer was lost, or whose result could not be stored (the database away), is sent
 * again, with the same event id for the receiver to deduplicate by.
 *
 * Why not graphile-worker or pg-boss: both need a PostgreSQL server over the wire (a pg pool,
 * LISTEN on a connection of their own), and the shop's default database is embedded PGlite, one
 * in-process connection; a small SKIP LOCKED dispatcher over knex runs the same on both.
 */

export interface DispatcherOptions {
  knex: Knex;
  channels: readonly Channel[];
  clock: () => Date;
  logger: Logger;
  registry?: client.Registry;
  /** how often a round runs; 0: never by itself (tests call dispatchOnce) */
  intervalSeconds: number;
  /** the shop's address, for the admin links in the messages */
  baseUrl: string;
  shopName: string;
  locale: Locale;
  /** one HTTP try's limit (default 10 s) */
  timeoutMs?: number;
  /** how long a claim is ours (default 60 s: longer than a try) */
  leaseMs?: number;
  batchSize?: number;
}

export interface Dispatcher {
  start(): void;
  stop(): Promise<void>;
  /** one round now: fan out, claim, send, record; returns the deliveries tried */
  dispatchOnce(): Promise<number>;
  readonly channels: readonly ChannelName[];
}

const MAX_ANSWER = 16 * 1024;

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { knex, logger } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 50;
  const byName = new Map(options.channels.map((c) => [c.name, c]));
  const names = options.channels.map((c) => c.name);
  const tries = new client.Counter({
    name: 'alert_delivery_attempts_total',
    help: 'Alert deliveries tried, by channel and result',
    labelNames: ['channel', 'result'] as const,
    registers: options.registry ? [options.registry] : [],
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function send(claim: Claimed): Promise<void> {
    const channel = byName.get(claim.channel);
    if (!channel) return;
    const now = options.clock();
    const message = renderAlert(claim.event, options.locale, options.shopName, options.baseUrl);
    const request = channel.request(claim.event, message, now);
    const started = performance.now();
    let result: { ok: boolean; detail: string };
    try {
      const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      const answer = (await response.text()).slice(0, MAX_ANSWER);
      const verdict = channel.verdict(response.status, answer);
      result = verdict.ok ? { ok: true, detail: `HTTP ${response.status}` } : { ok: false, detail: verdict.reason };
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string } };
      result = { ok: false, detail: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message ?? String(err)) };
    }
    tries.inc({ channel: claim.channel, result: result.ok ? 'ok' : 'failed' });
    const log = { channel: claim.channel, eventId: claim.event.eventId, type: claim.event.type, attempt: claim.attempt, detail: result.detail };
    if (result.ok) logger.info(log, 'alert delivered');
    else logger.warn(log, 'alert delivery failed; will try again on the schedule');
    await recordAttempt(knex, claim, { ...result, durationMs: performance.now() - started }, options.clock());
  }

  async function dispatchOnce(): Promise<number> {
    const now = options.clock();
    await fanOut(knex, names, now, 500);
    const claimed = await claimDue(knex, names, now, leaseMs, batchSize);
    // one channel's deliveries one after another (in order), the channels side by side
    const perChannel = new Map<ChannelName, Claimed[]>();
    for (const c of claimed) perChannel.set(c.channel, [...(perChannel.get(c.channel) ?? []), c]);
    await Promise.all(
      [...perChannel.values()].map(async (list) => {
        for (const claim of list) await send(claim);
      }),
    );
    return claimed.length;
  }

  const round = () => {
    if (stopped) return;
    running = dispatchOnce()
      .catch((err: unknown) => {
        // the database away, most likely: what was claimed is tried again once its lease is over
        logger.error({ err }, 'alert dispatch round failed; will try again');
        return 0;
      })
      .then((tried) => {
        running = undefined;
        // a full batch: more may be waiting (the next of an order's events), go on at once
        if (!stopped) timer = setTimeout(round, tried >= batchSize ? 0 : options.intervalSeconds * 1000).unref();
        return tried;
      });
  };

  return {
    channels: names,
    start() {
      if (options.intervalSeconds > 0 && !timer && !running) timer = setTimeout(round, options.intervalSeconds * 1000).unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    dispatchOnce,
  };
}
