import request from 'supertest';
import { translator } from '../../../src/i18n';
import type { TestShop } from '../../helpers/app';
import { ADMIN_PASSWORD, ADMIN_USER, Admin, adminShop, csrfOf, loggedIn, waitFor } from './helpers';
import { accountCsrf, addMember, memberLoggedIn } from './team-helpers';

/**
 * Issue 25, the team: the owner invites staff with a role; each member has their own password and
 * changes it; a role changed, a member removed, or a password changed ends their (other) sessions
 * at once; the first owner stays an owner; the login limits are per member; every action is in an
 * audit log the owner reads and exports and nobody edits.
 */
const zh = translator('zh');
const NEW_PASSWORD = 'a new password of mine';

describe('the team: staff, their sessions and passwords, the audit log', () => {
  let shop: TestShop;
  let owner: Admin;
  let knex: TestShop['db']['knex'];

  beforeAll(async () => {
    shop = await adminShop();
    knex = shop.db.knex;
    owner = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });

  /** Whether this browser is still signed in: the dashboard, or the way to the login. */
  const signedIn = async (admin: Admin) => {
    const res = await admin.agent.get('/admin');
    if (res.status === 200) return true;
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/admin\/login\?next=/);
    return false;
  };

  const changeRole = async (username: string, role: string, refundLimit = '') =>
    owner.agent.post(`/admin/staff/${username}`).type('form').send({ _csrf: await owner.csrf(), role, refund_limit: refundLimit });

  test('the owner invites a member: the first password shown once, changed at the first login, then the member works with their own', async () => {
    const page = await owner.agent.get('/admin/staff').expect(200);
    const res = await owner.agent.post('/admin/staff').type('form').send({ _csrf: csrfOf(page.text), username: 'pack.chen', role: 'operations', refund_limit: '' });
    expect(res.status).toBe(201);
    const password = /<p class="mono one-time-password">([^<]+)<\/p>/.exec(res.text)?.[1];
    expect(password).toBeDefined();
    expect(await knex('admin_users').where({ username: 'pack.chen' }).first('role', 'must_change_password', 'refund_limit_fen')).toEqual({ role: 'operations', must_change_password: true, refund_limit_fen: 0 });
    // a bad invitation: 400 with the reason, no row
    const bad = await owner.agent.post('/admin/staff').type('form').send({ _csrf: csrfOf(page.text), username: 'x', role: 'operations' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain(zh('admin.staff.error.username'));
    expect(await knex('admin_users').where({ username: 'x' }).first()).toBeUndefined();

    const member = new Admin(shop.url);
    const login = await member.login('pack.chen', String(password));
    expect([login.status, login.headers.location]).toEqual([303, '/admin/account']);
    expect((await member.agent.get('/admin')).headers.location).toBe('/admin/account');
    const csrf = await accountCsrf(member);
    const changed = await member.agent.post('/admin/account/password').type('form').send({ _csrf: csrf, current: String(password), password: NEW_PASSWORD, password_again: NEW_PASSWORD });
    expect([changed.status, changed.headers.location]).toEqual([303, '/admin/account']);
    expect(await signedIn(member)).toBe(true);
    expect((await new Admin(shop.url).login('pack.chen', String(password))).status).toBe(401);
    expect((await new Admin(shop.url).login('pack.chen', NEW_PASSWORD)).status).toBe(303);
  });

  test('a member who changes their password stays signed in here; their other sessions end at once', async () => {
    await addMember(knex, 'fin.pw', 'finance');
    const here = await memberLoggedIn(shop, 'fin.pw');
    const elsewhere = await memberLoggedIn(shop, 'fin.pw');
    const csrf = await accountCsrf(here);
    // a wrong current password: 400 with the reason, nothing changed
    const wrong = await here.agent.post('/admin/account/password').type('form').send({ _csrf: csrf, current: 'not my password', password: NEW_PASSWORD, password_again: NEW_PASSWORD });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain(zh('admin.account.error.current'));
    expect(await signedIn(elsewhere)).toBe(true);

    const res = await here.agent.post('/admin/account/password').type('form').send({ _csrf: csrf, current: ADMIN_PASSWORD, password: NEW_PASSWORD, password_again: NEW_PASSWORD });
    expect(res.status).toBe(303);
    expect(await signedIn(here)).toBe(true);
    expect(await signedIn(elsewhere)).toBe(false);
    // the JSON and the actions of the ended session: 401, not the member's
    expect((await elsewhere.agent.get('/admin/paylog').set('Accept', 'application/json')).status).toBe(401);
  });

  test('a role changed ends the member\'s sessions at once, in every browser; the new role applies from their next login', async () => {
    await addMember(knex, 'ops.role', 'operations');
    const a = await memberLoggedIn(shop, 'ops.role');
    const b = await memberLoggedIn(shop, 'ops.role');
    expect((await a.agent.get('/admin/products')).status).toBe(200);
    // a limit the same role keeps: sessions go on
    expect((await changeRole('ops.role', 'operations', '12.50')).status).toBe(303);
    expect(await knex('admin_users').where({ username: 'ops.role' }).first('refund_limit_fen')).toEqual({ refund_limit_fen: 1250 });
    expect(await signedIn(a)).toBe(true);

    expect((await changeRole('ops.role', 'readonly')).status).toBe(303);
    expect(await signedIn(a)).toBe(false);
    expect(await signedIn(b)).toBe(false);
    const again = await memberLoggedIn(shop, 'ops.role');
    expect((await again.agent.get('/admin/products')).status).toBe(403);
    // a role that is not one: 400, nothing changed
    const bad = await changeRole('ops.role', 'admin');
    expect(bad.status).toBe(400);
    expect(await knex('admin_users').where({ username: 'ops.role' }).first('role')).toEqual({ role: 'readonly' });
  });

  test('a member removed is signed out at once, cannot log in, and loses the fault panel even as an owner', async () => {
    await addMember(knex, 'co.owner', 'owner');
    const coOwner = await memberLoggedIn(shop, 'co.owner');
    const mchId = shop.app.locals.deps.config.wxpay.mchId as string;
    expect((await coOwner.agent.get('/wxsim/panel').set('Accept', 'text/html')).status).toBe(200);
    expect((await owner.confirm('/admin/staff/co.owner/remove')).status).toBe(303);
    expect(await knex('admin_users').where({ username: 'co.owner' }).first('removed_at')).toEqual({ removed_at: expect.any(Date) });
    expect(await signedIn(coOwner)).toBe(false);
    const faults = await knex('sim_faults').count({ n: '*' });
    expect((await coOwner.agent.post('/wxsim/faults').send({ mch_id: mchId, kind: 'notify_drop' })).status).toBe(401);
    expect(await knex('sim_faults').count({ n: '*' })).toEqual(faults);
    expect((await new Admin(shop.url).login('co.owner', ADMIN_PASSWORD)).status).toBe(401);
  });

  test('a demoted owner loses the fault panel at once, without visiting an admin page first', async () => {
    await addMember(knex, 'co.owner2', 'owner');
    const coOwner = await memberLoggedIn(shop, 'co.owner2');
    expect((await coOwner.agent.get('/wxsim/faults').set('Accept', 'application/json')).status).toBe(200);
    expect((await changeRole('co.owner2', 'finance')).status).toBe(303);
    expect((await coOwner.agent.get('/wxsim/faults').set('Accept', 'application/json')).status).toBe(401);
    // logged in again as finance: a member, refused with the reason
    const finance = await memberLoggedIn(shop, 'co.owner2');
    const refused = await finance.agent.get('/wxsim/faults').set('Accept', 'application/json');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: { status: 403, code: 'forbidden', message: zh('admin.error.forbidden') } });
    const page = await finance.agent.get('/wxsim/panel').set('Accept', 'text/html');
    expect(page.status).toBe(403);
    expect(page.text).toContain(zh('admin.error.forbidden'));
  });

  test('the first owner can be neither demoted nor removed here: the shop always has an owner', async () => {
    const demote = await changeRole(ADMIN_USER, 'readonly');
    expect(demote.status).toBe(409);
    expect(demote.text).toContain(zh('admin.staff.error.firstOwner'));
    const page = await owner.agent.get(`/admin/staff/${ADMIN_USER}/remove`).expect(200);
    const remove = await owner.agent.post(`/admin/staff/${ADMIN_USER}/remove`).type('form').send({ _csrf: csrfOf(page.text), confirm: 'yes' });
    expect(remove.status).toBe(409);
    expect(await signedIn(owner)).toBe(true);
    expect((await owner.agent.get('/admin/staff').expect(200)).text).toContain(ADMIN_USER);
  });

  test('a member\'s login is limited and delayed like the first owner\'s: five wrong passwords lock that name, not the others', async () => {
    await addMember(knex, 'lock.me', 'readonly');
    for (let i = 0; i < 5; i += 1) expect((await new Admin(shop.url).login('lock.me', 'wrong password')).status).toBe(401);
    const locked = await new Admin(shop.url).login('lock.me', ADMIN_PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.text).toContain(zh('admin.login.tooMany', { minutes: Math.ceil(Number(locked.headers['retry-after']) / 60) }));
    expect((await new Admin(shop.url).login()).status).toBe(303);
  });

  test('every action is in the audit log with who, when and what; a stock count and a price change with before and after', async () => {
    const created = await owner.agent.post('/admin/products').type('form').send({
      _csrf: await owner.csrf(), title: '审计茶', sku: 'AUDIT-TEA', seller: '茶园', category_id: '', description: '', option_names: '', status: 'on_sale',
      v_id: [''], v_sku: ['AUDIT-TEA'], v_values: [''], v_price: ['10'], v_active: ['yes'], v_stock: ['4'],
    });
    expect(created.status).toBe(303);
    const productId = Number(/(\d+)$/.exec(created.headers.location ?? '')?.[1]);
    const variant = (await knex('product_variants').where({ product_id: productId }).first('id')) as { id: number };
    const count = await owner.agent.post(`/admin/products/${productId}/variants/${variant.id}/count`).type('form').send({ _csrf: await owner.csrf(), stock: '9' });
    expect(count.status).toBe(303);
    const edit = await owner.agent.post(`/admin/products/${productId}`).type('form').send({
      _csrf: await owner.csrf(), title: '审计茶', sku: 'AUDIT-TEA', seller: '茶园', category_id: '', description: '', option_names: '', status: 'on_sale',
      v_id: [String(variant.id)], v_sku: ['AUDIT-TEA'], v_values: [''], v_price: ['12.5'], v_active: ['yes'], v_stock: ['9'],
    });
    expect(edit.status).toBe(303);
    const row = (action: string) => waitFor(action, async () => (await knex('admin_audit').where({ action }).orderBy('id', 'desc').first('*')) as Record<string, unknown> | undefined);
    expect(await row('POST /products/:id/variants/:variantId/count')).toMatchObject({
      actor: ADMIN_USER, role: 'owner', status: 303, subject: `id=${productId} variantId=${variant.id}`, at: expect.any(Date), ip: expect.any(String),
      before: { variant: Number(variant.id), stock: 4 }, after: { variant: Number(variant.id), stock: 9 },
    });
    expect(await row('POST /products/:id')).toMatchObject({
      actor: ADMIN_USER, status: 303,
      before: { variants: [{ sku: 'AUDIT-TEA', price_fen: 1000, stock: 9 }] }, after: { variants: [{ sku: 'AUDIT-TEA', price_fen: 1250, stock: 9 }] },
    });
  });

  test('the owner reads the audit log as a page and as a CSV for Excel (UTF-8 with a BOM, one line per action)', async () => {
    await waitFor('an action in the log', async () => (await knex('admin_audit').first('id')) !== undefined);
    const page = await owner.agent.get('/admin/audit').expect(200);
    expect(page.text).toContain('POST /staff/:username');
    const csv = await owner.agent.get('/admin/audit.csv').buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const bytes = csv.body as Buffer;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.toString('utf8').slice(1).trim().split(/\r?\n/);
    expect(lines[0]).toContain(zh('admin.audit.col.actor'));
    const total = Number(((await knex('admin_audit').count({ n: '*' }))[0] as { n: string | number }).n);
    expect(lines).toHaveLength(total + 1);
    expect(lines.some((l) => l.includes('POST /staff/:username/remove') && l.includes(ADMIN_USER))).toBe(true);
    // a bad filter: 400, no file
    expect((await owner.agent.get('/admin/audit.csv?actor=%3Dcmd')).status).toBe(400);
  });

  test('the audit log is never edited: the database refuses UPDATE, DELETE and TRUNCATE', async () => {
    const before = await knex('admin_audit').orderBy('id').select('*');
    expect(before.length).toBeGreaterThan(0);
    await expect(knex('admin_audit').update({ actor: 'someone.else' })).rejects.toThrow(/append-only/);
    await expect(knex('admin_audit').delete()).rejects.toThrow(/append-only/);
    await expect(knex.raw('TRUNCATE admin_audit')).rejects.toThrow(/append-only/);
    expect(await knex('admin_audit').orderBy('id').select('*')).toEqual(before);
  });

  test('without a login the team pages are not shown', async () => {
    for (const path of ['/admin/staff', '/admin/audit', '/admin/account']) expect((await request(shop.url).get(path).set('Accept', 'text/html')).status).toBe(303);
    expect((await request(shop.url).get('/admin/audit.csv')).status).toBe(401);
  });
});
