import { Router, type Request, type Response } from 'express';
import type { ResolvedDeps } from '../app';
import { maskMobile } from '../orders/service';
import { dailyStats } from './chart';
import { SESSION_COOKIE_NAME } from '../http/session-cookie';
import { Conflict, Invalid, NotFound } from '../errors';
import { fenToYuanString, formatFen, yuanStringToFen } from '../money';
import { refundNotifyUrl } from '../refunds/routes';
import {
  MAX_REASON_LENGTH,
  OUT_REFUND_NO,
  newOutRefundNo,
  refundableFen,
  requestRefund,
  sendRefund,
  syncRefund,
  type SendRefundOutcome,
  type SettleRefundOutcome,
  type SyncRefundOutcome,
} from '../refunds/service';
import type { Translate } from '../i18n';
import type { CloseTradeOutcome } from '../pay/service';
import type { MarkPaidOutcome } from '../pay/settle';
import { closeAsAdmin, queryAtWechat, type CloseOutcome, type QueryOutcome } from './actions';
import { adminCredentials, checkCredentials, destroySession, regenerateSession, requireAdmin, safeNext, saveSession, type AdminNotice } from './auth';
import { UTF8_BOM, csvLine, writeChunk } from './csv';
import { beginLoginAttempt, failLoginAttempt, succeedLoginAttempt, sweepLoginAttempts } from './login-limit';
import {
  FLAG_FILTERS,
  TRADE_STATES,
  beijingDateOf,
  dashboard,
  encodeCursor,
  filterQueryString,
  isOutTradeNo,
  paylogBatches,
  paylogDetail,
  paylogPage,
  paylogTotals,
  parsePaylogQuery,
  type PaylogRow,
} from './paylog';
import { parseReconcileDate, reconcileDay } from './reconcile';
import { translateOperator, translateRemark } from './remarks';
import { ORDER_STATUSES, PAY_TYPES, listOrders, parseOrderFilter } from './orders';
import { COD_ACTIONS, changeCodOrder, type CodAction, type CodOutcome } from '../checkout/cod';

const COD_NOTICE_TONES: Record<CodOutcome, AdminNotice['tone']> = {
  done: 'ok',
  already: 'ok',
  unknown_order: 'error',
  not_cod: 'error',
  not_open: 'warn',
};

function codParams(req: Request): { orderId: number; action: CodAction } {
  const id = String(req.params.orderId ?? '');
  const action = String(req.params.action ?? '') as CodAction;
  if (!/^\d{1,15}$/.test(id) || !COD_ACTIONS.includes(action)) throw new NotFound('no such order action', 'admin.orders.notFound');
  return { orderId: Number(id), action };
}

/** The session cookie's name, as src/app.ts sets it (cleared at logout). */
const SESSION_COOKIE = SESSION_COOKIE_NAME;
const CSV_BATCH_SIZE = 1000;
const ADMIN_SESSION_MS = 12 * 3600 * 1000;

/** Refuses any query parameter not named (a typo must not silently show the wrong data). */
function onlyParams(req: Request, allowed: readonly string[]): void {
  for (const [name, value] of Object.entries(req.query)) {
    if (!allowed.includes(name) && name !== 'lang') throw new Invalid(`unexpected query parameter ${name}`, 'admin.error.badParam', { name });
    if (typeof value !== 'string') throw new Invalid(`repeated query parameter ${name}`, 'admin.error.badParam', { name });
  }
}

function formText(req: Request, name: string, max: number): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return '';
  if (typeof value !== 'string' || value.length > max) throw new Invalid(`bad form field ${name}`, 'admin.error.badField', { name });
  return value;
}

function outTradeNoParam(req: Request): string {
  const value = String(req.params.outTradeNo ?? '');
  if (!isOutTradeNo(value)) throw new NotFound('malformed out_trade_no', 'admin.error.noPaylog');
  return value;
}

function outRefundNoParam(req: Request): string {
  const value = String(req.params.outRefundNo ?? '');
  if (!OUT_REFUND_NO.test(value)) throw new NotFound('malformed out_refund_no', 'refund.error.notFound');
  return value;
}

