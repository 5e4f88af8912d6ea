import path from 'node:path';
import ejs from 'ejs';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { MAX_XML_BYTES, WX_PATHS, fenToYuan, formatBeijingForPeople } from '../wechatpay';
import { ENVELOPE_MSG, handleApiCall, returnFailAnswer, type WireAnswer } from './api';
import { API_NAMES, type ApiName, type SimContext } from './context';
import { FAULT_KINDS, FaultInputError, addFault, deleteFault, listFaults, parseFaultInput, type FaultKind } from './faults';
import { jsBridgeScript } from './jsbridge';
import { authorize, cashierReturnUrl, exchangeCode, isUserKey, newUserKey, openCashier, payAtCashier, payByBridge } from './mobile';
import { cancelByCode, payByCode, scanCode, type PhoneView } from './phone';

/** The simulated WeChat user of this browser (see mobile.ts). */
const USER_COOKIE = 'wxsim_user';

function userKeyOf(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === USER_COOKIE) {
      const key = value.join('=');
      return isUserKey(key) ? key : undefined;
    }
  }
  return undefined;
}

/** The payer's address as the simulator sees it (WeChat's cashier compares it with spbill_create_ip). */
function payerIp(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip === '::1' ? '127.0.0.1' : ip;
}

const ROOT = path.resolve(__dirname, '..', '..');
const VIEWS = path.join(ROOT, 'views', 'simulator');
const STYLESHEET = path.join(ROOT, 'public', 'css', 'simulator.css');

const API_PATHS: Readonly<Record<ApiName, string>> = {
  unifiedorder: WX_PATHS.unifiedOrder,
  orderquery: WX_PATHS.orderQuery,
  closeorder: WX_PATHS.closeOrder,
  refund: WX_PATHS.refund,
  refundquery: WX_PATHS.refundQuery,
  downloadbill: WX_PATHS.downloadBill,
};
const API_PATH_SET = new Set(Object.values(API_PATHS));

