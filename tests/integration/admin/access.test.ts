import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../../src/app';
import { manualClock, startSecondInstance, type ManualClock, type TestShop } from '../../helpers/app';
import { Shopper } from '../../helpers/shopper';
import { ADMIN_PASSWORD, ADMIN_USER, Admin, adminShop, csrfOf, insertPaylog, loggedIn, paidTrade, sidOf } from './helpers';

/** Every row an admin action could touch, to show that a refused request changed nothing. */
async function snapshot(shop: TestShop) {
  const knex = shop.db.knex;
  return {
    paylog: await knex('paylog').orderBy('out_trade_no').select('*'),
    orders: await knex('orders').orderBy('id').select('*'),
    orderLog: await knex('order_log').orderBy('id').select('*'),
    refunds: await knex('refunds').orderBy('out_refund_no').select('*'),
    variants: await knex('product_variants').orderBy('id').select('id', 'stock'),
    movements: await knex('stock_movements').count({ n: '*' }),
    simRefunds: await knex('sim_refunds').count({ n: '*' }),
    simTrades: await knex('sim_trades').orderBy('id').select('id', 'trade_state', 'refunded_fee'),
  };
}

describe('admin access: login, logout, and every route behind them', () => {
  let shop: TestShop;
  let paid: string;
  let stale: string;
  let transactionId: string;
  const outRefundNo = 'R20261125000000000000000001';

  beforeAll(async () => {
    shop = await adminShop();
    ({ outTradeNo: paid } = await paidTrade(shop));
    transactionId = (await shop.db.knex('paylog').where({ out_trade_no: paid }).first('transaction_id')).transaction_id as string;
    // an unpaid trade old enough to close, and a refund waiting to be sent: what the routes would act on
    stale = await insertPaylog(shop.db.knex, { create_time: new Date(Date.now() - 3600_000), total_fee: 300 });
    await shop.db.knex('refunds').insert({ out_refund_no: outRefundNo, out_trade_no: paid, refund_fee: 1, status: 'PENDING', operator: 'admin:boss' });
  });
  afterAll(async () => {
    await shop.close();
  });

  const pages = () => [
    '/admin',
    '/admin/paylog',
    '/admin/paylog?state=SUCCESS',
    `/admin/paylog/${paid}`,
    `/admin/paylog/${paid}/query`,
    `/admin/paylog/${stale}/close`,
    `/admin/paylog/${paid}/refund`,
    `/admin/paylog/${paid}/refunds/${outRefundNo}/retry`,
    `/admin/paylog/${paid}/refunds/${outRefundNo}/sync`,
    '/admin/reconcile',
    '/admin/reconcile?date=2026-11-25',
  ];

  test('without a login, every admin page redirects to the login page with a way back, and nothing is shown', async () => {
    for (const path of pages()) {
      const res = await request(shop.url).get(path);
      expect([path, res.status]).toEqual([path, 303]);
      expect(res.headers.location).toBe(`/admin/login?next=${encodeURIComponent(path)}`);
      expect(res.text).not.toContain(transactionId);
    }
  });

  test('without a login, the CSV and JSON requests answer 401', async () => {
    const csv = await request(shop.url).get('/admin/paylog.csv');
    expect(csv.status).toBe(401);
    expect(csv.headers['content-type']).not.toMatch(/csv/);
    expect(csv.text).not.toContain(paid);
    const csvFiltered = await request(shop.url).get('/admin/paylog.csv?state=SUCCESS');
    expect(csvFiltered.status).toBe(401);
    for (const path of pages()) {
      const res = await request(shop.url).get(path).set('Accept', 'application/json');
      expect([path, res.status]).toEqual([path, 401]);
      expect(res.body).toEqual({ error: { status: 401, code: 'unauthorized', message: '请先以管理员身份登录。' } });
    }
  });

  test('without a login, every admin action (with a valid CSRF token and confirm=yes) answers 401 and changes nothing', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    const _csrf = await shopper.csrf();
    const before = await snapshot(shop);
    const actions: [string, Record<string, string>][] = [
      [`/admin/paylog/${paid}/query`, {}],
      [`/admin/paylog/${stale}/query`, {}],
      [`/admin/paylog/${stale}/close`, {}],
      [`/admin/paylog/${paid}/refund`, { amount: '0.01', reason: 'x', out_refund_no: 'R20261125000000000000000002' }],
      [`/admin/paylog/${paid}/refunds/${outRefundNo}/retry`, {}],
      [`/admin/paylog/${paid}/refunds/${outRefundNo}/sync`, {}],
    ];
    for (const [path, fields] of actions) {
      const res = await shopper.agent.post(path).type('form').send({ _csrf, confirm: 'yes', ...fields });
      expect([path, res.status]).toEqual([path, 401]);
      expect(res.text).toContain('请先以管理员身份登录');
    }
    expect(await snapshot(shop)).toEqual(before);
    expect((await shop.db.knex('paylog').where({ out_trade_no: stale }).first('trade_state')).trade_state).toBe('NOTPAY');
  });

  test('the login page has labelled inputs and a CSRF token; a POST without the token is refused', async () => {
    const page = await request(shop.url).get('/admin/login');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<label for="username">用户名<\/label>/);
    expect(page.text).toMatch(/<label for="password">密码<\/label>/);
    expect(page.text).toContain('type="password"');
    expect(csrfOf(page.text)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(page.headers['cache-control']).toBe('no-store');
    const english = await request(shop.url).get('/admin/login?lang=en');
    expect(english.text).toContain('Admin login');
    const forged = await request(shop.url).post('/admin/login').type('form').send({ username: ADMIN_USER, password: ADMIN_PASSWORD });
    expect(forged.status).toBe(403);
    expect(sidOf(forged)).toBeUndefined();
  });

  test('a wrong password or user is refused with 401 and no admin session', async () => {
    const admin = new Admin(shop.url);
    const wrongPassword = await admin.login(ADMIN_USER, 'not the password', undefined, { 'X-Forwarded-For': '10.9.9.1' });
    expect(wrongPassword.status).toBe(401);
    expect(wrongPassword.text).toContain('用户名或密码错误');
    const wrongUser = await admin.login('someone', ADMIN_PASSWORD, undefined, { 'X-Forwarded-For': '10.9.9.1' });
    expect(wrongUser.status).toBe(401);
    expect((await admin.agent.get('/admin')).status).toBe(303);
    const failures = await shop.db.knex('admin_login_attempts').where({ status: 'failed' }).count({ n: '*' });
    expect(Number(failures[0]?.n)).toBeGreaterThanOrEqual(2);
  });

  test('login regenerates the session id: the id from before the login is worth nothing after it', async () => {
    const admin = new Admin(shop.url);
    const form = await admin.agent.get('/admin/login');
    const before = sidOf(form);
    expect(before).toBeDefined();
    const res = await admin.agent.post('/admin/login').type('form').send({ _csrf: csrfOf(form.text), username: ADMIN_USER, password: ADMIN_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin');
    const after = sidOf(res);
    expect(after).toBeDefined();
    // an admin session lasts 12 hours, not the shopper's week
    const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('wxshop.sid=')) ?? '';
    const expires = Date.parse(/Expires=([^;]+)/.exec(cookie)?.[1] ?? '');
    expect(expires - Date.now()).toBeGreaterThan(11.9 * 3600 * 1000);
    expect(expires - Date.now()).toBeLessThanOrEqual(12 * 3600 * 1000);
    expect(cookie).toMatch(/HttpOnly/);
    expect(after).not.toBe(before);
    const sids = await shop.db.knex('sessions').pluck('sid');
    expect(sids).toContain(after);
    expect(sids).not.toContain(before);
    const session = (await shop.db.knex('sessions').where({ sid: after }).first('sess')) as { sess: { adminUser?: string } };
    expect(session.sess.adminUser).toBe(ADMIN_USER);
    const dashboard = await admin.agent.get('/admin');
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toContain(`已登录：${ADMIN_USER}`);
  });

  test('after login the admin lands where the login page was asked to go back to, but only inside /admin', async () => {
    const back = await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, '/admin/paylog?state=SUCCESS');
    expect(back.headers.location).toBe('/admin/paylog?state=SUCCESS');
    for (const evil of ['//evil.example/admin', 'https://evil.example/admin', '/\\evil.example', '/cart', '/admin/../cart', '/adminx']) {
      const res = await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, evil);
      expect([evil, res.status, res.headers.location]).toEqual([evil, 303, '/admin']);
    }
    const page = await request(shop.url).get('/admin/login?next=https://evil.example/');
    expect(page.text).toContain('name="next" value="/admin"');
  });

  test('logout destroys the session: its row is gone and its cookie no longer opens the admin', async () => {
    const admin = await loggedIn(shop);
    const dashboard = await admin.agent.get('/admin').expect(200);
    const sids = await shop.db.knex('sessions').pluck('sid');
    const res = await admin.agent.post('/admin/logout').type('form').send({ _csrf: csrfOf(dashboard.text) });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/login');
    expect((await shop.db.knex('sessions').pluck('sid')).length).toBe(sids.length - 1);
    const again = await admin.agent.get('/admin');
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/admin/login?next=%2Fadmin');
  });

  test('logout without the CSRF token is refused and the admin stays logged in', async () => {
    const admin = await loggedIn(shop);
    const res = await admin.agent.post('/admin/logout').type('form').send({});
    expect(res.status).toBe(403);
    expect((await admin.agent.get('/admin')).status).toBe(200);
  });

  test('an unknown or malformed query parameter is a 400 with a message, not a silently wrong page', async () => {
    const admin = await loggedIn(shop);
    for (const [path, name] of [
      ['/admin?x=1', 'x'],
      ['/admin/paylog?state=PAID', 'state'],
      ['/admin/paylog?stat=SUCCESS', 'stat'],
      ['/admin/paylog?from=2026-02-30', 'from'],
      ['/admin/paylog?state=SUCCESS&state=NOTPAY', 'state'],
      ['/admin/paylog?q=%3Cscript%3E', 'q'],
      ['/admin/paylog?after=garbage', 'after'],
      ['/admin/paylog?size=100000', 'size'],
      ['/admin/paylog.csv?flag=maybe', 'flag'],
      ['/admin/reconcile?date=yesterday', 'date'],
    ]) {
      const res = await admin.agent.get(path as string);
      expect([path, res.status]).toEqual([path, 400]);
      expect(res.text).toContain(`查询参数“${name}”无效`);
    }
    const range = await admin.agent.get('/admin/paylog?from=2026-11-25&to=2026-11-01');
    expect(range.status).toBe(400);
    expect(range.text).toContain('开始日期不能晚于结束日期');
  });
});

