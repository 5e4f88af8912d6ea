import type { Knex } from 'knex';

/**
 * Failed admin logins, counted per IP address and per user name over a sliding window, in the
 * database so that every instance behind the load balancer sees the same count.
 *
 * An attempt is written (`pending`) BEFORE its password is checked and counted after it is
 * written: of N simultaneous tries, the k-th to commit sees at least k rows, so no burst of
 * parallel requests gets more than LIMIT guesses. A refused attempt leaves no row (being refused
 * does not extend the lock-out); a wrong password turns its row `failed`; a right one deletes it
 * and forgives the earlier failures of that IP and that user.
 */

export interface LoginLimit {
  /** failures (and checks in flight) allowed per window, per IP and per user name */
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMIT: LoginLimit = { maxFailures: 5, windowMs: 15 * 60 * 1000 };

export type AttemptTicket = { allowed: true; id: number } | { allowed: false; retryAfterSeconds: number };

/** Usernames are compared case-insensitively for counting; the column holds at most 64 chars. */
export function usernameKey(username: string): string {
  return username.trim().toLowerCase().slice(0, 64);
}

/**
 * Registers an attempt and says whether it may go ahead. One statement writes the row and another
 * counts; both are autocommitted so other instances see them at once.
 */
export async function beginLoginAttempt(knex: Knex, input: { ip: string; username: string; now: Date }, limit: LoginLimit = DEFAULT_LOGIN_LIMIT): Promise<AttemptTicket> {
  const ip = input.ip.slice(0, 64);
  const username = usernameKey(input.username);
  const [row] = (await knex('admin_login_attempts').insert({ ip, username, status: 'pending', at: input.now }).returning('id')) as { id: number }[];
  const id = (row as { id: number }).id;
  const since = new Date(input.now.getTime() - limit.windowMs);
  const counted = (await knex.raw(
    `SELECT
       count(*) FILTER (WHERE ip = ?) AS by_ip,
       count(*) FILTER (WHERE username = ?) AS by_user,
       min(at) FILTER (WHERE ip = ?) AS first_ip,
       min(at) FILTER (WHERE username = ?) AS first_user
     FROM admin_login_attempts
     WHERE at > ? AND (ip = ? OR username = ?)`,
    [ip, username, ip, username, since, ip, username],
  )) as { rows: { by_ip: number | string; by_user: number | string; first_ip: Date | null; first_user: Date | null }[] };
  const stats = counted.rows[0];
  const byIp = Number(stats?.by_ip ?? 0);
  const byUser = Number(stats?.by_user ?? 0);
  if (byIp <= limit.maxFailures && byUser <= limit.maxFailures) return { allowed: true, id };

  await knex('admin_login_attempts').where({ id }).delete();
  // the lock-out lifts when the oldest counted attempt of the exhausted key leaves the window
  const oldest = [byIp > limit.maxFailures ? stats?.first_ip : null, byUser > limit.maxFailures ? stats?.first_user : null]
    .filter((d): d is Date => d instanceof Date)
    .map((d) => d.getTime());
  const until = (oldest.length > 0 ? Math.max(...oldest) : input.now.getTime()) + limit.windowMs;
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((until - input.now.getTime()) / 1000)) };
}

/** The password was wrong: the attempt counts as a failure for the rest of the window. */
export async function failLoginAttempt(knex: Knex, id: number): Promise<void> {
  await knex('admin_login_attempts').where({ id }).update({ status: 'failed' });
}

/** The password was right: this attempt and the earlier failures of this IP and user are forgiven. */
export async function succeedLoginAttempt(knex: Knex, input: { id: number; ip: string; username: string }): Promise<void> {
  await knex('admin_login_attempts')
    .where({ id: input.id })
    .orWhere((q) => q.where({ ip: input.ip.slice(0, 64), status: 'failed' }))
    .orWhere((q) => q.where({ username: usernameKey(input.username), status: 'failed' }))
    .delete();
}

/** Rows older than the window count for nothing: swept now and then so the table stays small. */
export async function sweepLoginAttempts(knex: Knex, now: Date, limit: LoginLimit = DEFAULT_LOGIN_LIMIT): Promise<number> {
  return knex('admin_login_attempts')
    .where('at', '<=', new Date(now.getTime() - limit.windowMs))
    .delete();
}

/**
 * The attempt was not a failure, but forgives nothing either: its row goes, the earlier failures of
 * its keys stay counted (the shopper's order lookup: one right answer must not reset the count).
 */
export async function forgetLoginAttempt(knex: Knex, id: number): Promise<void> {
  await knex('admin_login_attempts').where({ id }).delete();
}
