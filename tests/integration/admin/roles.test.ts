import { ROLES, memberCan, type Permission, type Role } from '../../../src/admin/roles';
import { translator } from '../../../src/i18n';
import type { TestShop } from '../../helpers/app';
import type { Admin} from './helpers';
import { adminShop, paidTrade, unpaidTrade, waitFor } from './helpers';
import { MEMBERS, accountCsrf, addMember, memberLoggedIn, patternOf, targetsOf, teamSnapshot } from './team-helpers';

/**
 * Issue 25, "each route and each button checks the role": the admin router walked as the shop
 * builds it, every /admin route's guard read from the router and held against the table below
 * (a route without a guard, or with another permission than the table's, fails here), then every
 * role asks every route over real HTTP: what it may do is not refused, what it may not do answers
 * 403 with a message and changes nothing, and no page it can see shows a link or a button to
 * what it may not do.
 */

type Need = Permission | 'signed_in';

/** Every admin route and what it needs: written by hand, so that a guard changed by mistake fails. */
const TABLE: Record<string, Need> = {
  'GET /admin/': 'view',
  'GET /admin/paylog': 'view',
  'GET /admin/paylog.csv': 'export',
  'GET /admin/paylog/:outTradeNo': 'view',
  'POST /admin/paylog/:outTradeNo/flag': 'flags',
  'POST /admin/paylog/:outTradeNo/refunds/:outRefundNo/flag': 'flags',
  'GET /admin/paylog/:outTradeNo/query': 'payments',
  'POST /admin/paylog/:outTradeNo/query': 'payments',
  'GET /admin/paylog/:outTradeNo/close': 'payments',
  'POST /admin/paylog/:outTradeNo/close': 'payments',
  'GET /admin/reconcile': 'reconcile',
  'GET /admin/paylog/:outTradeNo/refund': 'refund',
  'POST /admin/paylog/:outTradeNo/refund': 'refund',
  'GET /admin/paylog/:outTradeNo/refunds/:outRefundNo/:action': 'refund',
  'POST /admin/paylog/:outTradeNo/refunds/:outRefundNo/retry': 'refund',
  'POST /admin/paylog/:outTradeNo/refunds/:outRefundNo/sync': 'refund',
  'POST /admin/paylog/:outTradeNo/refunds/:outRefundNo/abandon': 'refund',
  'GET /admin/shipping': 'view',
  'GET /admin/shipping.csv': 'orders',
  'GET /admin/shipping/batch': 'orders',
  'POST /admin/shipping/batch': 'orders',
  'POST /admin/shipping/batch/apply': 'orders',
  'GET /admin/orders/:orderId': 'view',
  'POST /admin/orders/:orderId/ship': 'orders',
  'POST /admin/orders/:orderId/tracking': 'orders',
  'GET /admin/alerts': 'view',
  'POST /admin/alerts/:outboxId/:channel/resend': 'orders',
  'GET /admin/aftersales': 'view',
  'POST /admin/aftersales/:aftersaleId/:decision': 'orders',
  'GET /admin/orders': 'view',
  'GET /admin/orders/:orderId/:action': 'orders',
  'POST /admin/orders/:orderId/:action': 'orders',
  'GET /admin/staff': 'staff',
  'POST /admin/staff': 'staff',
  'POST /admin/staff/:username': 'staff',
  'GET /admin/staff/:username/remove': 'staff',
  'POST /admin/staff/:username/remove': 'staff',
  'GET /admin/account': 'signed_in',
  'POST /admin/account/password': 'signed_in',
  'GET /admin/audit': 'audit',
  'GET /admin/audit.csv': 'audit',
  'GET /admin/products.csv': 'catalog',
  'GET /admin/products/import': 'catalog',
  'POST /admin/products/import': 'catalog',
  'POST /admin/products/import/preview': 'catalog',
  'GET /admin/products/import/:id': 'catalog',
  'POST /admin/products/import/:id/apply': 'catalog',
  'GET /admin/products': 'catalog',
  'GET /admin/products/new': 'catalog',
  'POST /admin/products': 'catalog',
  'GET /admin/products/:id': 'catalog',
  'POST /admin/products/:id': 'catalog',
  'POST /admin/products/:id/status': 'catalog',
  'POST /admin/products/:id/variants/:variantId/count': 'catalog',
  'POST /admin/products/:id/image': 'catalog',
  'POST /admin/categories': 'catalog',
  'GET /admin/settings': 'settings',
  'POST /admin/settings': 'settings',
};