/** The phone's pages allow nothing but their own stylesheet and their own forms. */
const PHONE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The simulator's own address as this request reached it (http://host:port/wxsim). */
export function selfBase(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

function sendAnswer(res: Response, answer: WireAnswer): void {
  res.status(answer.status).type(answer.contentType).send(answer.body);
}

/**
 * A POST that a page of another site made the browser send. Browsers say so in Sec-Fetch-Site;
 * older ones are judged by Origin against Host. Programs (tests, curl) send neither and pass: the
 * phone's forms also carry a per-trade token that another site cannot read.
 */
export function isCrossSite(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.get('origin');
  if (origin === undefined) return false;
  if (origin === 'null') return true;
  try {
    const host = req.get('x-forwarded-host') ?? req.get('host');
    return new URL(origin).host !== host;
  } catch {
    return true;
  }
}

async function render(res: Response, status: number, view: string, data: Record<string, unknown>, csp = PHONE_CSP): Promise<void> {
  const html = await ejs.renderFile(path.join(VIEWS, `${view}.ejs`), { base: res.req.baseUrl, ...data });
  res.status(status).set('Content-Security-Policy', csp).set('Cache-Control', 'no-store').type('html').send(html);
}

function phoneData(view: PhoneView): Record<string, unknown> {
  return {
    view,
    amountYuan: fenToYuan(view.totalFee),
    timeEnd: view.timeEnd ? formatBeijingForPeople(view.timeEnd) : undefined,
    timeEndIso: view.timeEnd ? view.timeEnd.toISOString() : undefined,
  };
}

function formString(body: unknown, name: string): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

/** What each fault does, in a line, for the fault panel. */
const FAULT_TEXT: Readonly<Record<FaultKind, string>> = {
  systemerror: 'API 返回 SYSTEMERROR · a call answers SYSTEMERROR',
  notify_duplicate: '支付通知一次发多份 · a notify attempt sent several times at once',
  notify_delay: '支付通知延迟 · the first notify attempt waits delay_seconds',
  notify_drop: '支付通知丢失 · a payment notify is never sent',
  notify_bad_signature: '支付通知签名错误 · a notify attempt with a bad signature',
  orderquery_userpaying: '查单返回 USERPAYING · orderquery says the payer is paying',
  orderquery_payerror: '查单返回 PAYERROR · orderquery says the payment failed',
  pay_after_expire: '过期或关单后仍可支付 · the phone pays after time_expire or a close',
  refund_change: '退款异常 CHANGE · a refund ends CHANGE',
  refund_close: '退款关闭 REFUNDCLOSE · a refund ends REFUNDCLOSE',
  refund_slow: '退款很慢 · a refund stays PROCESSING delay_seconds',
  refund_notenough: '余额不足 NOTENOUGH · a refund is refused for the balance',
  notify_sign_type: '通知带 sign_type · a payment notify carries sign_type',
  refund_unknown_error: '退款已受理却报未知错误 · a refund is made but answered with an unknown error code',
};

/** Requests from this very machine. */
function fromLoopback(req: Request): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * The fault panel's default door: only requests from this machine. Fail closed: the shop replaces
 * it with its admin login (main.ts); the simulator on its own has no users, so loopback it is.
 */
export const loopbackOnly: RequestHandler = (req, res, next) => {
  if (fromLoopback(req)) return next();
  res.set('Cache-Control', 'no-store');
  res.status(403).json({ error: 'the simulator\'s faults answer only requests from this machine (127.0.0.1)' });
};

export interface SimulatorRouteOptions {
  /** stands before the fault panel and the fault API (GET/POST/DELETE /faults): who may inject faults */
  faultsGuard?: RequestHandler;
  /** hosts the web authorization may send back to besides the one it is asked on (the shop's own) */
  oauthHosts?: readonly string[];
}

/**
 * The simulator's HTTP doors: WeChat's v2 API paths, the phone pages, and the fault panel and
 * control API (behind `faultsGuard`). It brings its own body parsers and needs no session, CSRF or
 * i18n middleware of the shop.
 */
export function simulatorRoutes(ctx: SimContext, options: SimulatorRouteOptions = {}): express.Router {
  const router = express.Router();
  const faultsGuard = options.faultsGuard ?? loopbackOnly;
  // WeChat reads the body whatever its content type says
  const rawBody = express.raw({ type: () => true, limit: MAX_XML_BYTES });
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });
  const json = express.json({ limit: '8kb' });

  for (const [api, apiPath] of Object.entries(API_PATHS) as [ApiName, string][]) {
    router.post(apiPath, rawBody, async (req, res) => sendAnswer(res, await handleApiCall(ctx, api, req.body, { base: selfBase(req) })));
    router.all(apiPath, (_req, res) => sendAnswer(res, returnFailAnswer(ENVELOPE_MSG.requirePost)));
  }

  // ---- the phone
  router.get('/phone.css', (_req, res) => res.type('css').sendFile(STYLESHEET));

  router.get('/', async (_req, res) => render(res, 200, 'home', {}));

  router.get('/scan', async (req, res) => {
    const codeUrl = typeof req.query.code_url === 'string' ? req.query.code_url : '';
    const view = await scanCode(ctx, codeUrl);
    if (!view) return render(res, 404, 'message', { title: '二维码无效 Unknown code', message: '这不是一个有效的微信支付二维码。 This is not a WeChat Pay code this simulator issued.', tone: 'error' });
    return render(res, 200, 'scan', phoneData(view));
  });

  const phoneAction = (action: 'pay' | 'cancel') => async (req: Request, res: Response) => {
    if (isCrossSite(req)) return render(res, 403, 'message', { title: '请求被拒绝 Refused', message: '跨站请求被拒绝。 A request from another site was refused.', tone: 'error' });
    const codeUrl = formString(req.body, 'code_url');
    const token = formString(req.body, 'token');
    const outcome = action === 'pay' ? await payByCode(ctx, codeUrl, token) : await cancelByCode(ctx, codeUrl, token);
    switch (outcome.kind) {
      case 'not_found':
        return render(res, 404, 'message', { title: '二维码无效 Unknown code', message: '这不是一个有效的微信支付二维码。 This is not a WeChat Pay code this simulator issued.', tone: 'error' });
      case 'forbidden':
        return render(res, 403, 'message', { title: '请求被拒绝 Refused', message: '页面已失效，请重新扫码。 This page is stale: scan the code again.', tone: 'error' });
      case 'paid':
        return render(res, 200, 'paid', phoneData(outcome.view));
      case 'cancelled':
        return render(res, 200, 'message', { title: '已取消支付 Payment cancelled', message: '您已取消支付，订单仍未支付。 You backed out; the order is still unpaid.', tone: 'neutral' });
      case 'refused':
        return render(res, 409, 'scan', phoneData(outcome.view));
    }
  };
  router.post('/scan/pay', form, phoneAction('pay'));
  router.post('/scan/cancel', form, phoneAction('cancel'));

  // ---- the Official Account's web authorization (WeChat: open.weixin.qq.com and api.weixin.qq.com)
  router.get('/connect/oauth2/authorize', async (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');
    let userKey = userKeyOf(req);
    if (!userKey) {
      userKey = newUserKey();
      res.cookie(USER_COOKIE, userKey, { httpOnly: true, sameSite: 'lax', path: req.baseUrl || '/', maxAge: 365 * 24 * 3600 * 1000 });
    }
    const outcome = await authorize(ctx, {
      appid: q('appid'),
      redirectUri: q('redirect_uri'),
      responseType: q('response_type'),
      scope: q('scope'),
      state: q('state'),
      userKey,
      requestHost: req.get('host') ?? '',
      allowedHosts: options.oauthHosts ?? [],
    });
    if (outcome.kind === 'refused') return render(res, 400, 'message', { title: '授权失败 Authorization refused', message: outcome.message, tone: 'error' });
    res.set('Cache-Control', 'no-store').redirect(302, outcome.url);
  });

  router.get('/sns/oauth2/access_token', async (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');
    res.set('Cache-Control', 'no-store').json(await exchangeCode(ctx, { appid: q('appid'), secret: q('secret'), code: q('code'), grantType: q('grant_type') }));
  });

  // ---- the H5 cashier behind mweb_url (WeChat: wx.tenpay.com)
  const cashierPage = async (res: Response, view: PhoneView, data: { prepayId: string; pkg: string; redirectUrl: string | undefined }) => {
    // its forms post here; after them the browser goes back to the shop (form-action must allow it)
    const back = data.redirectUrl ? new URL(data.redirectUrl).origin : undefined;
    await render(res, 200, 'h5pay', { ...phoneData(view), ...data }, back ? PHONE_CSP.replace("form-action 'self'", `form-action 'self' ${back}`) : PHONE_CSP);
  };
  router.get('/h5pay/checkmweb', async (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');
    const data = { prepayId: q('prepay_id'), pkg: q('package'), redirectUrl: q('redirect_url') || undefined };
    const outcome = await openCashier(ctx, { ...data, referer: req.get('referer'), clientIp: payerIp(req), redirectUrl: data.redirectUrl });
    if (outcome.kind === 'refused') return render(res, outcome.status, 'message', { title: '无法支付 Cannot pay', message: outcome.message, tone: 'error' });
    return cashierPage(res, outcome.view, data);
  });
  /** back to the shop, to the trade's own domain only (never wherever a form says) */
  const backTo = async (req: Request, res: Response, fallback: () => Promise<void>) => {
    const url = await cashierReturnUrl(ctx, { prepayId: formString(req.body, 'prepay_id'), pkg: formString(req.body, 'package'), redirectUrl: formString(req.body, 'redirect_url') });
    return url ? res.redirect(302, url) : fallback();
  };
  const refusedCrossSite = (res: Response) => render(res, 403, 'message', { title: '请求被拒绝 Refused', message: '跨站请求被拒绝。 A request from another site was refused.', tone: 'error' });
  router.post('/h5pay/pay', form, async (req, res) => {
    if (isCrossSite(req)) return refusedCrossSite(res);
    const outcome = await payAtCashier(ctx, { prepayId: formString(req.body, 'prepay_id'), pkg: formString(req.body, 'package'), token: formString(req.body, 'token'), clientIp: payerIp(req) });
    if (outcome.kind === 'paid') return backTo(req, res, () => render(res, 200, 'paid', phoneData(outcome.view)));
    if (outcome.kind === 'refused') return render(res, 409, 'message', { title: '无法支付 Cannot pay', message: '订单已支付、关闭或过期。 This order is paid, closed or expired.', tone: 'error' });
    return render(res, outcome.kind === 'forbidden' ? 403 : 404, 'message', { title: '无法支付 Cannot pay', message: outcome.kind === 'forbidden' ? '网络环境未能通过安全验证，请稍后再试' : '订单不存在或已失效', tone: 'error' });
  });
  router.post('/h5pay/cancel', form, async (req, res) => {
    if (isCrossSite(req)) return refusedCrossSite(res);
    return backTo(req, res, () => render(res, 200, 'message', { title: '已取消支付 Payment cancelled', message: '您已取消支付，订单仍未支付。 You backed out; the order is still unpaid.', tone: 'neutral' }));
  });

  // ---- WeixinJSBridge (WeChat's browser), for tests and demos
  router.get('/jsbridge.js', (req, res) => {
    res.set('Cache-Control', 'no-store').type('application/javascript').send(jsBridgeScript(selfBase(req)));
  });
  router.post('/jsapi/pay', json, async (req, res) => {
    if (isCrossSite(req)) return void res.status(403).json({ err_msg: 'get_brand_wcpay_request:fail', err_desc: 'cross-site request refused' });
    const params = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
    res.set('Cache-Control', 'no-store').json(await payByBridge(ctx, params, userKeyOf(req)));
  });

  // ---- fault panel (HTML) and control API (JSON or form), behind the guard
  router.use(['/faults', '/panel'], faultsGuard);

  const panel = async (res: Response, status: number, message?: { tone: 'ok' | 'error'; text: string }) => {
    const merchants = (await ctx.knex('sim_merchants').orderBy('mch_id').select('mch_id', 'name')) as { mch_id: string; name: string }[];
    await render(res, status, 'panel', {
      message,
      merchants: merchants.map((m) => ({ mchId: m.mch_id, name: m.name })),
      kinds: FAULT_KINDS.map((kind) => ({ kind, text: FAULT_TEXT[kind] })),
      apis: API_NAMES,
      faults: (await listFaults(ctx.knex)).reverse(),
    });
  };
  const fromPanel = (req: Request) => formString(req.body, 'from') === 'panel';

  router.get('/panel', async (_req, res) => panel(res, 200));
  router.get('/faults', async (_req, res) => {
    res.json({ faults: await listFaults(ctx.knex) });
  });
  router.post('/faults', json, form, async (req, res) => {
    if (isCrossSite(req)) return void res.status(403).json({ error: 'cross-site request refused' });
    if (fromPanel(req)) {
      try {
        const fault = await addFault(ctx.knex, ctx.clock(), parseFaultInput(req.body ?? {}));
        return panel(res, 201, { tone: 'ok', text: `已添加故障 #${fault.id} · fault #${fault.id} added: ${fault.kind}` });
      } catch (err) {
        if (!(err instanceof FaultInputError)) throw err;
        return panel(res, 400, { tone: 'error', text: err.message });
      }
    }
    const fault = await addFault(ctx.knex, ctx.clock(), parseFaultInput(req.body ?? {}));
    res.status(201).json({ fault });
  });
  const faultId = (req: Request) => {
    const raw = String(req.params.id ?? '');
    return /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  };
  router.delete('/faults/:id', async (req, res) => {
    if (isCrossSite(req)) return void res.status(403).json({ error: 'cross-site request refused' });
    const id = faultId(req);
    if (!Number.isSafeInteger(id) || !(await deleteFault(ctx.knex, id))) return void res.status(404).json({ error: 'no such fault' });
    res.status(204).end();
  });
  // an HTML form cannot send DELETE: the panel's Delete buttons post here
  router.post('/faults/:id/delete', form, async (req, res) => {
    if (isCrossSite(req)) return void res.status(403).json({ error: 'cross-site request refused' });
    const id = faultId(req);
    const deleted = Number.isSafeInteger(id) && (await deleteFault(ctx.knex, id));
    return panel(res, deleted ? 200 : 404, deleted ? { tone: 'ok', text: `已删除故障 #${id} · fault #${id} deleted` } : { tone: 'error', text: '没有这个故障 · no such fault' });
  });

  router.use(async (req: Request, res: Response) => {
    if (req.path.startsWith('/faults')) return void res.status(404).json({ error: 'not found' });
    return render(res, 404, 'message', { title: '找不到页面 Not found', message: '模拟器没有这个页面。 The simulator has no such page.', tone: 'error' });
  });

  router.use(async (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: number; type?: string }).status;
    const clientError = typeof status === 'number' && status >= 400 && status < 500;
    if (API_PATH_SET.has(req.path)) {
      if (clientError) return sendAnswer(res, returnFailAnswer(ENVELOPE_MSG.badXml));
      ctx.logger.error({ err, path: req.path }, 'simulator API call failed');
      return sendAnswer(res, returnFailAnswer(ENVELOPE_MSG.systemError, 500));
    }
    if (err instanceof FaultInputError) return void res.status(400).json({ error: err.message });
    if (req.path.startsWith('/faults')) {
      if (clientError) return void res.status(status as number).json({ error: 'bad request body' });
      ctx.logger.error({ err, path: req.path }, 'simulator fault API failed');
      return void res.status(500).json({ error: 'internal error' });
    }
    if (!clientError) ctx.logger.error({ err, path: req.path }, 'simulator page failed');
    try {
      return await render(res, clientError ? (status as number) : 500, 'message', {
        title: clientError ? '请求有误 Bad request' : '系统错误 Error',
        message: clientError ? '请求无法处理。 The request could not be read.' : '模拟器出错了。 The simulator failed; see its log.',
        tone: 'error',
      });
    } catch {
      res.status(500).type('text').send('simulator error');
    }
  });

  return router;
}
