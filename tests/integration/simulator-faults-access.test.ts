import request from 'supertest';
import { FAULT_KINDS } from '../../src/simulator';
import type { TestShop } from './../helpers/app';
import { Shopper } from '../helpers/shopper';
import { Admin, adminShop, loggedIn } from './admin/helpers';

/**
 * Issue 11 (fail closed): in simulator mode the fault panel and the fault API make the shop's
 * WeChat Pay misbehave, so they are the shop admin's alone. Every fault kind is on the panel.
 */
describe('the simulator\'s fault panel and fault API need the shop admin\'s login', () => {
  let shop: TestShop;
  let mchId: string;
  beforeAll(async () => {
    shop = await adminShop();
    mchId = shop.app.locals.deps.config.wxpay.mchId;
  });
  afterAll(async () => {
    await shop.close();
  });

  const faultCount = async () => Number(((await shop.db.knex('sim_faults').count('* as n')) as { n: number | string }[])[0]?.n);

  test('a stranger is refused everywhere: 401 for the API, the login for the page, and nothing is added or deleted', async () => {
    const before = await faultCount();
    const post = await request(shop.url).post('/wxsim/faults').send({ mch_id: mchId, kind: 'notify_drop' });
    expect(post.status).toBe(401);
    expect(post.body.error).toContain('/admin/login');
    const form = await request(shop.url).post('/wxsim/faults').type('form').send({ mch_id: mchId, kind: 'notify_drop', from: 'panel' });
    expect(form.status).toBe(401);
    expect((await request(shop.url).get('/wxsim/faults').set('Accept', 'application/json')).status).toBe(401);
    const page = await request(shop.url).get('/wxsim/panel').set('Accept', 'text/html');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/admin/login?next=%2Fwxsim%2Fpanel');
    expect(await faultCount()).toBe(before);

    const admin = await loggedIn(shop);
    const made = await admin.agent.post('/wxsim/faults').send({ mch_id: mchId, kind: 'notify_drop' }).expect(201);
    const id = (made.body as { fault: { id: number } }).fault.id;
    expect((await request(shop.url).delete(`/wxsim/faults/${id}`)).status).toBe(401);
    expect((await request(shop.url).post(`/wxsim/faults/${id}/delete`).type('form').send({})).status).toBe(401);
    expect(await shop.db.knex('sim_faults').where({ id }).first()).toBeDefined();
    await admin.agent.delete(`/wxsim/faults/${id}`).expect(204);
  });

  test('a shopper\'s session is not an admin\'s', async () => {
    const shopper = new Shopper(shop.url, shop.db.knex);
    await shopper.add('TEA-MLH-100', 1);
    const before = await faultCount();
    expect((await shopper.agent.post('/wxsim/faults').send({ mch_id: mchId, kind: 'notify_drop' })).status).toBe(401);
    expect(await faultCount()).toBe(before);
  });

  test('the login leads back to the panel, which offers every fault kind, adds one from its form and deletes it', async () => {
    const admin = new Admin(shop.url);
    const login = await admin.login(undefined, undefined, '/wxsim/panel');
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/wxsim/panel');
    const panel = await admin.agent.get('/wxsim/panel').expect(200);
    for (const kind of FAULT_KINDS) expect(panel.text).toContain(`<option value="${kind}">`);
    expect(panel.text).toContain(`<option value="${mchId}">`);

    const added = await admin.agent.post('/wxsim/faults').type('form').send({ from: 'panel', mch_id: mchId, kind: 'refund_slow', delay_seconds: '120', count: '2', out_trade_no: '', api: '', copies: '' });
    expect(added.status).toBe(201);
    expect(added.text).toMatch(/fault #\d+ added: refund_slow/);
    const row = await shop.db.knex('sim_faults').where({ kind: 'refund_slow' }).first();
    expect(row).toMatchObject({ mch_id: mchId, remaining: 2, delay_seconds: 120 });
    expect(added.text).toContain(`data-fault="${row.id}" data-kind="refund_slow"`);

    const bad = await admin.agent.post('/wxsim/faults').type('form').send({ from: 'panel', mch_id: mchId, kind: 'refund_slow' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('delay_seconds is required for refund_slow');

    const deleted = await admin.agent.post(`/wxsim/faults/${row.id}/delete`).type('form').send({});
    expect(deleted.status).toBe(200);
    expect(await shop.db.knex('sim_faults').where({ id: row.id }).first()).toBeUndefined();
  });
});
