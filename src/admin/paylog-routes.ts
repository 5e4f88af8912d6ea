import { Router } from 'express';
import { beijingDateOf } from '../beijing-time';
import type { ResolvedDeps } from '../deps';
import { ORDER_STATUSES, attemptActions, flagIsOpen, readAttempt, readRefund, refundActions, refundableFen, resolveAttemptFlag, resolveRefundFlag } from '../ledger';
import { fenToYuanString } from '../money';
import type { Translate } from '../i18n';
import { maskMobile } from '../orders/service';
import { closeAsAdmin, queryAtWechat } from './actions';
import { dailyStats } from './chart';
import { UTF8_BOM, csvLine, writeChunk } from './csv';
import { dashboard } from './dashboard';
import { paylogDetail } from './detail';
import { auditChange } from './audit';
import { need } from './permissions';
import { confirmPage, confirmed, detailUrl, formText, loadAttemptParam, onlyParams, operatorOf } from './http';
import { closeNotice, flagNotice, queryNotice, takeNotice } from './notices';
import { describeLogged, translateOperator } from './order-log';
import { paylogBatches, paylogPage, paylogTotals, type PaylogRow } from './paylog';
import { FLAG_FILTERS, TRADE_STATES, TRADE_TYPES, encodeCursor, filterQueryString, parsePaylogQuery } from './paylog-query';
import { parseReconcileDate, reconcileDay } from './reconcile';
import { alertOnDifferences } from './reconcile-alerts';

const CSV_BATCH_SIZE = 1000;
const CSV_COLUMNS = ['outTradeNo', 'created', 'paid', 'amount', 'refunded', 'state', 'transactionId', 'tradeType', 'orders', 'shopper', 'flag', 'body'] as const;

function csvRow(row: PaylogRow, formatDateTime: (d: Date, withSeconds?: boolean) => string): string {
  return csvLine([
    row.out_trade_no,
    formatDateTime(row.create_time, true),
    row.pay_time ? formatDateTime(row.pay_time, true) : '',
    fenToYuanString(row.total_fee),
    fenToYuanString(row.refunded_fee),
    row.trade_state,
    row.transaction_id ?? '',
    row.trade_type,
    row.order_count,
    row.shopper_id,
    row.flag ?? '',
    row.body ?? '',
  ]);
}

/**
 * The admin's reading of the payments: the dashboard, the paylog table and its CSV, one payment's
 * detail with Query WeChat, Close and "flag handled" (a GET confirmation, then a POST), and a
 * day's reconciliation.
 */
