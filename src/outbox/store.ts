import type { Knex } from 'knex';
import { isAlertType } from '../ledger';
import type { ChannelName } from './channel';
import type { OutboxEvent } from './message';
import { MAX_ATTEMPTS, nextAttemptAt } from './schedule';

/**
 * The dispatcher's statements on the outbox (the ledger alone inserts the events): fanning an
 * event out to the enabled channels, claiming due deliveries (FOR UPDATE SKIP LOCKED, with a lease,
 * in order per order), recording each try, and the admin's list and "send again". Written in SQL
 * that runs the same on PGlite and on a server.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

const textArray = (values: readonly string[]) => `{${values.join(',')}}`;

/** Events not fanned out yet get one pending delivery per enabled channel (none when none is); returns how many events. */
export async function fanOut(db: Db, channels: readonly ChannelName[], now: Date, limit: number): Promise<number> {
  const { rows } = await db.raw<{ rows: Row[] }>(
    `WITH fresh AS (
       SELECT id, order_ids FROM outbox WHERE fanned_out_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
     ), marked AS (
       UPDATE outbox SET fanned_out_at = :now WHERE id IN (SELECT id FROM fresh) RETURNING id
     ), delivered AS (
       INSERT INTO outbox_deliveries (outbox_id, channel, order_ids, next_attempt_at, created_at)
       SELECT fresh.id, c.channel, fresh.order_ids, :now, :now FROM fresh CROSS JOIN unnest(CAST(:channels AS text[])) AS c(channel)
       ON CONFLICT DO NOTHING
       RETURNING outbox_id
     )
     SELECT (SELECT count(*) FROM marked) AS events, (SELECT count(*) FROM delivered) AS deliveries`,
    { limit, now, channels: textArray(channels) },
  );
  return Number(rows[0]?.events ?? 0);
}

export interface Claimed {
  event: OutboxEvent;
  channel: ChannelName;
  /** this try's number (1 = the first) */
  attempt: number;
  /** the lease this claim holds: recording the result checks it is still ours */
  lease: Date;
}

/**
 * Up to `limit` deliveries due now on these channels, each one that no earlier delivery of the
 * same channel and order is still waiting for (in order per order), picked with FOR UPDATE SKIP
 * LOCKED and leased until `lease`: instances never send the same delivery at once, and one that
 * died mid-send is tried again once its lease is over (at least once).
 */
export async function claimDue(db: Db, channels: readonly ChannelName[], now: Date, leaseMs: number, limit: number): Promise<Claimed[]> {
  if (channels.length === 0) return [];
  const lease = new Date(now.getTime() + leaseMs);
  const { rows } = await db.raw<{ rows: Row[] }>(
    `WITH due AS (
       SELECT d.outbox_id, d.channel FROM outbox_deliveries d
        WHERE d.status = 'pending' AND d.channel = ANY(CAST(:channels AS text[])) AND d.next_attempt_at <= :now
          AND (d.leased_until IS NULL OR d.leased_until <= :now)
          AND NOT EXISTS (SELECT 1 FROM outbox_deliveries e
                           WHERE e.channel = d.channel AND e.status = 'pending' AND e.outbox_id < d.outbox_id AND e.order_ids && d.order_ids)
        ORDER BY d.outbox_id
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
     )
     UPDATE outbox_deliveries x SET leased_until = :lease, attempts = x.attempts + 1, last_attempt_at = :now
       FROM due, outbox o
      WHERE x.outbox_id = due.outbox_id AND x.channel = due.channel AND o.id = x.outbox_id
     RETURNING x.outbox_id, x.channel, x.attempts, o.event_id, o.type, o.data, o.created_at`,
    { channels: textArray(channels), now, lease, limit },
  );
  return rows
    .map((r) => {
      const type = r.type;
      if (!isAlertType(type)) return undefined;
      const data = typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : (r.data as Record<string, unknown>);
      const createdAt = r.created_at instanceof Date ? r.created_at : new Date(String(r.created_at));
      return { event: { id: Number(r.outbox_id), eventId: String(r.event_id), type, data, createdAt }, channel: r.channel as ChannelName, attempt: Number(r.attempts), lease };
    })
    .filter((c): c is Claimed => c !== undefined)
    .sort((a, b) => a.event.id - b.event.id);
}