/** Not behind a guard: the door itself. */
const OPEN = new Set(['GET /admin/login', 'POST /admin/login', 'POST /admin/logout']);

/** The simulator's fault panel and fault API: the shop's settings, the owner's (asked over HTTP below). */
const FAULT_ROUTES: [string, string, Need][] = [
  ['GET', '/wxsim/panel', 'settings'],
  ['GET', '/wxsim/faults', 'settings'],
  ['POST', '/wxsim/faults', 'settings'],
];

interface Walked {
  key: string;
  method: string;
  path: string;
  need: Need | undefined;
  /** why the route has no guard where one must be */
  problem?: string;
}

type GuardLike = { permission?: Need; name?: string };
/** What the walk reads of Express 5's router layers (router@2: rawPath, route, handle.stack). */
interface Layer {
  rawPath?: unknown;
  route?: { path: string | string[]; methods: Record<string, boolean>; stack: { handle: GuardLike }[] };
  handle: { stack?: Layer[] };
}

/**
 * Every route of the app under /admin, in the order Express tries them, with the guard it has: in
 * the admin router, its first handler; on the app (the upload parsers in front of the admin
 * router), requireAdmin and then the guard.
 */
function walkAdminRoutes(app: { router: { stack: Layer[] } }): Walked[] {
  const found: Walked[] = [];
  const visit = (stack: Layer[], prefix: string, inAdmin: boolean) => {
    for (const layer of stack) {
      const raw = layer.rawPath;
      const route = layer.route;
      if (route) {
        const handlers = route.stack.map((l) => l.handle);
        for (const path of ([] as string[]).concat(route.path).map((p) => `${prefix}${p}`)) {
          if (!path.startsWith('/admin')) continue;
          for (const method of Object.keys(route.methods).map((m) => m.toUpperCase())) {
            const key = `${method} ${path}`;
            if (OPEN.has(key)) continue;
            if (inAdmin) {
              const need = handlers[0]?.permission;
              found.push({ key, method, path, need, problem: need === undefined ? `first handler ${handlers[0]?.name ?? '?'} is not a guard` : undefined });
            } else {
              // requireAdmin, the audit log, then the guard
              const guard = handlers[1]?.name === 'auditActions' ? handlers[2] : undefined;
              const need = handlers[0]?.name === 'requireAdmin' ? guard?.permission : undefined;
              found.push({ key, method, path, need, problem: need === undefined ? 'not requireAdmin, auditActions, then a guard' : undefined });
            }
          }
        }
      } else if (layer.handle.stack) {
        const mount = typeof raw === 'string' && raw !== '/' ? raw : '';
        visit(layer.handle.stack, prefix + mount, inAdmin || mount === '/admin');
      }
    }
  };
  visit(app.router.stack, '', false);
  return found;
}

const zh = translator('zh');

