import { Router, type Request } from 'express';
import type { ResolvedDeps } from '../deps';
import { Forbidden, Invalid, NotFound } from '../errors';
import { aftersaleQueue } from '../ledger';
import { operatorOf } from '../admin/http';
import { takeNotice } from '../admin/notices';
import { need } from '../admin/permissions';
import { refundLimitOf } from '../admin/roles';
import type { Member } from '../admin/staff';
import { fenToYuanString } from '../money';
import { decideRequest, type ApproveOutcome } from './service';

const QUEUE_LIMIT = 100;

function aftersaleIdOf(req: Request): number {
  const id = String(req.params.aftersaleId ?? '');
  if (!/^\d{1,15}$/.test(id)) throw new NotFound(`no after-sales request ${id}`, 'admin.error.noAftersale');
  return Number(id);
}

/** What the merchant is told after deciding. */
function noticeOf(id: number, outcome: ApproveOutcome): { tone: 'ok' | 'warn' | 'error'; key: string; params?: Record<string, string | number> } {
  switch (outcome.kind) {
    case 'approved':
      if (outcome.sent.kind === 'refused' || outcome.sent.kind === 'provider_failed') return { tone: 'error', key: 'admin.aftersales.refundRefused', params: { message: outcome.sent.message } };
      return { tone: 'ok', key: 'admin.aftersales.approved', params: { id } };
    case 'rejected':
      return { tone: 'ok', key: 'admin.aftersales.rejected', params: { id } };
    case 'not_waiting':
      return { tone: 'warn', key: 'admin.aftersales.notWaiting', params: { id } };
    case 'shipped':
      return { tone: 'error', key: 'admin.aftersales.shipped' };
    case 'nothing_left':
      return { tone: 'error', key: 'admin.aftersales.nothingLeft' };
    case 'unknown_request':
      throw new NotFound(`no after-sales request ${id}`, 'admin.error.noAftersale');
    case 'over_limit':
      throw new Forbidden(`refund of ${outcome.amountFen} over the member's limit ${outcome.limitFen}`, 'admin.error.refundLimit', { limit: fenToYuanString(outcome.limitFen) });
  }
}

/**
 * The merchant's after-sales queue (/admin/aftersales): the requests waiting for a decision, oldest
 * first, and the latest decided; approve (the refund is stored and sent through the refund path)
 * or reject with a reason. Seeing needs `view`, deciding `orders`; an approval's refund is also
 * bounded by the member's refund limit (an operations member's, set by the owner), as a refund is.
 */
export function aftersaleAdminRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'payments'>): Router {
  const router = Router();
  const knex = deps.db.knex;

  router.get('/aftersales', need('view'), async (req, res) => {
    res.render('aftersales/queue', { nav: 'aftersales', queue: await aftersaleQueue(knex, QUEUE_LIMIT), notice: takeNotice(req) });
  });

  router.post('/aftersales/:aftersaleId/:decision', need('orders'), async (req, res) => {
    const id = aftersaleIdOf(req);
    const decision = String(req.params.decision);
    if (decision !== 'approve' && decision !== 'reject') throw new NotFound(`no action ${decision}`, 'admin.error.noAftersale');
    const note = typeof req.body?.note === 'string' ? req.body.note.trim() : '';
    if (decision === 'reject' && (note === '' || [...note].length > 200)) throw new Invalid('a rejection needs a reason of at most 200 characters', 'admin.aftersales.noteRequired');
    // approving refunds money: an operations member only up to what the owner allows them (as the refund form)
    const limit = decision === 'approve' ? refundLimitOf(res.locals.adminMember as Member) : undefined;
    const outcome = await decideRequest(knex, deps.payments, { aftersaleId: id, approve: decision === 'approve', note, operator: operatorOf(req), clock: deps.clock, ...(limit === undefined ? {} : { maxRefundFen: limit }) });
    req.session.adminNotice = noticeOf(id, outcome);
    res.redirect(303, '/admin/aftersales');
  });

  return router;
}
