import type { Knex } from 'knex';
import { Conflict, Invalid, NotFound } from '../errors';
import { sameText } from '../timing-safe';
import { hashPassword, parsePasswordHash, randomPassword, verifyPassword, type PasswordHash } from './password';
import { isRole, type Role } from './roles';

/**
 * The team: admin users beside the shop's first owner. The first owner is ADMIN_USER with
 * ADMIN_PASSWORD_HASH (or the one-time password of the log): not a row, always there, always an
 * owner, its password set where the shop is deployed. Everyone else is a row of admin_users with
 * a password of their own, a role, and a session epoch that is raised when their role changes or
 * they are removed, which ends their sessions at once (requireAdmin compares it on every request).
 */

export interface Member {
  username: string;
  role: Role;
  refund_limit_fen: number;
  must_change_password: boolean;
  session_epoch: number;
  /** the first owner (ADMIN_USER): not a row, cannot be changed or removed here */
  builtIn: boolean;
}

export interface FirstOwner {
  user: string;
  hash: PasswordHash;
}

type Row = Record<string, unknown>;

export const USERNAME = /^[A-Za-z0-9._-]{2,32}$/;
export const MIN_PASSWORD_LENGTH = 10;

function memberOf(row: Row): Member {
  const role = row.role;
  if (!isRole(role)) throw new TypeError(`admin_users.role ${String(role)} is not a role`);
  return {
    username: String(row.username),
    role,
    refund_limit_fen: Number(row.refund_limit_fen),
    must_change_password: row.must_change_password === true,
    session_epoch: Number(row.session_epoch),
    builtIn: false,
  };
}

function firstOwnerMember(owner: FirstOwner): Member {
  return { username: owner.user, role: 'owner', refund_limit_fen: 0, must_change_password: false, session_epoch: 0, builtIn: true };
}

/** A signed-in member as they stand now (undefined: removed, or never was). */
export async function findMember(knex: Knex, owner: FirstOwner, username: string): Promise<Member | undefined> {
  if (username === owner.user) return firstOwnerMember(owner);
  const row = (await knex('admin_users').where({ username }).whereNull('removed_at').first('*')) as Row | undefined;
  return row ? memberOf(row) : undefined;
}

/** A hash that matches nothing, checked for an unknown name so that a wrong name takes as long as a wrong password. */
let decoy: PasswordHash | undefined;
async function decoyHash(): Promise<PasswordHash> {
  decoy ??= parsePasswordHash(await hashPassword(randomPassword()));
  return decoy;
}

/** The member with this name and password, or undefined; in time that does not tell which was wrong. */
export async function authenticate(knex: Knex, owner: FirstOwner, username: string, password: string): Promise<Member | undefined> {
  if (sameText(username, owner.user)) return (await verifyPassword(password, owner.hash)) ? firstOwnerMember(owner) : undefined;
  const row = USERNAME.test(username) ? ((await knex('admin_users').where({ username }).whereNull('removed_at').first('*')) as Row | undefined) : undefined;
  const ok = await verifyPassword(password, row ? parsePasswordHash(String(row.password_hash)) : await decoyHash());
  return row && ok ? memberOf(row) : undefined;
}

export async function listMembers(knex: Knex, owner: FirstOwner): Promise<Member[]> {
  const rows = (await knex('admin_users').whereNull('removed_at').orderBy('username').select('*')) as Row[];
  return [firstOwnerMember(owner), ...rows.map(memberOf)];
}

function checkLimit(fen: number): number {
  if (!Number.isSafeInteger(fen) || fen < 0) throw new Invalid('bad refund limit', 'admin.staff.error.limit');
  return fen;
}

/**
 * The owner invites a member of staff: a row with a random password, shown once to the owner to
 * hand over, which the member must change at their first login. A name taken (by a member, or by
 * the first owner) is refused.
 */