/**
 * One try's result, logged (outbox_attempts) and applied to the delivery while the claim's lease is
 * still ours: delivered; or the next try on the schedule; or, after the last, given up.
 */
export async function recordAttempt(knex: Knex, claim: Claimed, result: { ok: boolean; detail: string; durationMs: number }, now: Date): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx('outbox_attempts').insert({ outbox_id: claim.event.id, channel: claim.channel, attempt: claim.attempt, at: now, ok: result.ok, detail: result.detail.slice(0, 500), duration_ms: Math.round(result.durationMs) });
    const mine = trx('outbox_deliveries').where({ outbox_id: claim.event.id, channel: claim.channel, status: 'pending', leased_until: claim.lease });
    if (result.ok) {
      await mine.update({ status: 'delivered', delivered_at: now, leased_until: null, last_error: null });
      return;
    }
    const next = claim.attempt >= MAX_ATTEMPTS ? undefined : nextAttemptAt(claim.attempt, now);
    await mine.update(next ? { next_attempt_at: next, leased_until: null, last_error: result.detail.slice(0, 500) } : { status: 'given_up', leased_until: null, last_error: result.detail.slice(0, 500) });
  });
}

// ---- the admin's view ----------------------------------------------------------------------

export type DeliveryFilter = 'failing' | 'given_up' | 'delivered';

export interface DeliveryRow {
  outbox_id: number;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  channel: ChannelName;
  status: 'pending' | 'delivered' | 'given_up';
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  tries: { attempt: number; at: Date; ok: boolean; detail: string | null; duration_ms: number }[];
}

/** Deliveries by what the admin looks for (failing: still retrying after a failure), newest first, with their tries. */
export async function listDeliveries(knex: Knex, filter: DeliveryFilter, limit = 100): Promise<DeliveryRow[]> {
  const query = knex('outbox_deliveries as d')
    .join('outbox as o', 'o.id', 'd.outbox_id')
    .orderBy('d.outbox_id', 'desc')
    .limit(limit)
    .select('d.outbox_id', 'o.event_id', 'o.type', 'o.data', 'd.channel', 'd.status', 'd.attempts', 'd.next_attempt_at', 'd.last_attempt_at', 'd.last_error', 'd.delivered_at', 'o.created_at');
  if (filter === 'failing') query.where('d.status', 'pending').whereNotNull('d.last_error');
  else query.where('d.status', filter);
  const rows = (await query) as Row[];
  const tries = rows.length === 0 ? [] : ((await knex('outbox_attempts').whereIn('outbox_id', rows.map((r) => Number(r.outbox_id))).orderBy('id').select('outbox_id', 'channel', 'attempt', 'at', 'ok', 'detail', 'duration_ms')) as Row[]);
  return rows.map((r) => ({
    ...(r as unknown as DeliveryRow),
    outbox_id: Number(r.outbox_id),
    data: typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : (r.data as Record<string, unknown>),
    tries: tries.filter((t) => Number(t.outbox_id) === Number(r.outbox_id) && t.channel === r.channel) as unknown as DeliveryRow['tries'],
  }));
}

/** How many deliveries are failing (still retrying) and given up: the dashboard's and the nav's count. */
export async function deliveryTrouble(knex: Knex): Promise<{ failing: number; givenUp: number }> {
  const row = (await knex('outbox_deliveries')
    .select(knex.raw(`count(*) FILTER (WHERE status = 'pending' AND last_error IS NOT NULL)::int AS failing`), knex.raw(`count(*) FILTER (WHERE status = 'given_up')::int AS given_up`))
    .first()) as Row | undefined;
  return { failing: Number(row?.failing ?? 0), givenUp: Number(row?.given_up ?? 0) };
}

/** "Send again": a failing or given-up delivery starts its schedule over, due now. True when there was one. */
export async function sendAgain(knex: Knex, outboxId: number, channel: string, now: Date): Promise<boolean> {
  const changed = await knex('outbox_deliveries')
    .where({ outbox_id: outboxId, channel })
    .whereIn('status', ['pending', 'given_up'])
    .update({ status: 'pending', attempts: 0, next_attempt_at: now, leased_until: null });
  return changed > 0;
}
