import { isIP } from 'node:net';
import type { Knex } from 'knex';
import { addressKey } from './client-ip';

/**
 * Failed attempts at a guarded door (the admin's login, and the order lookup by number and
 * mobile in src/orders with its own bounds), in the database so that every instance behind the load balancer counts the
 * same failures. Three bounds, so that a stranger cannot lock the admin out:
 * - per (user name, address): 5 failures in 15 minutes, then that pair waits out the window;
 * - per address: 20 failures in an hour, whatever the user names (slower, for guessing many names);
 * - per user name, from anywhere: no lock, a progressive delay: from the 10th failure in 15 minutes
 *   on, the next try must wait 1, 2, 4 ... at most 60 seconds after the latest failure. Five wrong
 *   passwords for `admin` from one address therefore never stop the right one from another.
 *
 * An attempt is written (`pending`) BEFORE its password is checked and counted after it is
 * written: of N simultaneous tries, the k-th to commit sees at least k rows, so no burst of
 * parallel requests gets more guesses than the bounds. A refused attempt leaves no row (being
 * refused does not extend anything); a wrong password turns its row `failed`; a right one deletes
 * it and forgives the earlier failures of that address with that user name.
 */

export interface LoginLimit {
  /** failures (and checks in flight) per (user name, address) per pairWindowMs */
  pairFailures: number;
  pairWindowMs: number;
  /** failures per address, whatever the user name, per ipWindowMs */
  ipFailures: number;
  ipWindowMs: number;
  /** failures of one user name (from anywhere) in userWindowMs after which each try is delayed */
  userDelayAfter: number;
  userWindowMs: number;
  userMaxDelayMs: number;
}

export const DEFAULT_LOGIN_LIMIT: LoginLimit = {
  pairFailures: 5,
  pairWindowMs: 15 * 60 * 1000,
  ipFailures: 20,
  ipWindowMs: 60 * 60 * 1000,
  userDelayAfter: 10,
  userWindowMs: 15 * 60 * 1000,
  userMaxDelayMs: 60 * 1000,
};

export type AttemptTicket = { allowed: true; id: number } | { allowed: false; retryAfterSeconds: number };

/**
 * The address an attempt is counted under: an IP address by addressKey (an IPv6 address by its
 * /64, an IPv4-mapped one as IPv4), so that one subscriber's many addresses count as one; a key a
 * caller made itself (the order lookup's `lookup:<address key>`) as it is. At most 64 characters.
 */
export function attemptAddress(ip: string): string {
  return (isIP(ip.trim()) !== 0 ? addressKey(ip) : ip).slice(0, 64);
}

/** Usernames are compared case-insensitively for counting; the column holds at most 64 chars. */
export function usernameKey(username: string): string {
  return username.trim().toLowerCase().slice(0, 64);
}

/** The delay a user name's tries wait after `failures` failures in the window (0: none). */
export function userDelayMs(failures: number, limit: LoginLimit = DEFAULT_LOGIN_LIMIT): number {
  if (failures < limit.userDelayAfter) return 0;
  return Math.min(limit.userMaxDelayMs, 1000 * 2 ** Math.min(30, failures - limit.userDelayAfter));
}

/**
 * Registers an attempt and says whether it may go ahead. One statement writes the row and another
 * counts; both are autocommitted so other instances see them at once.
 */
export async function beginLoginAttempt(knex: Knex, input: { ip: string; username: string; now: Date }, limit: LoginLimit = DEFAULT_LOGIN_LIMIT): Promise<AttemptTicket> {
  const ip = attemptAddress(input.ip);
  const username = usernameKey(input.username);
  const [row] = (await knex('admin_login_attempts').insert({ ip, username, status: 'pending', at: input.now }).returning('id')) as { id: number }[];
  const id = (row as { id: number }).id;
  const now = input.now.getTime();
  const pairSince = new Date(now - limit.pairWindowMs);
  const ipSince = new Date(now - limit.ipWindowMs);
  const userSince = new Date(now - limit.userWindowMs);
  const counted = (await knex.raw(
    `SELECT
       count(*) FILTER (WHERE ip = :ip AND username = :username AND at > :pairSince) AS by_pair,
       min(at) FILTER (WHERE ip = :ip AND username = :username AND at > :pairSince) AS first_pair,
       count(*) FILTER (WHERE ip = :ip AND at > :ipSince) AS by_ip,
       min(at) FILTER (WHERE ip = :ip AND at > :ipSince) AS first_ip,
       count(*) FILTER (WHERE username = :username AND at > :userSince AND id <> :id) AS by_user,
       max(at) FILTER (WHERE username = :username AND at > :userSince AND id <> :id) AS last_user
     FROM admin_login_attempts
     WHERE at > :oldest AND (ip = :ip OR username = :username)`,
    { ip, username, pairSince, ipSince, userSince, id, oldest: new Date(Math.min(pairSince.getTime(), ipSince.getTime(), userSince.getTime())) },
  )) as { rows: { by_pair: number | string; first_pair: Date | null; by_ip: number | string; first_ip: Date | null; by_user: number | string; last_user: Date | null }[] };
  const stats = counted.rows[0];
  const waits: number[] = [];
  if (Number(stats?.by_pair ?? 0) > limit.pairFailures && stats?.first_pair) waits.push(stats.first_pair.getTime() + limit.pairWindowMs - now);
  if (Number(stats?.by_ip ?? 0) > limit.ipFailures && stats?.first_ip) waits.push(stats.first_ip.getTime() + limit.ipWindowMs - now);
  const delay = userDelayMs(Number(stats?.by_user ?? 0), limit);
  if (delay > 0 && stats?.last_user && now - stats.last_user.getTime() < delay) waits.push(stats.last_user.getTime() + delay - now);
  if (waits.length === 0) return { allowed: true, id };
  await knex('admin_login_attempts').where({ id }).delete();
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
}

/** The password was wrong: the attempt counts as a failure for the rest of the window. */
export async function failLoginAttempt(knex: Knex, id: number): Promise<void> {
  await knex('admin_login_attempts').where({ id }).update({ status: 'failed' });
}

/**
 * The password was right: this attempt and the earlier failures of this address with this user
 * name are forgiven (not those from other addresses: a stranger's guesses stay counted).
 */
export async function succeedLoginAttempt(knex: Knex, input: { id: number; ip: string; username: string }): Promise<void> {
  await knex('admin_login_attempts')
    .where({ id: input.id })
    .orWhere((q) => q.where({ ip: attemptAddress(input.ip), username: usernameKey(input.username), status: 'failed' }))
    .delete();
}

/** Rows older than the window count for nothing: swept now and then so the table stays small. */
export async function sweepLoginAttempts(knex: Knex, now: Date, limit: LoginLimit = DEFAULT_LOGIN_LIMIT): Promise<number> {
  return knex('admin_login_attempts')
    .where('at', '<=', new Date(now.getTime() - Math.max(limit.pairWindowMs, limit.ipWindowMs, limit.userWindowMs)))
    .delete();
}

/**
 * The attempt was not a failure, but forgives nothing either: its row goes, the earlier failures of
 * its keys stay counted (the shopper's order lookup: one right answer must not reset the count).
 */
export async function forgetLoginAttempt(knex: Knex, id: number): Promise<void> {
  await knex('admin_login_attempts').where({ id }).delete();
}
