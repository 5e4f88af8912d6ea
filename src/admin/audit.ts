import type { Knex } from 'knex';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { clientIp } from '../http/client-ip';

/**
 * The audit log: every admin action (every request that is not a read), who made it, when, on
 * what, and how it ended; for money and stock, what they were before and after (a route says so
 * with auditChange). Written once the answer is sent, never changed (triggers refuse UPDATE,
 * DELETE and TRUNCATE on admin_audit), read by the owner.
 */

export interface AuditChange {
  before: unknown;
  after: unknown;
}

/** What an action changed, for its audit row (money and stock: the rows' values before and after). */
export function auditChange(res: Response, change: AuditChange): void {
  res.locals.auditChange = change;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** Records every admin action (not GET or HEAD) of a signed-in member, after its answer. */
export function auditActions(knex: Knex, clock: () => Date, logger: Pick<Logger, 'error'>): RequestHandler {
  // named, for tests/integration/admin/roles.test.ts; once per request (the upload parsers in app.ts
  // record their requests, refused ones too, before the admin router would)
  return function auditActions(req, res, next) {
    if (req.method === 'GET' || req.method === 'HEAD' || res.locals.audited === true) return next();
    res.locals.audited = true;
    const at = clock();
    res.on('finish', () => {
      const actor = res.locals.adminUser as string | undefined;
      if (!actor) return;
      const change = res.locals.auditChange as AuditChange | undefined;
      const pattern = (req.route as { path?: string } | undefined)?.path;
      // the route's params as its guard saw them (need() keeps them): a refused action is on something too
      const routeParams = (res.locals.routeParams as Record<string, string> | undefined) ?? req.params ?? {};
      const params = Object.entries(routeParams).map(([name, value]) => `${name}=${String(value)}`);
      knex('admin_audit')
        .insert({
          at,
          actor: actor.slice(0, 64),
          role: String(res.locals.adminRole ?? '?').slice(0, 16),
          action: `${req.method} ${pattern ?? req.path}`.slice(0, 120),
          subject: params.length > 0 ? params.join(' ').slice(0, 200) : null,
          status: res.statusCode,
          before: json(change?.before),
          after: json(change?.after),
          ip: clientIp(req).slice(0, 64),
        })
        .catch((err: unknown) => logger.error({ err, actor, path: req.originalUrl }, 'could not record an admin action in the audit log'));
    });
    next();
  };
}

export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  role: string;
  action: string;
  subject: string | null;
  status: number;
  before: unknown;
  after: unknown;
  ip: string | null;
}

/** The audit log, newest first, a page at a time (keyset on id), optionally one member's. */
export async function auditPage(knex: Knex, filter: { actor?: string; before?: number }, size: number): Promise<{ rows: AuditRow[]; older: number | undefined }> {
  const query = knex('admin_audit').orderBy('id', 'desc').limit(size + 1).select('*');
  if (filter.actor) query.where({ actor: filter.actor });
  if (filter.before !== undefined) query.where('id', '<', filter.before);
  const rows = (await query) as AuditRow[];
  const page = rows.slice(0, size);
  return { rows: page, older: rows.length > size ? page[page.length - 1]?.id : undefined };
}

/** The whole log (or one member's), newest first, in batches: memory bounded by one batch. */
export async function* auditBatches(knex: Knex, filter: { actor?: string }, batchSize = 1000): AsyncGenerator<AuditRow[]> {
  let before: number | undefined;
  for (;;) {
    const { rows, older } = await auditPage(knex, { ...filter, before }, batchSize);
    if (rows.length > 0) yield rows;
    if (older === undefined) return;
    before = older;
  }
}
