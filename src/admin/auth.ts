import type { Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { Forbidden, Unauthorized } from '../errors';
import { hashPasswordSync, parsePasswordHash, randomPassword } from './password';
import { memberCan, type Permission } from './roles';
import { findMember, type FirstOwner, type Member } from './staff';

declare module 'express-session' {
  interface SessionData {
    /** set only by a successful login, on a freshly regenerated session */
    adminUser?: string;
    /** the member's session epoch at login: a role changed or a removal since ends the session */
    adminEpoch?: number;
    /** the member's role at login, for the log (admin pages and the fault panel look the member up each time) */
    adminRole?: string;
    /** a one-time message for the next admin page (POST -> redirect -> GET) */
    adminNotice?: AdminNotice;
  }
}

export interface AdminNotice {
  tone: 'ok' | 'warn' | 'error';
  key: string;
  params?: Record<string, string | number>;
  /** name -> value lines shown under the message (e.g. WeChat's answer) */
  details?: [string, string][];
}

/** The shop's first owner: ADMIN_USER and its password hash (see staff.ts). */
export type AdminCredentials = FirstOwner;

/** Cheaper than the default: the one-time password is long and random, the hash never leaves memory. */
const ONE_TIME_PARAMS = { N: 2 ** 14, r: 8, p: 1 };

/**
 * The one admin: ADMIN_USER with ADMIN_PASSWORD_HASH; without a hash, a random password made now
 * and written ONCE to the log (warn), valid for this process only. Never a fixed default.
 * A malformed hash stops start-up with the reason.
 */
export function adminCredentials(config: { user: string; passwordHash: string | undefined }, logger: Pick<Logger, 'warn'>): AdminCredentials {
  if (config.passwordHash !== undefined) return { user: config.user, hash: parsePasswordHash(config.passwordHash) };
  const password = randomPassword();
  // the password alone in the message, so it can be read (and copied) from the log at a glance
  logger.warn(
    {
      adminUser: config.user,
      why: `ADMIN_PASSWORD_HASH is not set: log in at /admin as "${config.user}" with this password; it lasts until this process stops (set ADMIN_PASSWORD_HASH from \`npm run admin:hash\` to keep one)`,
    },
    `one-time password ${password}`,
  );
  return { user: config.user, hash: parsePasswordHash(hashPasswordSync(password, ONE_TIME_PARAMS)) };
}

/**
 * Only a relative path into /admin is a place to go back to after login: never another site
 * (`//evil`, `/\evil`, `https://...`), never a page outside the admin.
 */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2000) return '/admin';
  // the simulator's fault panel is the admin's too (requireAdminForSimulatorFaults)
  if (value === SIMULATOR_PANEL_PATH) return value;
  if (!value.startsWith('/admin') || value.startsWith('//') || /[\\\s]/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return '/admin';
  try {
    const url = new URL(value, 'http://admin.invalid');
    if (url.origin !== 'http://admin.invalid' || !/^\/admin(\/|$)/.test(url.pathname) || url.pathname.startsWith('/admin/login')) return '/admin';
    return `${url.pathname}${url.search}`;
  } catch {
    return '/admin';
  }
}

function wantsHtml(req: Request): boolean {
  return !req.path.endsWith('.csv') && req.accepts(['html', 'json']) === 'html';
}

/** Where a member whose password someone else chose is sent until they change it. */
export const ACCOUNT_PATH = '/admin/account';

/**
 * Every admin page and action behind this: the signed-in member looked up as they stand now (a
 * removed member, or one whose role changed since they logged in, is signed out at once), their
 * role and what it may do put where routes and pages read them. Without a login, a page (GET for
 * HTML) redirects to the login with a way back; the CSV, JSON and every other method answer 401.
 * A member with a password to change is sent to their account page first. Admin answers are never
 * cached.
 */
