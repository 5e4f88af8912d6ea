import { Router, type Request, type Response } from 'express';
import type { ResolvedDeps } from '../deps';
import { DomainError, Invalid, NotFound } from '../errors';
import type { Translate } from '../i18n';
import { fenToYuanString, yuanStringToFen } from '../money';
import { auditBatches, auditChange, auditPage } from './audit';
import type { AdminCredentials } from './auth';
import { UTF8_BOM, csvLine, writeChunk } from './csv';
import { confirmPage, confirmed, formText, onlyParams } from './http';
import { takeNotice } from './notices';
import { need, signedIn } from './permissions';
import { ROLES, isRole, type Role } from './roles';
import { USERNAME, MIN_PASSWORD_LENGTH, changeMember, changeOwnPassword, inviteMember, listMembers, removeMember } from './staff';

/**
 * The team, in the admin: the owner's staff page (invite with a role, change a role or an
 * operations member's refund limit, remove), every member's own account (their password), and the
 * owner's audit log (a page and a CSV). What a member may not do is neither shown nor allowed.
 */

const AUDIT_PAGE_SIZE = 100;

function roleField(req: Request): Role {
  const role = formText(req, 'role', 16);
  if (!isRole(role)) throw new Invalid('bad role', 'admin.staff.error.role');
  return role;
}

function limitField(req: Request): number {
  const text = formText(req, 'refund_limit', 16).trim();
  if (text === '') return 0;
  const fen = yuanStringToFen(text);
  if (fen === undefined) throw new Invalid('bad refund limit', 'admin.staff.error.limit');
  return fen;
}

function usernameParam(req: Request): string {
  const name = String(req.params.username ?? '');
  if (!USERNAME.test(name)) throw new NotFound('no such member', 'admin.staff.error.notFound');
  return name;
}

export function staffRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock'>, owner: AdminCredentials): Router {
  const router = Router();
  const knex = deps.db.knex;

  const renderStaff = async (req: Request, res: Response, status = 200, extra: Record<string, unknown> = {}) =>
    res.status(status).render('admin/staff', { nav: 'staff', members: await listMembers(knex, owner), roles: ROLES, fenToYuanString, notice: takeNotice(req), invited: undefined, ...extra });

  router.get('/staff', need('staff'), async (req, res) => {
    onlyParams(req, []);
    await renderStaff(req, res);
  });

  // the new member's first password is shown once, on this answer only (never stored in a session)
  router.post('/staff', need('staff'), async (req, res) => {
    const username = formText(req, 'username', 64).trim();
    const { member, password } = await inviteMember(knex, owner, { username, role: roleField(req), refundLimitFen: limitField(req), by: res.locals.adminUser as string, now: deps.clock() });
    auditChange(res, { before: null, after: { username: member.username, role: member.role, refund_limit_fen: member.refund_limit_fen } });
    await renderStaff(req, res, 201, { invited: { username: member.username, password } });
  });

  router.post('/staff/:username', need('staff'), async (req, res) => {
    const { before, after } = await changeMember(knex, owner, { username: usernameParam(req), role: roleField(req), refundLimitFen: limitField(req), now: deps.clock() });
    auditChange(res, { before: { role: before.role, refund_limit_fen: before.refund_limit_fen }, after: { role: after.role, refund_limit_fen: after.refund_limit_fen } });
    req.session.adminNotice = { tone: 'ok', key: 'admin.staff.notice.changed', params: { username: after.username } };
    res.redirect(303, '/admin/staff');
  });

  router.get('/staff/:username/remove', need('staff'), (req, res) => {
    onlyParams(req, []);
    const username = usernameParam(req);
    confirmPage(res, { nav: 'staff', title: 'admin.staff.remove', text: 'admin.staff.confirmRemove', textParams: { username }, action: `/admin/staff/${encodeURIComponent(username)}/remove`, back: '/admin/staff', danger: true });
  });

  router.post('/staff/:username/remove', need('staff'), async (req, res) => {
    const username = usernameParam(req);
    if (!confirmed(req)) return res.redirect(303, `/admin/staff/${encodeURIComponent(username)}/remove`);
    const removed = await removeMember(knex, owner, { username, now: deps.clock() });
    auditChange(res, { before: { username, role: removed.role }, after: null });
    req.session.adminNotice = { tone: 'ok', key: 'admin.staff.notice.removed', params: { username } };
    res.redirect(303, '/admin/staff');
  });

  return router;
}