describe('roles: every admin route names its permission, and every role gets what its role says', () => {
  let shop: TestShop;
  let walked: Walked[];
  let paid: string;
  let stale: string;
  let orderId: number;
  let productId: number;
  let variantId: number;
  const outRefundNo = 'R20261210000000000000000001';
  const agents = {} as Record<Role, Admin>;
  const mchId = () => shop.app.locals.deps.config.wxpay.mchId as string;

  beforeAll(async () => {
    shop = await adminShop();
    walked = walkAdminRoutes(shop.app as unknown as { router: { stack: Layer[] } });
    const knex = shop.db.knex;
    ({ outTradeNo: paid } = await paidTrade(shop));
    stale = await unpaidTrade(shop);
    orderId = Number(((await knex('paylog_orders').where({ out_trade_no: paid }).first('order_id')) as { order_id: number }).order_id);
    const variant = (await knex('product_variants').orderBy('id').first('id', 'product_id')) as { id: number; product_id: number };
    [variantId, productId] = [Number(variant.id), Number(variant.product_id)];
    // a refund waiting to be sent (its retry, sync and abandon buttons), and an alert that failed (its resend button)
    await knex('refunds').insert({ out_refund_no: outRefundNo, out_trade_no: paid, refund_fee: 1, status: 'PENDING', operator: 'admin:boss', flag: 'succeeded_after_close' });
    const [outbox] = (await knex('outbox').insert({ type: 'reconcile.mismatch', order_ids: [], data: JSON.stringify({ date: '2026-12-01', differences: 1, kinds: { missing_here: 1 } }), created_at: new Date(), fanned_out_at: new Date() }).returning('id')) as { id: number }[];
    await knex('outbox_deliveries').insert({ outbox_id: outbox?.id, channel: 'webhook', status: 'pending', attempts: 2, next_attempt_at: new Date(Date.now() + 3600_000), last_error: 'HTTP 502', created_at: new Date() });
    for (const role of ROLES) if (role !== 'owner') await addMember(knex, MEMBERS[role], role);
    for (const role of ROLES) agents[role] = await memberLoggedIn(shop, MEMBERS[role]);
  });
  afterAll(async () => {
    await shop.close();
  });

  test('every /admin route but the login and logout has a guard first (requireAdmin and the audit log first for the upload parsers)', () => {
    expect(walked.length).toBeGreaterThan(40);
    expect(walked.filter((w) => w.problem !== undefined).map((w) => `${w.key}: ${w.problem}`)).toEqual([]);
  });

  test('the router asks for what the table says, route by route, and the table names no route the router lacks', () => {
    const fromRouter: Record<string, Need | undefined> = {};
    const conflicts: string[] = [];
    for (const w of walked) {
      if (w.key in fromRouter && fromRouter[w.key] !== w.need) conflicts.push(`${w.key}: ${fromRouter[w.key]} and ${w.need}`);
      fromRouter[w.key] = w.need;
    }
    expect(conflicts).toEqual([]);
    expect(fromRouter).toEqual(TABLE);
  });

  /** A request for each route that changes nothing when allowed (no confirm, no file, empty fields). */
  const concrete = (key: string): { method: string; path: string; body?: Record<string, string>; json?: boolean } => {
    const [method = 'GET', pattern = ''] = key.split(' ');
    const ids: Record<string, string> = {
      outTradeNo: key.includes('/close') ? stale : paid,
      outRefundNo,
      action: key.startsWith('GET /admin/paylog') ? 'retry' : 'accept',
      orderId: String(orderId),
      outboxId: '999999999',
      channel: 'webhook',
      username: 'nobody-here',
      id: key.includes('/import/') ? 'not-an-import' : String(productId),
      variantId: String(variantId),
    };
    const path = pattern.replace(/:([A-Za-z]+)/g, (_m, name: string) => ids[name] ?? 'x');
    return { method, path };
  };

  const ask = async (admin: Admin, csrf: string, method: string, path: string) => {
    if (method === 'GET') return admin.agent.get(path).set('Accept', 'text/html');
    if (path === '/wxsim/faults') return admin.agent.post(path).send({ mch_id: mchId(), kind: 'notify_drop', count: 1 });
    return admin.agent.post(path).type('form').send({ _csrf: csrf });
  };

  const allowedTo = (role: Role, need: Need) => need === 'signed_in' || memberCan({ role, refund_limit_fen: 0 }, need);

  test.each(ROLES.filter((r) => r !== 'owner'))('%s: every route it may not use answers 403 with a message, and nothing changes', async (role) => {
    const admin = agents[role];
    const csrf = await accountCsrf(admin);
    const refused = [...Object.entries(TABLE).map(([key, need]) => [concrete(key), need] as const), ...FAULT_ROUTES.map(([method, path, need]) => [{ method, path }, need] as const)].filter(([, need]) => !allowedTo(role, need));
    expect(refused.length).toBeGreaterThan(0);
    const before = await teamSnapshot(shop.db.knex);
    for (const [{ method, path }] of refused) {
      const res = await ask(admin, csrf, method, path);
      expect([method, path, res.status]).toEqual([method, path, 403]);
      expect([path, res.text]).toEqual([path, expect.stringContaining(zh('admin.error.forbidden'))]);
    }
    expect(await teamSnapshot(shop.db.knex)).toEqual(before);
    expect((await shop.db.knex('outbox_deliveries').where({ last_error: 'HTTP 502' }).first('status', 'attempts')) as unknown).toEqual({ status: 'pending', attempts: 2 });
    // each refused action is in the audit log, as the member's (written once the answer is sent)
    const actions = refused.filter(([r]) => r.method === 'POST' && r.path.startsWith('/admin')).length;
    const audited = async () => Number(((await shop.db.knex('admin_audit').where({ actor: MEMBERS[role], status: 403 }).count({ n: '*' }))[0] as { n: string | number }).n);
    await waitFor('the refusals in the audit log', async () => (await audited()) >= actions);
    expect(await audited()).toBe(actions);
    // with what each was on: the refund refused names its payment
    const refund = await shop.db.knex('admin_audit').where({ actor: MEMBERS[role], status: 403, action: 'POST /paylog/:outTradeNo/refund' }).first('subject', 'role');
    if (!allowedTo(role, 'refund')) expect(refund).toEqual({ subject: `outTradeNo=${paid}`, role });
  });

  test.each([...ROLES])('%s: every route it may use is not refused', async (role) => {
    const admin = agents[role];
    const csrf = await accountCsrf(admin);
    const allowed = [...Object.entries(TABLE).map(([key, need]) => [concrete(key), need] as const), ...FAULT_ROUTES.map(([method, path, need]) => [{ method, path }, need] as const)].filter(([, need]) => allowedTo(role, need));
    for (const [{ method, path }] of allowed) {
      const res = await ask(admin, csrf, method, path);
      // allowed: whatever the route says of these (empty) requests, never 403, nor a login wanted
      expect([method, path, [401, 403].includes(res.status)]).toEqual([method, path, false]);
      if (res.status === 201 && path === '/wxsim/faults') await admin.agent.delete(`/wxsim/faults/${(res.body as { fault: { id: number } }).fault.id}`).expect(204);
    }
  });

  test.each([...ROLES])('%s: no page it can see links or posts to what it may not do', async (role) => {
    const admin = agents[role];
    const pages = Object.entries(TABLE)
      .filter(([key, need]) => key.startsWith('GET ') && !key.includes('.csv') && allowedTo(role, need))
      .map(([key]) => concrete(key).path);
    // router order: the first route a path matches is the one that answers it
    const routes = [...walked.map((w) => [w.method, w.path, w.need] as [string, string, Need | undefined]), ...FAULT_ROUTES];
    const seen = new Set<string>();
    for (const page of pages) {
      const res = await admin.agent.get(page);
      if (res.status !== 200) continue;
      for (const [method, target] of targetsOf(res.text)) {
        const route = routes.find(([m, p]) => m === method && patternOf(p).test(target));
        if (!route) continue;
        seen.add(`${method} ${route[1]}`);
        expect([role, page, method, target, allowedTo(role, route[2] ?? 'settings')]).toEqual([role, page, method, target, true]);
      }
    }
    // the pages do offer these actions to whom they belong (so this test sees the buttons it looks for)
    const offered: Record<Role, string[]> = {
      owner: ['GET /admin/paylog/:outTradeNo/refund', 'POST /admin/orders/:orderId/ship', 'POST /admin/alerts/:outboxId/:channel/resend', 'GET /admin/shipping/batch', 'GET /admin/staff', 'GET /admin/audit', 'GET /admin/settings'],
      operations: ['POST /admin/orders/:orderId/ship', 'POST /admin/alerts/:outboxId/:channel/resend', 'GET /admin/shipping/batch', 'GET /admin/products'],
      finance: ['GET /admin/paylog/:outTradeNo/refund', 'GET /admin/reconcile', 'GET /admin/paylog.csv'],
      readonly: ['GET /admin/paylog', 'GET /admin/orders/:orderId'],
    };
    for (const key of offered[role]) expect([role, key, seen.has(key)]).toEqual([role, key, true]);
  });
});
