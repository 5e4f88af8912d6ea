import type { Knex } from 'knex';
import type { Role } from '../../../src/admin/roles';
import type { TestShop } from '../../helpers/app';
import { ADMIN_PASSWORD, ADMIN_USER, Admin, adminPasswordHash } from './helpers';

/** A member of staff of each role, with the first owner's password (its hash made once per file). */
export const MEMBERS: Record<Role, string> = { owner: ADMIN_USER, operations: 'ops.li', finance: 'fin.wang', readonly: 'look.zhao' };

/** A row of admin_users as an invitation and a first password change leave it. */
export async function addMember(knex: Knex, username: string, role: Role, refundLimitFen = 0): Promise<void> {
  await knex('admin_users').insert({ username, role, refund_limit_fen: refundLimitFen, password_hash: await adminPasswordHash(), must_change_password: false, created_by: ADMIN_USER });
}

export async function memberLoggedIn(shop: TestShop, username: string, password = ADMIN_PASSWORD): Promise<Admin> {
  const admin = new Admin(shop.url);
  const res = await admin.login(username, password);
  if (res.status !== 303) throw new Error(`${username}'s login answered ${res.status}: ${res.text.slice(0, 300)}`);
  return admin;
}

/** A CSRF token of this session from a page every member may see (their own account). */
export async function accountCsrf(admin: Admin): Promise<string> {
  const page = await admin.agent.get('/admin/account').expect(200);
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!token) throw new Error('no CSRF token on the account page');
  return token;
}

/** Links and forms on a page into the admin (or the fault panel): [method, path without query or fragment]. */
export function targetsOf(html: string): [string, string][] {
  const found: [string, string][] = [];
  for (const m of html.matchAll(/<a\b[^>]*\bhref="([^"]+)"/g)) found.push(['GET', m[1] ?? '']);
  for (const m of html.matchAll(/<form\b[^>]*>/g)) {
    const tag = m[0];
    const action = /\baction="([^"]+)"/.exec(tag)?.[1];
    if (action === undefined) continue;
    found.push([/\bmethod="post"/i.test(tag) ? 'POST' : 'GET', action]);
  }
  return found
    .map(([method, url]) => [method, url.replace(/&amp;/g, '&').split(/[?#]/)[0] ?? ''] as [string, string])
    .filter(([, p]) => (p.startsWith('/admin') || p.startsWith('/wxsim/')) && !/^\/admin\/(login|logout)$/.test(p));
}

/** An Express path pattern (`/admin/paylog/:outTradeNo`) as a regular expression for a concrete path. */
export function patternOf(path: string): RegExp {
  const body = path
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body.replace(/\/$/, '')}/?$`);
}

/** Rows an admin action could change, to show that a refused request changed none. */
export async function teamSnapshot(knex: Knex) {
  return {
    paylog: await knex('paylog').orderBy('out_trade_no').select('out_trade_no', 'trade_state', 'flag', 'refunded_fee'),
    orders: await knex('orders').orderBy('id').select('id', 'status', 'delivery_status'),
    refunds: await knex('refunds').orderBy('out_refund_no').select('out_refund_no', 'status', 'flag'),
    variants: await knex('product_variants').orderBy('id').select('id', 'stock', 'price_fen', 'active'),
    products: await knex('products').orderBy('id').select('id', 'title', 'status'),
    categories: await knex('categories').count({ n: '*' }),
    members: await knex('admin_users').orderBy('username').select('username', 'role', 'refund_limit_fen', 'session_epoch', 'removed_at'),
    settings: await knex('app_settings').orderBy('key').select('key', 'value'),
    faults: await knex('sim_faults').count({ n: '*' }),
  };
}
