import { Router, type Request, type Response } from 'express';
import type { ResolvedDeps } from '../deps';
import { Conflict, Forbidden, Invalid, NotFound } from '../errors';
import { MAX_REASON_LENGTH, OUT_REFUND_NO, attemptActions, newOutRefundNo, readAttempt, readRefund, refundableFen, requestRefund, type Refund } from '../ledger';
import { fenToYuanString, yuanStringToFen } from '../money';
import { abandonRefund, sendRefund, syncRefund } from '../refunds/service';
import type { Translate } from '../i18n';
import { loadPathParam } from '../http/path-param';
import { auditChange } from './audit';
import { need } from './permissions';
import { refundLimitOf } from './roles';
import type { Member } from './staff';
import { confirmPage, confirmed, detailUrl, formText, loadAttemptParam, onlyParams, operatorOf } from './http';
import { abandonNotice, refundNotice, syncNotice } from './notices';

type Refundable = Awaited<ReturnType<typeof refundableFen>>;

/** The order a refund form names: the one chosen, the only one, or (drawing a fresh form) the first with money left. */
function orderChosen(refundable: Refundable, given: string | undefined, fresh: boolean): number | undefined {
  if (given !== undefined && /^\d{1,15}$/.test(given)) return Number(given);
  if (refundable.orders.length === 1) return refundable.orders[0]?.id;
  return fresh ? refundable.orders.find((o) => o.leftFen > 0)?.id : undefined;
}

/** What may still be refunded for the chosen order (the attempt's, for an attempt made for no order). */
function leftFor(refundable: Refundable, orderId: number | undefined): number {
  if (refundable.orders.length === 0) return refundable.leftFen;
  return refundable.orders.find((o) => o.id === orderId)?.leftFen ?? 0;
}

/** A refund and its payment as the audit log keeps them, before and after an action. */
async function refundState(knex: Parameters<typeof readAttempt>[0], outTradeNo: string, outRefundNo: string) {
  const attempt = await readAttempt(knex, outTradeNo);
  const refund: Refund | undefined = await readRefund(knex, outRefundNo);
  return {
    payment: attempt && { out_trade_no: attempt.out_trade_no, trade_state: attempt.trade_state, refunded_fee: attempt.refunded_fee },
    refund: refund && { out_refund_no: refund.out_refund_no, order_id: refund.order_id, refund_fee: refund.refund_fee, status: refund.status },
  };
}

/**
 * Refunds by the admin: the form (which order, amount, reason; its out_refund_no made when the
 * form is drawn, so a double submit is one refund), a confirmation, the refund stored by the
 * ledger and sent to WeChat; and for a stored refund, "retry" (the same out_refund_no again) and
 * "sync" (ask WeChat). A refund names the order it returns money for: never more than the order
 * cost, nor in all more than the payment took.
 */
