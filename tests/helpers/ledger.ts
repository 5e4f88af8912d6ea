import type { Knex } from 'knex';
import request from 'supertest';
import { seedStockBySku } from '../../src/catalog/seed-data';
import { checkLedger, formatLedgerReport, type LedgerReport } from '../../src/ledger/check';
import { newOutRefundNo, requestRefund } from '../../src/ledger';
import { closeTrade } from '../../src/pay/attempts';
import { settleFromQuery } from '../../src/pay/settle';
import { sendRefund } from '../../src/refunds/service';
import type { WxPayClient } from '../../src/wechatpay';
import type { RunningShop } from '../../src/main';
import { payOnPhone, Shopper } from './shopper';

/** the demo catalog's starting stock per variant SKU (a product with options: each of its variants) */
export const SEED_STOCK: Readonly<Record<string, number>> = seedStockBySku();

/** The ledger check as `npm run check:ledger` runs it, for the shop's merchant and the demo catalog. */
export async function ledgerOf(shop: Pick<RunningShop, 'db' | 'app'>, now?: Date): Promise<LedgerReport> {
  // stock: each variant's movements account for it (counts made by a test included)
  return checkLedger(shop.db.knex, { mchId: shop.app.locals.deps.config.wxpay.mchId, now });
}

/** Fails with the report's lines (so a failing test shows every discrepancy) unless it is clean. */
export async function expectCleanLedger(shop: Pick<RunningShop, 'db' | 'app'>, now?: Date): Promise<LedgerReport> {
  const report = await ledgerOf(shop, now);
  if (report.discrepancies.length > 0) throw new Error(`ledger not clean:\n${formatLedgerReport(report).join('\n')}`);
  return report;
}

/** The orders a payment attempt was made for (paylog_orders), in id order: a query to select or pluck from. */
export const ordersOfTrade = (knex: Knex, outTradeNo: string) =>
  knex('orders').join('paylog_orders', 'paylog_orders.order_id', 'orders.id').where('paylog_orders.out_trade_no', outTradeNo).orderBy('orders.id');

/** Pays a trade on the simulator's phone (the code_url must have been drawn). */
export async function payAtWechat(shop: Pick<RunningShop, 'db' | 'url'>, outTradeNo: string): Promise<void> {
  const { code_url: codeUrl } = (await shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url')) as { code_url: string };
  const res = await payOnPhone(shop.url, codeUrl);
  if (res.status !== 200) throw new Error(`phone answered ${res.status}`);
}

/** A shopper checks out with cash on delivery (no paylog). */
export async function codOrder(shop: Pick<RunningShop, 'db' | 'url'>, items: [string, number][]): Promise<void> {
  const shopper = new Shopper(shop.url, shop.db.knex);
  for (const [sku, quantity] of items) await shopper.add(sku, quantity);
  const res = await shopper.submitCheckout({ pay_type: 'cod' });
  if (res.status !== 303) throw new Error(`cod checkout answered ${res.status}`);
}

/** The one order of a payment attempt (a refund names it); fails when the attempt has several, which a test must name. */
export async function onlyOrderOf(knex: Knex, outTradeNo: string): Promise<number | undefined> {
  const ids = (await ordersOfTrade(knex, outTradeNo).pluck('orders.id')).map(Number);
  if (ids.length > 1) throw new Error(`${outTradeNo} is for ${ids.length} orders: name the one to refund`);
  return ids[0];
}

/** The first order (lowest id) of a payment attempt. */
export async function firstOrderOf(knex: Knex, outTradeNo: string): Promise<number | undefined> {
  const ids = (await ordersOfTrade(knex, outTradeNo).pluck('orders.id')).map(Number);
  return ids[0];
}

/** An admin's refund as the admin page does it: stored first (for `orderId`, default the attempt's first order), then sent to WeChat. */
export async function refundOf(shop: Pick<RunningShop, 'db' | 'app'>, outTradeNo: string, refundFee: number, now: () => Date, orderId?: number) {
  const deps = shop.app.locals.deps;
  const outRefundNo = newOutRefundNo(now());
  const forOrder = orderId ?? (await firstOrderOf(deps.db.knex, outTradeNo));
  await requestRefund(deps.db.knex, { outTradeNo, orderId: forOrder, outRefundNo, refundFee, reason: 'test', operator: 'admin:test', now: now() });
  return { outRefundNo, outcome: await sendRefund(deps.db.knex, deps.payments, { outRefundNo, operator: 'admin:test', clock: now }) };
}

/** The shop's own WeChat Pay v2 client (its provider's), for a test that speaks v2 to the simulator on purpose. */
export function v2ClientOf(shop: Pick<RunningShop, 'app'>): WxPayClient {
  const provider = shop.app.locals.deps.payments as Partial<{ client: WxPayClient }>;
  if (!provider.client) throw new Error(`the shop's payment provider is ${shop.app.locals.deps.payments.api}, not v2`);
  return provider.client;
}

export { closeTrade, settleFromQuery, request };