describe('admin login rate limit (5 failures in 15 minutes per user and address, 20 an hour per address, a delay per user; shared by instances)', () => {
  let shop: TestShop;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = manualClock(new Date());
    // trust the loopback proxy so that tests can speak from several addresses
    shop = await adminShop({ clock, env: { TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await shop.close();
  });
  beforeEach(() => {
    // every test starts after the previous one's window
    clock.advance(16 * 60 * 1000);
  });

  const from = (ip: string) => ({ 'X-Forwarded-For': ip });

  test('five wrong passwords are refused with 401; the sixth try, even with the right password, is 429 with Retry-After', async () => {
    const admin = new Admin(shop.url);
    for (let i = 0; i < 5; i++) expect((await admin.login(ADMIN_USER, `wrong ${i}`, undefined, from('10.0.0.1'))).status).toBe(401);
    const sixth = await admin.login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.0.0.1'));
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(14 * 60);
    expect(Number(sixth.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    expect(sixth.text).toContain('登录失败次数过多，请约 15 分钟后再试');
    expect(sidOf(sixth)).toBeUndefined();
    expect((await admin.agent.get('/admin')).status).toBe(303);
  });

  test('five wrong passwords for the admin from one address do not stop the right password from another', async () => {
    for (let i = 0; i < 5; i++) expect((await new Admin(shop.url).login(ADMIN_USER, 'wrong', undefined, from('10.1.0.1'))).status).toBe(401);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.1.0.1'))).status).toBe(429);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.1.0.99'))).status).toBe(303);
  });

  test('the user name is slowed down, never locked: from the 10th failure anywhere, each try waits 1, 2, 4 ... at most 60 s after the last failure', async () => {
    for (let i = 1; i <= 10; i++) expect((await new Admin(shop.url).login(ADMIN_USER, 'wrong', undefined, from(`10.1.1.${i}`))).status).toBe(401);
    const slowed = await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.1.1.99'));
    expect(slowed.status).toBe(429);
    expect(Number(slowed.headers['retry-after'])).toBe(1);
    clock.advance(1000);
    expect((await new Admin(shop.url).login(ADMIN_USER, 'wrong again', undefined, from('10.1.1.98'))).status).toBe(401);
    // 11 failures: 2 s now
    clock.advance(1000);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.1.1.99'))).status).toBe(429);
    clock.advance(1000);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.1.1.99'))).status).toBe(303);
    clock.advance(16 * 60 * 1000);
  });

  test('the limit is per address too, slower: twenty failures with any user names lock that address out, not others', async () => {
    for (let i = 1; i <= 20; i++) expect((await new Admin(shop.url).login(`user${i}`, 'wrong', undefined, from('10.2.0.1'))).status).toBe(401);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.2.0.1'))).status).toBe(429);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.2.0.2'))).status).toBe(303);
    clock.advance(61 * 60 * 1000);
  });

  test('the lock-out lifts once the failures are 15 minutes old', async () => {
    for (let i = 0; i < 5; i++) await new Admin(shop.url).login(ADMIN_USER, 'wrong', undefined, from('10.3.0.1'));
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.3.0.1'))).status).toBe(429);
    clock.advance(14 * 60 * 1000);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.3.0.1'))).status).toBe(429);
    clock.advance(61 * 1000);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.3.0.1'))).status).toBe(303);
  });

  test('a burst of ten parallel wrong guesses gets at most five checked; the rest are 429', async () => {
    const admins = Array.from({ length: 10 }, () => new Admin(shop.url));
    const forms = await Promise.all(admins.map((a) => a.agent.get('/admin/login').set(from('10.4.0.1'))));
    const answers = await Promise.all(
      admins.map((a, i) => a.agent.post('/admin/login').set(from('10.4.0.1')).type('form').send({ _csrf: csrfOf(forms[i]?.text ?? ''), username: ADMIN_USER, password: `guess ${i}` })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(5);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });

  test('two instances on one database count the same failures', async () => {
    const second = await startSecondInstance(shop, { clock, env: { ADMIN_USER, ADMIN_PASSWORD_HASH: shop.app.locals.deps.config.admin.passwordHash, TRUST_PROXY: 'loopback', SWEEP_INTERVAL_SECONDS: '0' } });
    try {
      for (let i = 0; i < 3; i++) expect((await new Admin(shop.url).login(ADMIN_USER, 'wrong', undefined, from('10.5.0.1'))).status).toBe(401);
      for (let i = 0; i < 2; i++) expect((await new Admin(second.url).login(ADMIN_USER, 'wrong', undefined, from('10.5.0.1'))).status).toBe(401);
      expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.5.0.1'))).status).toBe(429);
      expect((await new Admin(second.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.5.0.1'))).status).toBe(429);
    } finally {
      await second.stop();
    }
  });

  test('a successful login forgives the earlier failures of that address and user', async () => {
    for (let i = 0; i < 4; i++) expect((await new Admin(shop.url).login(ADMIN_USER, 'wrong', undefined, from('10.6.0.1'))).status).toBe(401);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.6.0.1'))).status).toBe(303);
    for (let i = 0; i < 5; i++) expect((await new Admin(shop.url).login(ADMIN_USER, 'wrong', undefined, from('10.6.0.1'))).status).toBe(401);
    expect((await new Admin(shop.url).login(ADMIN_USER, ADMIN_PASSWORD, undefined, from('10.6.0.1'))).status).toBe(429);
  });
});

describe('admin without ADMIN_PASSWORD_HASH', () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await adminShop();
  });
  afterAll(async () => {
    await shop.close();
  });

  function appWithoutHash() {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    const deps = shop.app.locals.deps;
    // the running shop's parts, but no hash, a logger we can read, and metrics of its own
    const app = createApp({
      ...deps,
      config: { ...deps.config, admin: { user: 'owner', passwordHash: undefined } },
      simulator: undefined,
      logger: pino({ level: 'info' }, sink),
      metrics: undefined,
    });
    return { app, lines };
  }

  test('a one-time random password is logged once as a warning, differs per start, and logs in; no fixed default does', async () => {
    const first = appWithoutHash();
    const second = appWithoutHash();
    try {
      const warnings = first.lines.filter((l) => l.level === 40 && /one-time password/.test(l.msg));
      expect(warnings).toHaveLength(1);
      const password = /one-time password (\S+)/.exec(warnings[0]?.msg ?? '')?.[1] ?? '';
      expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
      const otherPassword = /one-time password (\S+)/.exec(second.lines.find((l) => /one-time password/.test(l.msg))?.msg ?? '')?.[1];
      expect(otherPassword).toBeDefined();
      expect(otherPassword).not.toBe(password);

      const agent = request.agent(first.app);
      const login = async (user: string, pw: string) => {
        const form = await agent.get('/admin/login');
        return agent.post('/admin/login').type('form').send({ _csrf: csrfOf(form.text), username: user, password: pw });
      };
      for (const guess of ['admin', 'password', '123456', '']) expect((await login('owner', guess)).status).toBe(401);
      expect((await login('owner', password)).status).toBe(303);
      expect((await agent.get('/admin')).status).toBe(200);
      // said once: nothing more about it after requests
      expect(first.lines.filter((l) => /one-time password/.test(l.msg))).toHaveLength(1);
    } finally {
      first.app.locals.close();
      second.app.locals.close();
    }
  });
});
