import { Router, type Response } from 'express';
import type { ResolvedDeps } from '../deps';
import { clientIp } from '../http/client-ip';
import { SESSION_COOKIE_NAME } from '../http/session-cookie';
import { ACCOUNT_PATH, destroySession, regenerateSession, safeNext, saveSession, type AdminCredentials } from './auth';
import { formText, onlyParams } from './http';
import { authenticate } from './staff';
import { beginLoginAttempt, failLoginAttempt, succeedLoginAttempt, sweepLoginAttempts } from '../http/attempt-limit';

const ADMIN_SESSION_MS = 12 * 3600 * 1000;

/**
 * The admin's door: GET/POST /admin/login (limited per name and address, for every member alike),
 * POST /admin/logout. The first owner (ADMIN_USER) or a member of staff with their own password.
 */
export function adminAuthRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock'>, owner: AdminCredentials): Router {
  const router = Router();
  const knex = deps.db.knex;

  const renderLogin = (res: Response, status: number, data: { next: string; username?: string; error?: string; errorParams?: Record<string, string | number> }) =>
    res.status(status).set('Cache-Control', 'no-store').render('admin/login', { username: '', error: undefined, errorParams: {}, ...data });

  router.get('/login', (req, res) => {
    onlyParams(req, ['next']);
    const next = safeNext(req.query.next);
    if (req.session.adminUser) return res.redirect(303, next);
    renderLogin(res, 200, { next });
  });

  router.post('/login', async (req, res) => {
    const username = formText(req, 'username', 200).trim();
    const password = formText(req, 'password', 1024);
    const next = safeNext(formText(req, 'next', 2000));
    const ip = clientIp(req);
    const now = deps.clock();
    const ticket = await beginLoginAttempt(knex, { ip, username, now });
    if (!ticket.allowed) {
      res.set('Retry-After', String(ticket.retryAfterSeconds));
      req.log?.warn({ ip, username }, 'admin login rate-limited');
      return renderLogin(res, 429, { next, username, error: 'admin.login.tooMany', errorParams: { minutes: Math.ceil(ticket.retryAfterSeconds / 60) } });
    }
    const member = await authenticate(knex, owner, username, password);
    if (!member) {
      await failLoginAttempt(knex, ticket.id);
      req.log?.warn({ ip, username }, 'admin login failed');
      return renderLogin(res, 401, { next, username, error: 'admin.login.failed' });
    }
    await succeedLoginAttempt(knex, { id: ticket.id, ip, username });
    await sweepLoginAttempts(knex, now);
    // a fresh session id: one fixed before login (session fixation) is worth nothing after it
    const lang = req.session.lang;
    await regenerateSession(req);
    req.session.adminUser = member.username;
    req.session.adminEpoch = member.session_epoch;
    req.session.adminRole = member.role;
    // an admin session lasts a working day, not the shopper's week
    req.session.cookie.maxAge = ADMIN_SESSION_MS;
    if (lang) req.session.lang = lang;
    await saveSession(req);
    req.log?.info({ adminUser: member.username, role: member.role }, 'admin logged in');
    res.redirect(303, member.must_change_password ? ACCOUNT_PATH : next);
  });

  router.post('/logout', async (req, res) => {
    if (req.session.adminUser) req.log?.info({ adminUser: req.session.adminUser }, 'admin logged out');
    await destroySession(req);
    res.clearCookie(SESSION_COOKIE_NAME, { path: '/', httpOnly: true, sameSite: 'lax' });
    res.redirect(303, '/admin/login');
  });

  return router;
}