export function adminPaylogRoutes(deps: Pick<ResolvedDeps, 'db' | 'clock' | 'payments'>): Router {
  const router = Router();
  const knex = deps.db.knex;
  const provider = deps.payments;
  const attemptOf = loadAttemptParam(router, knex);
  /** A payment as the audit log keeps it, before and after an action. */
  const paymentState = async (outTradeNo: string) => {
    const a = await readAttempt(knex, outTradeNo);
    return a && { trade_state: a.trade_state, transaction_id: a.transaction_id, refunded_fee: a.refunded_fee, flag: a.flag, flag_resolved_at: a.flag_resolved_at };
  };

  router.get('/', need('view'), async (req, res) => {
    onlyParams(req, []);
    const now = deps.clock();
    const [stats, days] = await Promise.all([dashboard(knex, now), dailyStats(knex, now, 14)]);
    res.render('admin/dashboard', { nav: 'dashboard', stats, days });
  });

  router.get('/paylog', need('view'), async (req, res) => {
    const query = parsePaylogQuery(req.query as Record<string, unknown>);
    const [page, totals] = await Promise.all([paylogPage(knex, query), paylogTotals(knex, query.filter)]);
    const size = query.size === 50 ? undefined : query.size;
    const link = (extra: Record<string, string | undefined>) => `/admin/paylog${filterQueryString(query.filter, { size, ...extra })}`;
    res.render('admin/paylog', {
      nav: 'paylog',
      maskMobile,
      filter: query.filter,
      size: query.size,
      page,
      totals,
      states: TRADE_STATES,
      tradeTypes: TRADE_TYPES,
      flags: FLAG_FILTERS,
      links: {
        first: query.after || query.before ? link({}) : undefined,
        newer: page.newer ? link({ before: encodeCursor(page.newer) }) : undefined,
        older: page.older ? link({ after: encodeCursor(page.older) }) : undefined,
        csv: `/admin/paylog.csv${filterQueryString(query.filter)}`,
      },
    });
  });

  router.get('/paylog.csv', need('export'), async (req, res) => {
    // validated before a byte is sent: a bad parameter is a 400, not a broken download
    const { filter } = parsePaylogQuery(req.query as Record<string, unknown>);
    const t = res.locals.t as Translate;
    const formatDateTime = res.locals.formatDateTime as (d: Date, withSeconds?: boolean) => string;
    res.status(200).set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="paylog-${beijingDateOf(deps.clock())}.csv"`,
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    const header = csvLine(CSV_COLUMNS.map((k) => t(`admin.csv.${k}`)));
    if (!(await writeChunk(res, UTF8_BOM + header))) return;
    for await (const rows of paylogBatches(knex, filter, CSV_BATCH_SIZE)) {
      if (!(await writeChunk(res, rows.map((row) => csvRow(row, formatDateTime)).join('')))) return; // the client went away
    }
    res.end();
  });

  router.get('/paylog/:outTradeNo', need('view'), async (req, res) => {
    onlyParams(req, []);
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const detail = await paylogDetail(knex, outTradeNo);
    const refundable = await refundableFen(knex, outTradeNo);
    res.render('admin/detail', {
      nav: 'paylog',
      ...detail,
      refundable,
      // what may be done is the ledger's decision, not the template's
      actions: attemptActions(detail.paylog, refundable.leftFen),
      refundActions,
      notice: takeNotice(req),
      describeLogged,
      translateOperator,
      flagIsOpen,
      orderStatuses: ORDER_STATUSES,
    });
  });

  // "flag handled": the admin says what they did (refunded, restocked, checked); the flag stays for the record
  router.post('/paylog/:outTradeNo/flag', need('flags'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const note = formText(req, 'note', 2000).trim();
    const before = await paymentState(outTradeNo);
    const decision = note === '' ? undefined : await resolveAttemptFlag(knex, { outTradeNo, operator: operatorOf(req), note, now: deps.clock() });
    auditChange(res, { before, after: await paymentState(outTradeNo) });
    req.session.adminNotice = decision === undefined ? { tone: 'error', key: 'admin.flag.notice.noNote' } : flagNotice(decision);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.post('/paylog/:outTradeNo/refunds/:outRefundNo/flag', need('flags'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    const note = formText(req, 'note', 2000).trim();
    const outRefundNo = String(req.params.outRefundNo);
    const refundFlag = async () => {
      const r = await readRefund(knex, outRefundNo);
      return r && r.out_trade_no === outTradeNo ? { out_refund_no: r.out_refund_no, flag: r.flag, flag_resolved_at: r.flag_resolved_at } : undefined;
    };
    const before = await refundFlag();
    const decision = note === '' ? undefined : await resolveRefundFlag(knex, { outRefundNo, outTradeNo, operator: operatorOf(req), note, now: deps.clock() });
    auditChange(res, { before, after: await refundFlag() });
    req.session.adminNotice = decision === undefined ? { tone: 'error', key: 'admin.flag.notice.noNote' } : flagNotice(decision);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.get('/paylog/:outTradeNo/query', need('payments'), (req, res) => {
    onlyParams(req, []);
    const { out_trade_no: outTradeNo } = attemptOf(req);
    confirmPage(res, { title: 'admin.action.query', text: 'admin.confirm.query', textParams: { outTradeNo }, action: `${detailUrl(outTradeNo)}/query`, back: detailUrl(outTradeNo) });
  });

  router.post('/paylog/:outTradeNo/query', need('payments'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/query`);
    const before = await paymentState(outTradeNo);
    const outcome = await queryAtWechat(knex, provider, { outTradeNo, operator: operatorOf(req), now: deps.clock() });
    auditChange(res, { before, after: await paymentState(outTradeNo) });
    req.session.adminNotice = queryNotice(outcome, res.locals.t as Translate);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.get('/paylog/:outTradeNo/close', need('payments'), (req, res) => {
    onlyParams(req, []);
    const { out_trade_no: outTradeNo } = attemptOf(req);
    confirmPage(res, { title: 'admin.action.close', text: 'admin.confirm.close', textParams: { outTradeNo }, action: `${detailUrl(outTradeNo)}/close`, back: detailUrl(outTradeNo), danger: true });
  });

  router.post('/paylog/:outTradeNo/close', need('payments'), async (req, res) => {
    const { out_trade_no: outTradeNo } = attemptOf(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/close`);
    const before = await paymentState(outTradeNo);
    const outcome = await closeAsAdmin(knex, provider, { outTradeNo, operator: operatorOf(req), now: deps.clock() });
    auditChange(res, { before, after: await paymentState(outTradeNo) });
    req.session.adminNotice = closeNotice(outcome);
    res.redirect(303, detailUrl(outTradeNo));
  });

  // reconciliation (read-only: a GET)
  router.get('/reconcile', need('reconcile'), async (req, res) => {
    onlyParams(req, ['date']);
    const now = deps.clock();
    const today = beijingDateOf(now);
    // yesterday: the latest day whose bill can exist (WeChat serves it from 10:00 today)
    const yesterday = beijingDateOf(new Date(now.getTime() - 24 * 3600 * 1000));
    if (req.query.date === undefined) return res.render('admin/reconcile', { nav: 'reconcile', date: yesterday, today, result: undefined });
    const date = parseReconcileDate(provider, req.query.date, now);
    const result = await reconcileDay(knex, provider, date, now);
    // differences are the merchant's to hear of (once per day and set of differences)
    await alertOnDifferences(knex, result, now);
    res.status(result.kind === 'failed' ? 502 : 200).render('admin/reconcile', { nav: 'reconcile', date, today, result });
  });

  return router;
}