export function requireAdmin(knex: Knex, owner: FirstOwner): RequestHandler {
  // named, so that tests/integration/admin/roles.test.ts knows it in front of an app-level /admin route's guard
  return async function requireAdmin(req, res, next) {
    res.set('Cache-Control', 'no-store');
    const member = await currentMember(knex, owner, req);
    if (member) {
      signIn(res, member);
      const toAccount = member.must_change_password && !req.originalUrl.startsWith(ACCOUNT_PATH) && !req.originalUrl.startsWith('/admin/logout');
      if (toAccount && (req.method === 'GET' || req.method === 'HEAD')) return res.redirect(303, ACCOUNT_PATH);
      if (toAccount) return next(new Unauthorized('change the password first', 'admin.account.mustChange'));
      return next();
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req)) {
      return res.redirect(303, `/admin/login?next=${encodeURIComponent(safeNext(req.originalUrl))}`);
    }
    next(new Unauthorized('admin login required', 'admin.error.loginRequired'));
  };
}

/**
 * The session's member as they stand now, or undefined: a removed member, or one whose role
 * changed (or who changed their password elsewhere) since this session logged in, is signed out
 * of it here, at once.
 */
async function currentMember(knex: Knex, owner: FirstOwner, req: Request): Promise<Member | undefined> {
  const user = req.session?.adminUser;
  if (!user) return undefined;
  const member = await findMember(knex, owner, user);
  if (member && (req.session.adminEpoch ?? 0) === member.session_epoch) return member;
  delete req.session.adminUser;
  delete req.session.adminRole;
  return undefined;
}

function signIn(res: Response, member: Member): void {
  res.locals.adminUser = member.username;
  res.locals.adminRole = member.role;
  res.locals.adminMember = member;
  res.locals.can = (permission: Permission) => memberCan(member, permission);
}

/**
 * In front of the simulator's fault panel and fault API (app.ts): the session's member as they
 * stand now. A member whose role may not change the shop's settings is refused here, 403 through
 * the shop's error handler (in their language, as every admin refusal); the rest is for
 * requireAdminForSimulatorFaults (no login: the way to it).
 */
export function adminMemberForSimulatorFaults(knex: Knex, owner: FirstOwner): RequestHandler {
  return async (req, res, next) => {
    const member = await currentMember(knex, owner, req);
    if (member && !member.must_change_password) {
      if (!memberCan(member, 'settings')) return next(new Forbidden(`${member.role} may not change the simulator's faults`, 'admin.error.forbidden'));
      signIn(res, member);
    }
    next();
  };
}

/** Where the simulator's fault panel lives in the shop (src/simulator/routes.ts, mounted at /wxsim). */
export const SIMULATOR_PANEL_PATH = '/wxsim/panel';

/**
 * The simulator's fault panel and fault API in simulator mode: faults make the shop's WeChat Pay
 * misbehave, so they are the admin's alone (main.ts hands this to the simulator; app.ts puts the
 * session in front of those paths). A page GET without a login goes to the login and comes back;
 * anything else is 401 with a line saying what to do.
 */
export const requireAdminForSimulatorFaults: RequestHandler = (req, res, next) => {
  res.set('Cache-Control', 'no-store');
  // the member as they stand now (adminMemberForSimulatorFaults, in front): faults are the shop's settings, the owner's
  const member = res.locals.adminMember as Member | undefined;
  if (member && memberCan(member, 'settings')) return next();
  if (member) return void res.status(403).json({ error: `the simulator's faults are the owner's: your role (${member.role}) may not change them` });
  if ((req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req)) {
    return res.redirect(303, `/admin/login?next=${encodeURIComponent(SIMULATOR_PANEL_PATH)}`);
  }
  res.status(401).json({ error: 'the simulator\'s faults need the shop admin\'s login: log in at /admin/login first' });
};

/** express-session's callbacks as promises. */
export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err: unknown) => (err ? reject(err) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err: unknown) => (err ? reject(err) : resolve())));
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((err: unknown) => (err ? reject(err) : resolve())));
}
