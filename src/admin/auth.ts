import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { Unauthorized } from '../errors';
import { sameText } from '../timing-safe';
import { hashPasswordSync, parsePasswordHash, randomPassword, verifyPassword, type PasswordHash } from './password';

declare module 'express-session' {
  interface SessionData {
    /** set only by a successful login, on a freshly regenerated session */
    adminUser?: string;
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

export interface AdminCredentials {
  user: string;
  hash: PasswordHash;
}

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

/** Checks user name and password together, in time that does not depend on which one is wrong. */
export async function checkCredentials(credentials: AdminCredentials, username: string, password: string): Promise<boolean> {
  const userOk = sameText(username, credentials.user);
  const passwordOk = await verifyPassword(password, credentials.hash);
  return userOk && passwordOk;
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

/**
 * Every admin page and action behind this: without a login, a page (GET for HTML) redirects to
 * the login with a way back; the CSV, JSON and every other method answer 401. Admin answers are
 * never cached.
 */
export const requireAdmin: RequestHandler = (req, res, next) => {
  res.set('Cache-Control', 'no-store');
  const user = req.session?.adminUser;
  if (user) {
    res.locals.adminUser = user;
    return next();
  }
  if ((req.method === 'GET' || req.method === 'HEAD') && wantsHtml(req)) {
    return res.redirect(303, `/admin/login?next=${encodeURIComponent(safeNext(req.originalUrl))}`);
  }
  next(new Unauthorized('admin login required', 'admin.error.loginRequired'));
};

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
  if (req.session?.adminUser) return next();
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