export function adminRefundRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'payments'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const provider = deps.payments;
  const attemptOf = loadAttemptParam(router, knex);

  // the refund named in the path, of the attempt named in the path (or a 404)
  const refundOf = loadPathParam(router, 'outRefundNo', async (value, req) => {
    const refund = OUT_REFUND_NO.test(value) ? await readRefund(knex, value) : undefined;
    if (!refund || refund.out_trade_no !== req.params.outTradeNo) throw new NotFound(`no refund ${value} of ${req.params.outTradeNo}`, 'refund.error.notFound');
    return refund;
  });

  const renderRefundForm = async (
    req: Request,
    res: Response,
    status: number,
    data: { amount: string; reason: string; outRefundNo: string; orderId: number | undefined; errors: Record<string, string>; errorParams?: Record<string, string | number> },
  ) => {
    const paylog = attemptOf(req);
    const refundable = await refundableFen(knex, paylog.out_trade_no);
    res.status(status).render('admin/refund', { nav: 'paylog', paylog, refundable, actions: attemptActions(paylog, refundable.leftFen), maxReason: MAX_REASON_LENGTH, errorParams: {}, ...data });
  };

  router.get('/paylog/:outTradeNo/refund', need('refund'), async (req, res) => {
    onlyParams(req, ['order']);
    const refundable = await refundableFen(knex, attemptOf(req).out_trade_no);
    const orderId = orderChosen(refundable, typeof req.query.order === 'string' ? req.query.order : undefined, true);
    const left = leftFor(refundable, orderId);
    await renderRefundForm(req, res, 200, { amount: left > 0 ? fenToYuanString(left) : '', reason: '', outRefundNo: newOutRefundNo(deps.clock()), orderId, errors: {} });
  });

  router.post('/paylog/:outTradeNo/refund', need('refund'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const amount = formText(req, 'amount', 32).trim();
    const reason = formText(req, 'reason', 400).trim();
    const outRefundNo = formText(req, 'out_refund_no', 64);
    if (!OUT_REFUND_NO.test(outRefundNo)) throw new Invalid('bad out_refund_no', 'refund.error.badToken');
    const refundable = await refundableFen(knex, outTradeNo);
    const givenOrder = formText(req, 'order_id', 16).trim();
    const orderId = orderChosen(refundable, givenOrder === '' ? undefined : givenOrder, false);
    const errors: Record<string, string> = {};
    if (refundable.orders.length > 0 && !refundable.orders.some((o) => o.id === orderId)) errors.order = 'refund.error.chooseOrder';
    const refundFee = yuanStringToFen(amount);
    if (refundFee === undefined || refundFee <= 0) errors.amount = 'refund.error.badAmount';
    if ([...reason].length > MAX_REASON_LENGTH) errors.reason = 'refund.error.reasonTooLong';
    const leftFen = leftFor(refundable, orderId);
    if (!errors.amount && !errors.order && (refundFee as number) > leftFen) errors.amount = 'refund.error.exceeds';
    const form = { amount, reason, outRefundNo, orderId };
    if (Object.keys(errors).length > 0) {
      return renderRefundForm(req, res, errors.amount === 'refund.error.exceeds' ? 409 : 400, { ...form, errors, errorParams: { left: fenToYuanString(leftFen), max: MAX_REASON_LENGTH } });
    }
    const fen = refundFee as number;
    // operations refund up to what the owner allows each of them
    const limit = refundLimitOf(res.locals.adminMember as Member);
    if (limit !== undefined && fen > limit) throw new Forbidden(`refund of ${fen} over the member's limit ${limit}`, 'admin.error.refundLimit', { limit: fenToYuanString(limit) });
    if (!confirmed(req)) {
      return confirmPage(res, {
        title: 'admin.action.refund',
        text: orderId === undefined ? 'refund.confirm' : 'refund.confirmOrder',
        textParams: { amount: fenToYuanString(fen), outTradeNo, reason: reason || '-', orderId: orderId ?? '' },
        action: `${detailUrl(outTradeNo)}/refund`,
        back: detailUrl(outTradeNo),
        fields: { amount, reason, out_refund_no: outRefundNo, order_id: orderId === undefined ? '' : String(orderId) },
        danger: true,
      });
    }
    const operator = operatorOf(req);
    const before = await refundState(knex, outTradeNo, outRefundNo);
    try {
      await requestRefund(knex, { outTradeNo, orderId, outRefundNo, refundFee: fen, reason, operator, now: deps.clock() });
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
      const left = leftFor(await refundableFen(knex, outTradeNo), orderId);
      return renderRefundForm(req, res, 409, { ...form, errors: { amount: err.messageKey }, errorParams: { ...err.params, left: fenToYuanString(left), max: MAX_REASON_LENGTH } });
    }
    const outcome = await sendRefund(knex, provider, { outRefundNo, operator, clock: deps.clock });
    auditChange(res, { before, after: await refundState(knex, outTradeNo, outRefundNo) });
    req.session.adminNotice = refundNotice(outcome, fen, res.locals.t as Translate);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.get('/paylog/:outTradeNo/refunds/:outRefundNo/:action', need('refund'), (req, res) => {
    onlyParams(req, []);
    const action = req.params.action;
    if (action !== 'retry' && action !== 'sync' && action !== 'abandon') throw new NotFound('no such refund action');
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const refund = refundOf(req);
    confirmPage(res, {
      title: `refund.action.${action}`,
      text: `refund.confirm.${action}`,
      textParams: { outRefundNo: refund.out_refund_no, amount: fenToYuanString(refund.refund_fee) },
      action: `${detailUrl(outTradeNo)}/refunds/${encodeURIComponent(refund.out_refund_no)}/${action}`,
      back: detailUrl(outTradeNo),
      danger: action !== 'sync',
    });
  });

  router.post('/paylog/:outTradeNo/refunds/:outRefundNo/retry', need('refund'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const refund = refundOf(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/refunds/${encodeURIComponent(refund.out_refund_no)}/retry`);
    const before = await refundState(knex, outTradeNo, refund.out_refund_no);
    const outcome = await sendRefund(knex, provider, { outRefundNo: refund.out_refund_no, operator: operatorOf(req), clock: deps.clock });
    auditChange(res, { before, after: await refundState(knex, outTradeNo, refund.out_refund_no) });
    req.session.adminNotice = refundNotice(outcome, refund.refund_fee, res.locals.t as Translate);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.post('/paylog/:outTradeNo/refunds/:outRefundNo/sync', need('refund'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const refund = refundOf(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/refunds/${encodeURIComponent(refund.out_refund_no)}/sync`);
    const before = await refundState(knex, outTradeNo, refund.out_refund_no);
    const outcome = await syncRefund(knex, provider, { outRefundNo: refund.out_refund_no, operator: operatorOf(req), clock: deps.clock });
    auditChange(res, { before, after: await refundState(knex, outTradeNo, refund.out_refund_no) });
    req.session.adminNotice = syncNotice(outcome);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.post('/paylog/:outTradeNo/refunds/:outRefundNo/abandon', need('refund'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const refund = refundOf(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/refunds/${encodeURIComponent(refund.out_refund_no)}/abandon`);
    const before = await refundState(knex, outTradeNo, refund.out_refund_no);
    const outcome = await abandonRefund(knex, provider, { outRefundNo: refund.out_refund_no, operator: operatorOf(req), clock: deps.clock });
    auditChange(res, { before, after: await refundState(knex, outTradeNo, refund.out_refund_no) });
    req.session.adminNotice = abandonNotice(outcome, res.locals.t as Translate);
    res.redirect(303, detailUrl(outTradeNo));
  });

  return router;
}
