import { setStocks } from '../../src/ledger';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import knexFactory from 'knex';
import { SIMULATOR_MERCHANT } from '../../src/config';
import { buildPaymentNotify } from '../../src/wechatpay/notify';
import { formatBeijingTime } from '../../src/wechatpay/time';

/** The bench's own database on the server of DATABASE_URL: made fresh, dropped at the end. */
export const BENCH_DATABASE_PREFIX = 'wxpay_bench_';

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createServerDatabase(serverUrl: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${BENCH_DATABASE_PREFIX}${crypto.randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw('CREATE DATABASE ??', [name]);
  } finally {
    await admin.destroy();
  }
  return {
    name,
    url: withDatabase(serverUrl, name),
    async drop() {
      const again = knexFactory({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } });
      try {
        await again.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      } finally {
        await again.destroy();
      }
    },
  };
}

/** The product every bench trade is for (one order, one item of it). */
export const BENCH_SKU = 'GEEK-CBL-01';

export interface TradeSet {
  prefix: string;
  count: number;
  totalFee: number;
}

/** The out_trade_no of the i-th trade of a set (1-based): prefix + 10 digits. */
export function tradeNo(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(10, '0')}`;
}

/**
 * `count` NOTPAY payment attempts, each with one unpaid order of one item, as a checkout leaves
 * them (paylog, orders, paylog_orders, order_items), made in a few set-based statements.
 * With `codeUrl`, each also has a live QR code (as after its pay page was shown).
 */
export async function seedTrades(knex: Knex, set: { prefix: string; count: number; codeUrl: boolean; shopperPrefix: string }): Promise<TradeSet> {
  const product = (await knex('products').where({ sku: BENCH_SKU }).first('id', 'title', 'seller', 'price_fen')) as
    | { id: number; title: string; seller: string; price_fen: number }
    | undefined;
  if (!product) throw new Error(`no product ${BENCH_SKU} in the catalog`);
  const like = `${set.prefix}%`;
  await knex.raw(
    `INSERT INTO paylog (out_trade_no, shopper_id, total_fee, trade_state, code_url, code_url_expires_at, create_time, updated_at)
     SELECT ? || lpad(g::text, 10, '0'), ? || g, ?, 'NOTPAY',
            CASE WHEN ? THEN ? || g END, CASE WHEN ? THEN now() + interval '2 hours' END, now(), now()
     FROM generate_series(1, ?) AS g`,
    [set.prefix, set.shopperPrefix, product.price_fen, set.codeUrl, `weixin://wxpay/bizpayurl?pr=bench${set.prefix}`, set.codeUrl, set.count],
  );
  await knex.raw(
    `INSERT INTO orders (shopper_id, seller, status, pay_type, total_fen, receiver_name, receiver_mobile, receiver_address, out_trade_no, checkout_token, created_at, updated_at)
     SELECT p.shopper_id, ?, 'unpaid', 'wxpay', p.total_fee, ?, '13800138000', ?, p.out_trade_no, 'bench-' || p.out_trade_no, now(), now()
     FROM paylog p WHERE p.out_trade_no LIKE ?`,
    [product.seller, '张三', '上海市浦东新区世纪大道100号', like],
  );
  await knex.raw(`INSERT INTO paylog_orders (out_trade_no, order_id) SELECT out_trade_no, id FROM orders WHERE out_trade_no LIKE ?`, [like]);
  await knex.raw(
    `INSERT INTO order_items (order_id, product_id, title, unit_price_fen, quantity) SELECT id, ?, ?, ?, 1 FROM orders WHERE out_trade_no LIKE ?`,
    [product.id, product.title, product.price_fen, like],
  );
  await knex.raw(
    `INSERT INTO order_log (order_id, from_status, to_status, operator, remark, at)
     SELECT id, NULL, 'unpaid', 'shopper:' || shopper_id, 'checkout, WeChat Pay ' || out_trade_no, now() FROM orders WHERE out_trade_no LIKE ?`,
    [like],
  );
  return { prefix: set.prefix, count: set.count, totalFee: product.price_fen };
}

/** Gives every product a stock that thousands of bench checkouts cannot exhaust. */
export async function plentyOfStock(knex: Knex): Promise<void> {
  // through the ledger (a count movement per variant), so the stock stays the sum of its movements
  const variants = (await knex('product_variants').where('stock', '>', 0).select('id')) as { id: number }[];
  await knex.transaction((trx) => setStocks(trx, variants.map((v) => ({ variantId: Number(v.id), stock: 10_000_000 })), { reason: 'count', operator: 'bench', at: new Date() }));
}

/** WeChat's signed payment notify for trade i of a set (the simulator's merchant, MD5 as configured). */
export function signedNotify(set: TradeSet, i: number, transactionPrefix: string, paidAt: Date): string {
  return buildPaymentNotify(
    {
      out_trade_no: tradeNo(set.prefix, i),
      transaction_id: `4200${transactionPrefix}${String(i).padStart(10, '0')}`,
      total_fee: set.totalFee,
      time_end: formatBeijingTime(paidAt),
    },
    { appId: SIMULATOR_MERCHANT.appId, mchId: SIMULATOR_MERCHANT.mchId, apiKey: SIMULATOR_MERCHANT.apiKey },
  );
}

export const SESSION_COOKIE = 'wxshop.sid';
const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

/** express-session's signed cookie: `s:` + sid + '.' + base64 HMAC-SHA256 without '=' (cookie-signature). */
export function sessionCookie(sid: string, secret: string): string {
  const signature = crypto.createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return `${SESSION_COOKIE}=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}

/**
 * A stored session for each trade of a set, owned by the trade's shopper (as express-session with
 * our store keeps it), and the Cookie header that presents it.
 */
export async function seedSessions(knex: Knex, set: TradeSet, shopperPrefix: string, secret: string): Promise<string[]> {
  const expires = new Date(Date.now() + SESSION_TTL_MS);
  const cookies: string[] = [];
  let rows: { sid: string; sess: string; expires_at: Date }[] = [];
  for (let i = 1; i <= set.count; i++) {
    const sid = crypto.randomBytes(24).toString('base64url');
    const sess = {
      cookie: { originalMaxAge: SESSION_TTL_MS, expires: expires.toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
      shopperId: `${shopperPrefix}${i}`,
    };
    rows.push({ sid, sess: JSON.stringify(sess), expires_at: expires });
    cookies.push(sessionCookie(sid, secret));
    if (rows.length === 1000 || i === set.count) {
      await knex('sessions').insert(rows);
      rows = [];
    }
  }
  return cookies;
}
