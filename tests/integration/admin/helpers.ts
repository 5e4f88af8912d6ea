import type { Knex } from 'knex';
import request from 'supertest';
import { hashPassword } from '../../../src/admin/password';
import type { Clock } from '../../../src/app';
import { markPaid } from '../../../src/ledger';
import { createTestShop, type TestShop } from '../../helpers/app';
import { Shopper, payOnPhone } from '../../helpers/shopper';

export const ADMIN_USER = 'boss';
export const ADMIN_PASSWORD = 'correct horse battery staple';

let hashOnce: Promise<string> | undefined;
/** The admin's hash, made once per test file (cheaper parameters than production: tests log in often). */
export function adminPasswordHash(): Promise<string> {
  return (hashOnce ??= hashPassword(ADMIN_PASSWORD, { N: 2 ** 14, r: 8, p: 1 }));
}

/** The shop as `npm start` runs it, with a configured admin, a fast simulator, and no sweeper. */
export async function adminShop(options: { env?: NodeJS.ProcessEnv; clock?: Clock } = {}): Promise<TestShop> {
  return createTestShop({
    clock: options.clock,
    env: {
      ADMIN_USER,
      ADMIN_PASSWORD_HASH: await adminPasswordHash(),
      SIM_TIME_SCALE: '1000',
      SIM_REFUND_DELAY_SECONDS: '0',
      SWEEP_INTERVAL_SECONDS: '0',
      ...options.env,
    },
  });
}