export function accountRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock'>, owner: AdminCredentials): Router {
  const router = Router();
  const knex = deps.db.knex;

  const renderAccount = (req: Request, res: Response, status = 200, error?: { key: string; params?: Record<string, string | number> }) =>
    res.status(status).render('admin/account', { nav: 'account', member: res.locals.adminMember, builtIn: res.locals.adminUser === owner.user, minLength: MIN_PASSWORD_LENGTH, error, notice: takeNotice(req) });

  router.get('/account', signedIn, (req, res) => {
    onlyParams(req, []);
    renderAccount(req, res);
  });

  router.post('/account/password', signedIn, async (req, res) => {
    const current = formText(req, 'current', 1024);
    const next = formText(req, 'password', 1024);
    if (next !== formText(req, 'password_again', 1024)) return renderAccount(req, res, 400, { key: 'admin.account.error.again' });
    try {
      // this session stays signed in; every other one of this member's ends
      const { sessionEpoch } = await changeOwnPassword(knex, owner, { username: res.locals.adminUser as string, current, next, now: deps.clock() });
      req.session.adminEpoch = sessionEpoch;
    } catch (err) {
      // a wrong current password, one too short, the first owner's (set where the shop is deployed): said on the form
      if (!(err instanceof DomainError) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return renderAccount(req, res, err.kind === 'invalid' ? 400 : 409, { key: err.messageKey, params: err.params });
    }
    req.session.adminNotice = { tone: 'ok', key: 'admin.account.changed' };
    res.redirect(303, '/admin/account');
  });

  return router;
}

export function auditRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  const filterOf = (req: Request): { actor?: string; before?: number } => {
    const { actor, before } = req.query;
    const filter: { actor?: string; before?: number } = {};
    if (typeof actor === 'string' && actor !== '') {
      if (!USERNAME.test(actor)) throw new Invalid('bad actor', 'admin.error.badParam', { name: 'actor' });
      filter.actor = actor;
    }
    if (typeof before === 'string' && before !== '') {
      if (!/^\d{1,15}$/.test(before)) throw new Invalid('bad before', 'admin.error.badParam', { name: 'before' });
      filter.before = Number(before);
    }
    return filter;
  };

  router.get('/audit', need('audit'), async (req, res) => {
    onlyParams(req, ['actor', 'before']);
    const filter = filterOf(req);
    res.render('admin/audit', { nav: 'audit', filter, page: await auditPage(knex, filter, AUDIT_PAGE_SIZE) });
  });

  router.get('/audit.csv', need('audit'), async (req, res) => {
    onlyParams(req, ['actor']);
    const { actor } = filterOf(req);
    const t = res.locals.t as Translate;
    const formatDateTime = res.locals.formatDateTime as (d: Date, withSeconds?: boolean) => string;
    res.status(200).set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="audit.csv"', 'X-Content-Type-Options': 'nosniff' });
    const header = csvLine(['at', 'actor', 'role', 'action', 'subject', 'status', 'before', 'after', 'ip'].map((k) => t(`admin.audit.col.${k}`)));
    if (!(await writeChunk(res, UTF8_BOM + header))) return;
    for await (const rows of auditBatches(knex, actor ? { actor } : {})) {
      const text = rows
        .map((r) => csvLine([formatDateTime(r.at, true), r.actor, r.role, r.action, r.subject ?? '', r.status, r.before === null ? '' : JSON.stringify(r.before), r.after === null ? '' : JSON.stringify(r.after), r.ip ?? '']))
        .join('');
      if (!(await writeChunk(res, text))) return;
    }
    res.end();
  });

  return router;
}