export async function inviteMember(
  knex: Knex,
  owner: FirstOwner,
  input: { username: string; role: Role; refundLimitFen: number; by: string; now: Date },
): Promise<{ member: Member; password: string }> {
  if (!USERNAME.test(input.username)) throw new Invalid('bad user name', 'admin.staff.error.username');
  if (input.username === owner.user) throw new Conflict('the first owner has that name', 'admin.staff.error.taken');
  const password = randomPassword();
  const hash = await hashPassword(password);
  const limit = checkLimit(input.refundLimitFen);
  return knex.transaction(async (trx) => {
    const existing = (await trx('admin_users').where({ username: input.username }).forUpdate().first('*')) as Row | undefined;
    if (existing && existing.removed_at === null) throw new Conflict('that name is taken', 'admin.staff.error.taken');
    const fields = { password_hash: hash, role: input.role, refund_limit_fen: limit, must_change_password: true, created_by: input.by.slice(0, 64), removed_at: null, updated_at: input.now };
    // a removed member invited again starts afresh, with a new epoch: no old session comes back
    const [row] = existing
      ? ((await trx('admin_users')
          .where({ username: input.username })
          .update({ ...fields, session_epoch: Number(existing.session_epoch) + 1 })
          .returning('*')) as Row[])
      : ((await trx('admin_users')
          .insert({ username: input.username, created_at: input.now, ...fields })
          .returning('*')) as Row[]);
    if (!row) throw new Error('admin_users wrote no row');
    return { member: memberOf(row), password };
  });
}

async function lockMember(trx: Knex.Transaction, owner: FirstOwner, username: string): Promise<Row> {
  if (username === owner.user) throw new Conflict('the first owner is set where the shop is deployed', 'admin.staff.error.firstOwner');
  const row = (await trx('admin_users').where({ username }).whereNull('removed_at').forUpdate().first('*')) as Row | undefined;
  if (!row) throw new NotFound(`no member ${username}`, 'admin.staff.error.notFound');
  return row;
}

/** A member's role or refund limit changed by the owner; a new role ends their sessions at once. Returns before and after. */
export async function changeMember(
  knex: Knex,
  owner: FirstOwner,
  input: { username: string; role: Role; refundLimitFen: number; now: Date },
): Promise<{ before: Member; after: Member }> {
  const limit = checkLimit(input.refundLimitFen);
  return knex.transaction(async (trx) => {
    const row = await lockMember(trx, owner, input.username);
    const before = memberOf(row);
    const epoch = before.role === input.role ? before.session_epoch : before.session_epoch + 1;
    const [changed] = (await trx('admin_users')
      .where({ username: input.username })
      .update({ role: input.role, refund_limit_fen: limit, session_epoch: epoch, updated_at: input.now })
      .returning('*')) as Row[];
    return { before, after: memberOf(changed as Row) };
  });
}

/** A member removed by the owner: they can no longer log in, and their sessions end at once. */
export async function removeMember(knex: Knex, owner: FirstOwner, input: { username: string; now: Date }): Promise<Member> {
  return knex.transaction(async (trx) => {
    const row = await lockMember(trx, owner, input.username);
    await trx('admin_users')
      .where({ username: input.username })
      .update({ removed_at: input.now, session_epoch: Number(row.session_epoch) + 1, updated_at: input.now });
    return memberOf(row);
  });
}

/**
 * A member changes their own password, proving the current one. Their other sessions end at once
 * (a new session epoch, returned for the session that made the change to keep). The first owner's
 * is set where the shop is deployed.
 */
export async function changeOwnPassword(knex: Knex, owner: FirstOwner, input: { username: string; current: string; next: string; now: Date }): Promise<{ sessionEpoch: number }> {
  if (input.username === owner.user) throw new Conflict('the first owner\'s password is ADMIN_PASSWORD_HASH', 'admin.account.error.firstOwner');
  if ([...input.next].length < MIN_PASSWORD_LENGTH) throw new Invalid('password too short', 'admin.account.error.short', { min: MIN_PASSWORD_LENGTH });
  if (input.next === input.current) throw new Invalid('the same password', 'admin.account.error.same');
  const member = await authenticate(knex, owner, input.username, input.current);
  if (!member) throw new Invalid('wrong current password', 'admin.account.error.current');
  const hash = await hashPassword(input.next);
  const [row] = (await knex('admin_users')
    .where({ username: input.username })
    .whereNull('removed_at')
    .update({ password_hash: hash, must_change_password: false, session_epoch: knex.raw('session_epoch + 1'), updated_at: input.now })
    .returning('session_epoch')) as Row[];
  if (!row) throw new NotFound(`no member ${input.username}`, 'admin.staff.error.notFound');
  return { sessionEpoch: Number(row.session_epoch) };
}