export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no CSRF token in the page: ${html.slice(0, 300)}`);
  return token;
}

/** The session id inside a signed `wxshop.sid` cookie of a Set-Cookie header, if any. */
export function sidOf(res: request.Response): string | undefined {
  const cookies = ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []);
  const raw = cookies.map((c) => /^wxshop\.sid=([^;]*)/.exec(c)?.[1]).find((v) => v !== undefined);
  if (raw === undefined) return undefined;
  return /^s:([^.]+)\./.exec(decodeURIComponent(raw))?.[1];
}

/** An admin in a browser: one cookie jar. */
export class Admin {
  readonly agent: ReturnType<typeof request.agent>;
  constructor(readonly baseUrl: string) {
    this.agent = request.agent(baseUrl);
  }

  /** GET the login form, then POST it; returns the POST's response. */
  async login(user = ADMIN_USER, password = ADMIN_PASSWORD, next?: string, headers: Record<string, string> = {}) {
    const form = await this.agent.get('/admin/login').set(headers);
    const fields: Record<string, string> = { _csrf: csrfOf(form.text), username: user, password };
    if (next !== undefined) fields.next = next;
    return this.agent.post('/admin/login').set(headers).type('form').send(fields);
  }

  /** A CSRF token of this session, from any admin page's logout form. */
  async csrf(): Promise<string> {
    return csrfOf((await this.agent.get('/admin').expect(200)).text);
  }

  /** GET a confirmation page and POST its form, as an admin pressing "confirm". */
  async confirm(path: string) {
    const page = await this.agent.get(path).expect(200);
    // the confirmation's own form, not the header's logout form
    const section = page.text.split('<section class="panel admin-confirm">')[1] ?? '';
    const action = /<form method="post" action="([^"]+)"/.exec(section)?.[1];
    if (!action) throw new Error(`no confirmation form on ${path}`);
    const fields = Object.fromEntries([...section.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], unescapeHtml(m[2] ?? '')]));
    expect(fields.confirm).toBe('yes');
    return this.agent.post(unescapeHtml(action)).type('form').send(fields);
  }

  /** The refund form's own out_refund_no, CSRF token and order (the one it offers first, unless `orderId`), and the POST with confirm=yes. */
  async refund(outTradeNo: string, amount: string, reason = '', orderId?: number) {
    const form = await this.agent.get(`/admin/paylog/${outTradeNo}/refund`).expect(200);
    const outRefundNo = /name="out_refund_no" value="([^"]+)"/.exec(form.text)?.[1];
    if (!outRefundNo) throw new Error('no out_refund_no on the refund form');
    const order = orderId === undefined ? checkedOrderOf(form.text) : String(orderId);
    const res = await this.agent
      .post(`/admin/paylog/${outTradeNo}/refund`)
      .type('form')
      .send({ _csrf: csrfOf(form.text), out_refund_no: outRefundNo, amount, reason, confirm: 'yes', ...(order === undefined ? {} : { order_id: order }) });
    return { res, outRefundNo };
  }
}

/** The order a refund form offers first (its checked radio), if it names orders. */
export function checkedOrderOf(html: string): string | undefined {
  return /name="order_id" value="(\d+)" checked/.exec(html)?.[1];
}

export function unescapeHtml(text: string): string {
  return text.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export async function loggedIn(shop: TestShop): Promise<Admin> {
  const admin = new Admin(shop.url);
  const res = await admin.login();
  if (res.status !== 303) throw new Error(`login answered ${res.status}: ${res.text.slice(0, 300)}`);
  return admin;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A shopper buys, opens the pay page, and pays on the simulator's phone; resolves once the shop has the payment. */
export async function paidTrade(shop: TestShop, items: [string, number][] = [['TEA-MLH-100', 1], ['GEEK-CBL-01', 2]]): Promise<{ outTradeNo: string; totalFee: number }> {
  const shopper = new Shopper(shop.url, shop.db.knex);
  const outTradeNo = await shopper.buy(items);
  await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
  const row = (await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url', 'total_fee')) as { code_url: string; total_fee: number };
  const phone = await payOnPhone(shop.url, row.code_url);
  if (phone.status !== 200) throw new Error(`the phone answered ${phone.status}`);
  // paid, and the notify on record (notify_log is written just after the settling transaction)
  await waitFor(`${outTradeNo} paid`, async () => {
    const p = (await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string };
    const logged = await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo, kind: 'pay' }).first('id');
    return p.trade_state === 'SUCCESS' && logged !== undefined;
  });
  return { outTradeNo, totalFee: row.total_fee };
}

/** A shopper's unpaid trade with a QR code at the simulator. */
export async function unpaidTrade(shop: TestShop, items: [string, number][] = [['TEA-MLH-100', 1]]): Promise<string> {
  const shopper = new Shopper(shop.url, shop.db.knex);
  const outTradeNo = await shopper.buy(items);
  await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
  return outTradeNo;
}

let serial = 0;
/** A paylog row written directly (for tests about the admin's reading only). */
export async function insertPaylog(
  knex: Knex,
  row: Partial<{ out_trade_no: string; total_fee: number; trade_state: string; transaction_id: string | null; pay_time: Date | null; create_time: Date; flag: string | null; shopper_id: string; body: string }> = {},
): Promise<string> {
  serial += 1;
  const outTradeNo = row.out_trade_no ?? `T${Date.now()}${String(serial).padStart(6, '0')}`;
  const paid = row.trade_state === 'SUCCESS' || row.trade_state === 'REFUND';
  await knex('paylog').insert({
    out_trade_no: outTradeNo,
    shopper_id: row.shopper_id ?? 's_test',
    total_fee: row.total_fee ?? 100,
    trade_state: row.trade_state ?? 'NOTPAY',
    transaction_id: row.transaction_id !== undefined ? row.transaction_id : paid ? `42${String(Date.now()).slice(-10)}${String(serial).padStart(8, '0')}` : null,
    pay_time: row.pay_time !== undefined ? row.pay_time : paid ? (row.create_time ?? new Date()) : null,
    create_time: row.create_time ?? new Date(),
    flag: row.flag ?? null,
    body: row.body ?? null,
  });
  return outTradeNo;
}

/** Marks a directly inserted NOTPAY row paid the way the webhook would. */
export async function markRowPaid(knex: Knex, outTradeNo: string, totalFee: number, at = new Date()): Promise<void> {
  await markPaid(knex, { outTradeNo, transactionId: `4200${Date.now()}${Math.floor(Math.random() * 1e6)}`.slice(0, 28), totalFee, paidAt: at, source: 'notify', now: at });
}