function clientIp(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function takeNotice(req: Request): AdminNotice | undefined {
  const notice = req.session.adminNotice;
  if (notice) delete req.session.adminNotice;
  return notice;
}

function detailUrl(outTradeNo: string): string {
  return `/admin/paylog/${encodeURIComponent(outTradeNo)}`;
}

function confirmed(req: Request): boolean {
  return (req.body as Record<string, unknown> | undefined)?.confirm === 'yes';
}

/** One sentence per outcome; a Record, so a new outcome of the settlement fails to compile here. */
const QUERY_NOTICES: Record<MarkPaidOutcome | 'none', AdminNotice['tone']> = {
  none: 'ok',
  paid: 'ok',
  duplicate: 'ok',
  late_payment: 'warn',
  double_payment: 'warn',
  conflict: 'warn',
  amount_mismatch: 'warn',
  unknown_trade: 'error',
};

const CLOSE_NOTICES: Record<CloseTradeOutcome, AdminNotice['tone']> = {
  closed: 'ok',
  already_closed: 'ok',
  paid: 'warn',
  too_early: 'warn',
  paying: 'warn',
  unknown_trade: 'error',
};

const SYNC_NOTICES: Record<SettleRefundOutcome, AdminNotice['tone']> = {
  refunded: 'ok',
  fully_refunded: 'ok',
  closed: 'ok',
  duplicate: 'ok',
  changed: 'warn',
  conflict: 'warn',
  mismatch: 'warn',
  unknown_refund: 'error',
};

const TRADE_STATE_WORDS = new Set(['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR']);

/** WeChat's trade_state in the admin's words, its code beside them; a state we do not know as it came. */
function tradeStateText(state: string, t: Translate): string {
  return TRADE_STATE_WORDS.has(state) ? t('admin.wxstate', { text: t(`admin.remark.tradeState.${state}`), code: state }) : state;
}

/** time_end is Beijing time written yyyyMMddHHmmss */
function wxTimeText(timeEnd: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(timeEnd);
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}` : timeEnd;
}

/** What WeChat answered, in the admin's language (the field names stay beside their labels). */
function queryNotice(outcome: QueryOutcome, t: Translate): AdminNotice {
  if (outcome.kind === 'not_at_wechat') return { tone: 'warn', key: 'admin.notice.query.notAtWechat' };
  if (outcome.kind === 'failed') return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  const a = outcome.answer;
  const field = (name: string) => `${t(`admin.wxfield.${name}`)} (${name})`;
  const details: [string, string][] = [[field('trade_state'), tradeStateText(a.tradeState, t)]];
  if (a.tradeStateDesc) details.push([field('trade_state_desc'), a.tradeStateDesc]);
  if (a.transactionId) details.push([field('transaction_id'), a.transactionId]);
  if (a.totalFee !== undefined) details.push([field('total_fee'), formatFen(a.totalFee)]);
  if (a.timeEnd) details.push([field('time_end'), wxTimeText(a.timeEnd)]);
  const settled = outcome.settled ?? 'none';
  return { tone: QUERY_NOTICES[settled], key: `admin.notice.query.${settled}`, params: { state: settled === 'none' ? tradeStateText(a.tradeState, t) : a.tradeState }, details };
}

function closeNotice(outcome: CloseOutcome): AdminNotice {
  if (outcome.kind === 'failed') return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  return { tone: CLOSE_NOTICES[outcome.outcome], key: `admin.notice.close.${outcome.outcome}` };
}

function refundNotice(outcome: SendRefundOutcome, refundFee: number): AdminNotice {
  const amount = fenToYuanString(refundFee);
  switch (outcome.kind) {
    case 'accepted':
      return { tone: 'ok', key: outcome.status === 'SUCCESS' ? 'refund.notice.succeeded' : 'refund.notice.accepted', params: { amount } };
    case 'not_pending':
      return { tone: 'ok', key: 'refund.notice.notPending', params: { status: outcome.status } };
    case 'unknown':
      return { tone: 'error', key: 'refund.notice.unknown', params: { message: outcome.message } };
    case 'refused': {
      const known: Record<string, string> = {
        FREQUENCY_LIMITED: 'refund.notice.frequencyLimited',
        INVALID_REQ_TOO_MUCH: 'refund.notice.frequencyLimited',
        NOTENOUGH: 'refund.notice.notEnough',
        SYSTEMERROR: 'refund.notice.systemError',
        BIZERR_NEED_RETRY: 'refund.notice.systemError',
      };
      const key = known[outcome.errCode] ?? 'refund.notice.refused';
      return { tone: 'error', key, params: { code: outcome.errCode, message: outcome.message } };
    }
  }
}

function syncNotice(outcome: SyncRefundOutcome): AdminNotice {
  switch (outcome.kind) {
    case 'settled':
      return { tone: SYNC_NOTICES[outcome.outcome], key: `refund.notice.sync.${outcome.outcome}`, params: { status: outcome.status } };
    case 'processing':
      return { tone: 'ok', key: 'refund.notice.sync.processing', params: { status: outcome.status } };
    case 'not_at_wechat':
      return { tone: 'warn', key: 'refund.notice.sync.notAtWechat' };
    case 'failed':
      return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  }
}

function csvRow(row: PaylogRow, formatDateTime: (d: Date, withSeconds?: boolean) => string): string {
  return csvLine([
    row.out_trade_no,
    formatDateTime(row.create_time, true),
    row.pay_time ? formatDateTime(row.pay_time, true) : '',
    fenToYuanString(row.total_fee),
    fenToYuanString(row.refunded_fee),
    row.trade_state,
    row.transaction_id ?? '',
    row.pay_type,
    row.order_count,
    row.shopper_id,
    row.flag ?? '',
    row.body ?? '',
  ]);
}

/**
 * The merchant's admin, mounted at /admin after the session, body parser, locale and CSRF
 * middleware: login/logout, the dashboard, the paylog table and its CSV, one payment's detail
 * with its actions (query, close, refund, retry and sync a refund), and a day's reconciliation.
 * Every route but login and logout is behind requireAdmin.
 */
export function adminRoutes(deps: ResolvedDeps): Router {
  const router = Router();
  const knex = deps.db.knex;
  const client = deps.wxpay.client;
  const credentials = adminCredentials(deps.config.admin, deps.logger);
  const refundNotify = refundNotifyUrl(deps.wxpay.notifyUrl);

  // ---- access

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
    if (!(await checkCredentials(credentials, username, password))) {
      await failLoginAttempt(knex, ticket.id);
      req.log?.warn({ ip, username }, 'admin login failed');
      return renderLogin(res, 401, { next, username, error: 'admin.login.failed' });
    }
    await succeedLoginAttempt(knex, { id: ticket.id, ip, username });
    await sweepLoginAttempts(knex, now);
    // a fresh session id: one fixed before login (session fixation) is worth nothing after it
    const lang = req.session.lang;
    await regenerateSession(req);
    req.session.adminUser = credentials.user;
    // an admin session lasts a working day, not the shopper's week
    req.session.cookie.maxAge = ADMIN_SESSION_MS;
    if (lang) req.session.lang = lang;
    await saveSession(req);
    req.log?.info({ adminUser: credentials.user }, 'admin logged in');
    res.redirect(303, next);
  });

  router.post('/logout', async (req, res) => {
    if (req.session.adminUser) req.log?.info({ adminUser: req.session.adminUser }, 'admin logged out');
    await destroySession(req);
    res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' });
    res.redirect(303, '/admin/login');
  });

  router.use(requireAdmin);
  const operatorOf = (req: Request) => `admin:${req.session.adminUser ?? '?'}`;

  // ---- reading

  router.get('/', async (req, res) => {
    onlyParams(req, []);
    const now = deps.clock();
    const [stats, days] = await Promise.all([dashboard(knex, now), dailyStats(knex, now, 14)]);
    res.render('admin/dashboard', { nav: 'dashboard', stats, days });
  });

  // every order, its pay type and state; cash-on-delivery orders are settled here by hand
  router.get('/orders', async (req, res) => {
    onlyParams(req, ['pay_type', 'status', 'before']);
    const filter = parseOrderFilter(req.query as Record<string, unknown>);
    const page = await listOrders(knex, filter);
    res.render('admin/orders', { nav: 'orders', filter, page, statuses: ORDER_STATUSES, payTypes: PAY_TYPES, codAcceptHours: deps.config.codAcceptHours, notice: takeNotice(req) });
  });

  router.get('/orders/:orderId/:action', (req, res) => {
    onlyParams(req, []);
    const { orderId, action } = codParams(req);
    res.render('admin/confirm', {
      nav: 'orders',
      title: `admin.orders.action.${action}`,
      text: `admin.orders.confirm.${action}`,
      textParams: { id: orderId },
      action: `/admin/orders/${orderId}/${action}`,
      back: '/admin/orders?pay_type=cod',
      fields: {},
      danger: action === 'cancel',
    });
  });

  router.post('/orders/:orderId/:action', async (req, res) => {
    const { orderId, action } = codParams(req);
    if (!confirmed(req)) return res.redirect(303, `/admin/orders/${orderId}/${action}`);
    const outcome = await changeCodOrder(knex, { orderId, action, operator: operatorOf(req), now: deps.clock() });
    req.session.adminNotice = { tone: COD_NOTICE_TONES[outcome], key: `admin.orders.notice.${outcome}`, params: { id: orderId } };
    res.redirect(303, '/admin/orders?pay_type=cod');
  });

  router.get('/paylog', async (req, res) => {
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
      flags: FLAG_FILTERS,
      links: {
        first: query.after || query.before ? link({}) : undefined,
        newer: page.newer ? link({ before: encodeCursor(page.newer) }) : undefined,
        older: page.older ? link({ after: encodeCursor(page.older) }) : undefined,
        csv: `/admin/paylog.csv${filterQueryString(query.filter)}`,
      },
    });
  });

  router.get('/paylog.csv', async (req, res) => {
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
    const header = csvLine(
      ['outTradeNo', 'created', 'paid', 'amount', 'refunded', 'state', 'transactionId', 'payType', 'orders', 'shopper', 'flag', 'body'].map((k) => t(`admin.csv.${k}`)),
    );
    if (!(await writeChunk(res, UTF8_BOM + header))) return;
    for await (const rows of paylogBatches(knex, filter, CSV_BATCH_SIZE)) {
      if (!(await writeChunk(res, rows.map((row) => csvRow(row, formatDateTime)).join('')))) return; // the client went away
    }
    res.end();
  });

  router.get('/paylog/:outTradeNo', async (req, res) => {
    onlyParams(req, []);
    const outTradeNo = outTradeNoParam(req);
    const detail = await paylogDetail(knex, outTradeNo);
    const refundable = await refundableFen(knex, outTradeNo);
    res.render('admin/detail', { nav: 'paylog', ...detail, refundable, notice: takeNotice(req), translateRemark, translateOperator, orderStatuses: ORDER_STATUSES });
  });

  // ---- actions: a GET confirmation page, then a POST with CSRF and confirm=yes

  const confirmPage = (res: Response, data: { title: string; text: string; textParams?: Record<string, string | number>; action: string; back: string; fields?: Record<string, string>; danger?: boolean }) =>
    res.render('admin/confirm', { nav: 'paylog', textParams: {}, fields: {}, danger: false, ...data });

  router.get('/paylog/:outTradeNo/query', async (req, res) => {
    onlyParams(req, []);
    const outTradeNo = outTradeNoParam(req);
    await paylogDetail(knex, outTradeNo);
    confirmPage(res, { title: 'admin.action.query', text: 'admin.confirm.query', textParams: { outTradeNo }, action: `${detailUrl(outTradeNo)}/query`, back: detailUrl(outTradeNo) });
  });

  router.post('/paylog/:outTradeNo/query', async (req, res) => {
    const outTradeNo = outTradeNoParam(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/query`);
    const outcome = await queryAtWechat(knex, client, { outTradeNo, operator: operatorOf(req), now: deps.clock() });
    req.session.adminNotice = queryNotice(outcome, res.locals.t as Translate);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.get('/paylog/:outTradeNo/close', async (req, res) => {
    onlyParams(req, []);
    const outTradeNo = outTradeNoParam(req);
    await paylogDetail(knex, outTradeNo);
    confirmPage(res, { title: 'admin.action.close', text: 'admin.confirm.close', textParams: { outTradeNo }, action: `${detailUrl(outTradeNo)}/close`, back: detailUrl(outTradeNo), danger: true });
  });

  router.post('/paylog/:outTradeNo/close', async (req, res) => {
    const outTradeNo = outTradeNoParam(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/close`);
    const outcome = await closeAsAdmin(knex, client, { outTradeNo, operator: operatorOf(req), now: deps.clock() });
    req.session.adminNotice = closeNotice(outcome);
    res.redirect(303, detailUrl(outTradeNo));
  });

  // refund: a form (amount, reason; its out_refund_no made now), a confirmation, then the refund
  const renderRefundForm = async (
    res: Response,
    status: number,
    outTradeNo: string,
    data: { amount: string; reason: string; outRefundNo: string; errors: Record<string, string>; errorParams?: Record<string, string | number> },
  ) => {
    const detail = await paylogDetail(knex, outTradeNo);
    const refundable = await refundableFen(knex, outTradeNo);
    res.status(status).render('admin/refund', { nav: 'paylog', paylog: detail.paylog, refundable, maxReason: MAX_REASON_LENGTH, errorParams: {}, ...data });
  };

  router.get('/paylog/:outTradeNo/refund', async (req, res) => {
    onlyParams(req, []);
    const outTradeNo = outTradeNoParam(req);
    const { leftFen } = await refundableFen(knex, outTradeNo);
    await renderRefundForm(res, 200, outTradeNo, { amount: leftFen > 0 ? fenToYuanString(leftFen) : '', reason: '', outRefundNo: newOutRefundNo(deps.clock()), errors: {} });
  });

  router.post('/paylog/:outTradeNo/refund', async (req, res) => {
    const outTradeNo = outTradeNoParam(req);
    const amount = formText(req, 'amount', 32).trim();
    const reason = formText(req, 'reason', 400).trim();
    const outRefundNo = formText(req, 'out_refund_no', 64);
    if (!OUT_REFUND_NO.test(outRefundNo)) throw new Invalid('bad out_refund_no', 'refund.error.badToken');
    const errors: Record<string, string> = {};
    const refundFee = yuanStringToFen(amount);
    if (refundFee === undefined || refundFee <= 0) errors.amount = 'refund.error.badAmount';
    if ([...reason].length > MAX_REASON_LENGTH) errors.reason = 'refund.error.reasonTooLong';
    const { leftFen } = await refundableFen(knex, outTradeNo);
    if (!errors.amount && (refundFee as number) > leftFen) errors.amount = 'refund.error.exceeds';
    const form = { amount, reason, outRefundNo };
    if (Object.keys(errors).length > 0) {
      return renderRefundForm(res, errors.amount === 'refund.error.exceeds' ? 409 : 400, outTradeNo, { ...form, errors, errorParams: { left: fenToYuanString(leftFen), max: MAX_REASON_LENGTH } });
    }
    const fen = refundFee as number;
    if (!confirmed(req)) {
      return confirmPage(res, {
        title: 'admin.action.refund',
        text: 'refund.confirm',
        textParams: { amount: fenToYuanString(fen), outTradeNo, reason: reason || '-' },
        action: `${detailUrl(outTradeNo)}/refund`,
        back: detailUrl(outTradeNo),
        fields: { amount, reason, out_refund_no: outRefundNo },
        danger: true,
      });
    }
    const operator = operatorOf(req);
    try {
      await requestRefund(knex, { outTradeNo, outRefundNo, refundFee: fen, reason, operator, now: deps.clock() });
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
      const left = (await refundableFen(knex, outTradeNo)).leftFen;
      return renderRefundForm(res, 409, outTradeNo, { ...form, errors: { amount: err.messageKey }, errorParams: { ...err.params, left: fenToYuanString(left), max: MAX_REASON_LENGTH } });
    }
    const outcome = await sendRefund(knex, client, { outRefundNo, notifyUrl: refundNotify, operator, now: deps.clock });
    req.session.adminNotice = refundNotice(outcome, fen);
    res.redirect(303, detailUrl(outTradeNo));
  });

  const refundOf = async (req: Request) => {
    const outTradeNo = outTradeNoParam(req);
    const outRefundNo = outRefundNoParam(req);
    const refund = (await knex('refunds').where({ out_refund_no: outRefundNo, out_trade_no: outTradeNo }).first('refund_fee', 'status')) as
      | { refund_fee: number; status: string }
      | undefined;
    if (!refund) throw new NotFound(`no refund ${outRefundNo} of ${outTradeNo}`, 'refund.error.notFound');
    return { outTradeNo, outRefundNo, refund };
  };

  router.get('/paylog/:outTradeNo/refunds/:outRefundNo/:action', async (req, res) => {
    onlyParams(req, []);
    const action = req.params.action;
    if (action !== 'retry' && action !== 'sync') throw new NotFound('no such refund action');
    const { outTradeNo, outRefundNo, refund } = await refundOf(req);
    confirmPage(res, {
      title: `refund.action.${action}`,
      text: `refund.confirm.${action}`,
      textParams: { outRefundNo, amount: fenToYuanString(refund.refund_fee) },
      action: `${detailUrl(outTradeNo)}/refunds/${encodeURIComponent(outRefundNo)}/${action}`,
      back: detailUrl(outTradeNo),
      danger: action === 'retry',
    });
  });

  router.post('/paylog/:outTradeNo/refunds/:outRefundNo/retry', async (req, res) => {
    const { outTradeNo, outRefundNo, refund } = await refundOf(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/refunds/${encodeURIComponent(outRefundNo)}/retry`);
    const outcome = await sendRefund(knex, client, { outRefundNo, notifyUrl: refundNotify, operator: operatorOf(req), now: deps.clock });
    req.session.adminNotice = refundNotice(outcome, refund.refund_fee);
    res.redirect(303, detailUrl(outTradeNo));
  });

  router.post('/paylog/:outTradeNo/refunds/:outRefundNo/sync', async (req, res) => {
    const { outTradeNo, outRefundNo } = await refundOf(req);
    if (!confirmed(req)) return res.redirect(303, `${detailUrl(outTradeNo)}/refunds/${encodeURIComponent(outRefundNo)}/sync`);
    const outcome = await syncRefund(knex, client, { outRefundNo, operator: operatorOf(req), now: deps.clock });
    req.session.adminNotice = syncNotice(outcome);
    res.redirect(303, detailUrl(outTradeNo));
  });

  // ---- reconciliation (read-only: a GET)

  router.get('/reconcile', async (req, res) => {
    onlyParams(req, ['date']);
    const now = deps.clock();
    const today = beijingDateOf(now);
    // yesterday: the latest day whose bill can exist (WeChat serves it from 10:00 today)
    const yesterday = beijingDateOf(new Date(now.getTime() - 24 * 3600 * 1000));
    if (req.query.date === undefined) return res.render('admin/reconcile', { nav: 'reconcile', date: yesterday, today, result: undefined });
    const date = parseReconcileDate(req.query.date, now);
    const result = await reconcileDay(knex, client, date, now);
    res.status(result.kind === 'failed' ? 502 : 200).render('admin/reconcile', { nav: 'reconcile', date, today, result });
  });

  return router;
}
