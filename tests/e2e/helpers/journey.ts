import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { SIMULATOR_MERCHANT } from '../../../src/config';
import { fenToYuanString, formatFen } from '../../../src/money';
import { createWxPayClient, type OrderQueryResult, type WxPayClient } from '../../../src/wechatpay';
import { expectAccessible } from './axe';
import { decodeQrPng } from './browser';
import { waitFor } from './processes';
import { scaled } from '../../helpers/timeouts';

export type Locale = 'zh' | 'en';

interface Texts {
  catalogTitle: string;
  cartCount(count: number): string;
  added(quantity: number): string;
  updated: string;
  cartTitle: string;
  checkoutTitle: string;
  payTitle: string;
  amountDue: string;
  orderUnpaid: string;
  orderPaid: string;
  successTitle: string;
  successText(amount: string): string;
  transactionPrefix: string;
  adminLoginTitle: string;
  paylogTitle: string;
  adminStatePaid: string;
  /** the start of the order log's line for a payment (admin.remark.paid) */
  adminPaidRemark: string;
  chartTitle: string;
  csvFirstHeader: string;
  payLead: string;
  ordersTitle: string;
  iHavePaid: string;
  expiredTitle: string;
  findTitle: string;
  findNoMatch: string;
}

/** What a shopper and an admin read, written out here rather than taken from the app's dictionaries. */
export const TEXTS: Record<Locale, Texts> = {
  zh: {
    catalogTitle: '全部商品',
    cartCount: (count) => `购物车（${count}）`,
    added: (quantity) => `已加入购物车（${quantity} 件）。`,
    updated: '数量已更新。',
    cartTitle: '购物车',
    checkoutTitle: '结算',
    payTitle: '微信扫码支付',
    amountDue: '应付金额',
    orderUnpaid: '待支付',
    orderPaid: '已支付',
    successTitle: '支付成功',
    successText: (amount) => `您已成功支付 ${amount}，感谢您的购买！`,
    transactionPrefix: '微信支付交易号：',
    adminLoginTitle: '管理员登录',
    paylogTitle: '支付记录',
    adminStatePaid: '已支付',
    adminPaidRemark: '微信支付交易',
    chartTitle: '最近 14 天收款（柱高为金额，柱上为笔数）',
    csvFirstHeader: '支付单号',
    payLead: '订单提交成功，请尽快付款！',
    ordersTitle: '我的订单',
    iHavePaid: '我已支付',
    expiredTitle: '二维码已失效',
    findTitle: '查找订单',
    findNoMatch: '没有找到订单号与手机号都相符的订单，请检查后重试。',
  },
  en: {
    catalogTitle: 'All products',
    cartCount: (count) => `Cart (${count})`,
    added: (quantity) => `Added to your cart (${quantity}).`,
    updated: 'Quantity updated.',
    cartTitle: 'Your cart',
    checkoutTitle: 'Checkout',
    payTitle: 'Pay with WeChat',
    amountDue: 'Amount due',
    orderUnpaid: 'Unpaid',
    orderPaid: 'Paid',
    successTitle: 'Payment received',
    successText: (amount) => `You paid ${amount}. Thank you for your order!`,
    transactionPrefix: 'WeChat Pay transaction: ',
    adminLoginTitle: 'Admin login',
    paylogTitle: 'Payments',
    adminStatePaid: 'Paid',
    adminPaidRemark: 'WeChat Pay transaction',
    chartTitle: 'Payments received, last 14 days (bar height: amount; above it: count)',
    csvFirstHeader: 'out_trade_no',
    payLead: 'Your order is placed. Please pay now.',
    ordersTitle: 'My orders',
    iHavePaid: 'I have paid',
    expiredTitle: 'The QR code has expired',
    findTitle: 'Find an order',
    findNoMatch: 'No order matches both that number and that mobile. Please check and try again.',
  },
};

export const RECEIVER = { name: '张三', mobile: '13800138000', address: '上海市浦东新区世纪大道100号' };
export const ADMIN_USER = 'admin';

export interface Purchase {
  sku: string;
  quantity: number;
}

export interface JourneyPlan {
  /** put in the cart from the catalog, in this order (from at least two sellers) */
  items: Purchase[];
  /** then, in the cart, one line's quantity is changed to this */
  change: Purchase;
}

interface Product {
  id: number;
  seller: string;
  priceFen: number;
}

const squash = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim();

/**
 * Waits until `locator` reads `expected` (whitespace squashed): pages move on by themselves after
 * a click, so the check polls instead of reading once. The error says what the shopper saw instead.
 */
export async function seeText(locator: Locator, expected: string, what: string, timeoutMs = scaled(10_000)): Promise<void> {
  let seen = '(nothing)';
  try {
    await waitFor(
      what,
      async () => {
        seen = squash(await locator.first().textContent({ timeout: 1_000 }));
        return seen === expected;
      },
      { timeoutMs },
    );
  } catch {
    throw new Error(`${what}: expected "${expected}", the page shows "${seen}"`);
  }
}

/**
 * One shopper's journey in a real browser: catalog -> cart -> checkout -> pay page -> the phone
 * (a second tab) -> success, then the admin's view of the payment. Each method is one step of
 * issue 8 and asserts what a person would see; later steps refuse to run when an earlier one
 * did not get as far.
 */
export class ShopperJourney {
  readonly texts: Texts;
  context: BrowserContext | undefined;
  page: Page | undefined;
  readonly products = new Map<string, Product>();
  quantities = new Map<string, number>();
  totalFen: number | undefined;
  outTradeNo: string | undefined;
  codeUrl: string | undefined;
  /** from pressing Pay on the phone to the first tab showing the success page */
  flippedAfterMs: number | undefined;
  transactionId: string | undefined;
  private readonly wechat: WxPayClient;

  constructor(
    private readonly options: {
      browser: Browser;
      /** where the shopper's browser goes: the shop, or the load balancer in front of shops */
      baseUrl: string;
      locale: Locale;
      /** screenshots go to <artifacts>/<prefix>-NN-<step>.png */
      artifacts: string;
      prefix: string;
    },
  ) {
    this.texts = TEXTS[options.locale];
    // WeChat's side of the wire, asked through the project's own client as the shop asks it
    this.wechat = createWxPayClient({ ...SIMULATOR_MERCHANT, signType: 'MD5', baseUrl: `${options.baseUrl}/wxsim` });
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  private get langQuery(): string {
    return this.options.locale === 'en' ? '?lang=en' : '';
  }

  artifact(name: string): string {
    return path.join(this.options.artifacts, `${this.options.prefix}-${name}`);
  }

  /** A screenshot of each page the journey visits, and axe-core's check of it at both sizes. */
  private async shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: this.artifact(`${name}.png`), fullPage: true });
    await expectAccessible(page, `${name} (${this.options.locale})`);
  }

  private need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`an earlier step did not get as far as ${what}`);
    return value;
  }

  shopperPage(): Page {
    return this.need(this.page, 'opening the catalog');
  }

  queryWechat(): Promise<OrderQueryResult> {
    return this.wechat.orderQuery({ outTradeNo: this.need(this.outTradeNo, 'the pay page') });
  }

  private sellers(): Set<string> {
    return new Set([...this.products.values()].map((p) => p.seller));
  }

  private expectedTotal(): number {
    let total = 0;
    for (const [sku, quantity] of this.quantities) total += this.need(this.products.get(sku), `the price of ${sku}`).priceFen * quantity;
    return total;
  }

  /** Step 1: catalog -> add from two sellers -> change a quantity in the cart -> checkout -> the pay page. */
  async shopAndCheckOut(plan: JourneyPlan): Promise<void> {
    const t = this.texts;
    // a Chinese browser: English comes only from ?lang=en
    this.context = await this.options.browser.newContext({ locale: 'zh-CN', viewport: { width: 1100, height: 900 } });
    this.context.setDefaultTimeout(10_000);
    const page = (this.page = await this.context.newPage());

    await page.goto(`${this.baseUrl}/${this.langQuery}`);
    await seeText(page.locator('h1'), t.catalogTitle, 'the catalog title');
    for (const { sku } of plan.items) {
      const card = page.locator(`li.product[data-sku="${sku}"]`);
      const product = {
        id: Number((await card.getAttribute('id'))?.replace('product-', '')),
        seller: (await card.getAttribute('data-seller')) ?? '',
        priceFen: Number(await card.locator('.price').getAttribute('data-fen')),
      };
      expect(product.priceFen).toBeGreaterThan(0);
      await seeText(card.locator('.price'), formatFen(product.priceFen), `the price of ${sku} in the catalog`);
      this.products.set(sku, product);
    }
    const sellers = this.sellers();
    expect(sellers.size).toBeGreaterThanOrEqual(2);
    await this.shot(page, '01-catalog');

    let inCart = 0;
    for (const { sku, quantity } of plan.items) {
      const card = page.locator(`li.product[data-sku="${sku}"]`);
      await card.locator('input[name="quantity"]').fill(String(quantity));
      await card.locator('form.add-to-cart button[type="submit"]').click();
      inCart += quantity;
      this.quantities.set(sku, (this.quantities.get(sku) ?? 0) + quantity);
      await seeText(page.locator('.cart-link'), t.cartCount(inCart), `the header's cart link after adding ${sku}`);
      await seeText(page.locator('.flash'), t.added(quantity), `the note after adding ${sku}`);
    }

    await page.locator('.cart-link').click();
    await seeText(page.locator('h1'), t.cartTitle, 'the cart title');
    const groups = await page.locator('section.seller-group').evaluateAll((els) => els.map((el) => el.getAttribute('data-seller')));
    expect(groups.sort()).toEqual([...sellers].sort());

    const line = page.locator(`tr.cart-line[data-sku="${plan.change.sku}"]`);
    await line.locator('input[name="quantity"]').fill(String(plan.change.quantity));
    await line.locator('form[action="/cart/update"] button[type="submit"]').click();
    this.quantities.set(plan.change.sku, plan.change.quantity);
    await seeText(page.locator('.flash'), t.updated, 'the note after changing a quantity');
    const changed = this.need(this.products.get(plan.change.sku), plan.change.sku);
    await seeText(line.locator('.line-total'), formatFen(changed.priceFen * plan.change.quantity), `the line total of ${plan.change.sku}`);
    const total = (this.totalFen = this.expectedTotal());
    await seeText(page.locator('p.total strong'), formatFen(total), 'the cart total');
    expect(await page.locator('p.total').getAttribute('data-fen')).toBe(String(total));
    await this.shot(page, '02-cart');

    await page.locator('a.button[href="/checkout"]').click();
    await seeText(page.locator('h1'), t.checkoutTitle, 'the checkout title');
    await page.locator('#receiver_name').fill(RECEIVER.name);
    await page.locator('#receiver_mobile').fill(RECEIVER.mobile);
    await page.locator('#receiver_address').fill(RECEIVER.address);
    await page.locator('#pay_wxpay').check();
    await seeText(page.locator('.checkout-summary p.total strong'), formatFen(total), 'the checkout summary total');
    await this.shot(page, '03-checkout');
    await page.locator('button.primary-action').click();
    await page.waitForURL(/\/pay\/\w+$/);
    this.outTradeNo = /\/pay\/(\w+)$/.exec(page.url())?.[1];
  }

  /**
   * Step 2: the pay page shows the amount and a QR code; the code is read back from the
   * screenshot's pixels and must be the code_url of this payment: the one the page carries, the one
   * its simulator link opens, and (checked on the phone in step 3) one WeChat resolves to this trade.
   */
  async readPayPage(): Promise<void> {
    const t = this.texts;
    const page = this.shopperPage();
    const total = this.need(this.totalFen, 'the cart total');
    const outTradeNo = this.need(this.outTradeNo, 'the pay page');
    await seeText(page.locator('h1'), t.payTitle, 'the pay page title');
    await seeText(page.locator('.pay-lead'), t.payLead, 'the line on top of the pay page');
    await seeText(page.locator('.pay-amount .muted'), t.amountDue, 'the amount label');
    await seeText(page.locator('.pay-amount .amount'), formatFen(total), 'the amount due');
    // one order per seller, each unpaid
    const statuses = await page.locator('.order .status').allTextContents();
    expect(statuses).toHaveLength(this.sellers().size);
    expect(new Set(statuses)).toEqual(new Set([t.orderUnpaid]));

    const qr = page.locator('figure.qr');
    const png = await qr.screenshot({ path: this.artifact('04-pay-qr.png') });
    await this.shot(page, '04-pay');
    const decoded = decodeQrPng(png);
    expect(decoded).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=\w+$/);
    expect(decoded).toBe(await qr.getAttribute('data-code-url'));
    expect(await page.locator('a.simulator-link').getAttribute('href')).toBe(`/wxsim/scan?code_url=${encodeURIComponent(decoded as string)}`);
    this.codeUrl = decoded;

    // WeChat (the simulator, over its v2 API) knows this trade, unpaid, for this amount
    const trade = await this.queryWechat();
    expect({ tradeState: trade.tradeState, outTradeNo: trade.outTradeNo, totalFee: trade.totalFee }).toEqual({ tradeState: 'NOTPAY', outTradeNo, totalFee: total });
  }

  /**
   * Step 3: a second tab plays the phone: it opens the code read from the QR picture, shows this
   * payment, and Pay is pressed. The first tab is not touched; the time from Pay until it shows
   * the success page is kept for step 4.
   */
  async payOnPhone(phoneBaseUrl: string = this.baseUrl): Promise<void> {
    const context = this.need(this.context, 'opening the catalog');
    const page = this.shopperPage();
    const codeUrl = this.need(this.codeUrl, 'reading the QR code');
    const outTradeNo = this.need(this.outTradeNo, 'the pay page');
    const total = this.need(this.totalFen, 'the cart total');

    const phone = await context.newPage();
    await phone.goto(`${phoneBaseUrl}/wxsim/scan?code_url=${encodeURIComponent(codeUrl)}`);
    await seeText(phone.locator('[data-field="out_trade_no"]'), outTradeNo, 'the payment number on the phone');
    await seeText(phone.locator('p.amount[data-field="amount"]'), `¥${fenToYuanString(total)}`, 'the amount on the phone');
    await this.shot(phone, '05-phone');

    const successUrl = new RegExp(`/pay/${outTradeNo}/success$`);
    // generous here so that a slow flip is reported with its time rather than as a time-out
    const flipped = page.waitForURL(successUrl, { timeout: 20_000 }).then(() => Date.now());
    const pressedAt = Date.now();
    await phone.locator('#pay').click();
    await seeText(phone.locator('.card.success h1'), '支付成功 · Payment successful', 'the phone after Pay');
    this.flippedAfterMs = (await flipped) - pressedAt;
    await this.shot(phone, '06-phone-paid');
    await phone.close();
  }

  /** Step 4: what the first tab shows once it has moved on by itself. */
  async seeSuccess(): Promise<void> {
    const t = this.texts;
    const page = this.shopperPage();
    const total = this.need(this.totalFen, 'the cart total');
    await seeText(page.locator('h1'), t.successTitle, 'the success page title');
    await seeText(page.locator('.paid-amount'), t.successText(formatFen(total)), 'the amount paid');
    expect(await page.locator('.paid-amount').getAttribute('data-fen')).toBe(String(total));
    const transactionLine = squash(await page.locator('.pay-success p.muted').first().textContent());
    expect(transactionLine.startsWith(t.transactionPrefix)).toBe(true);
    this.transactionId = transactionLine.slice(t.transactionPrefix.length);
    expect(this.transactionId).toMatch(/^\d{28}$/);
    const statuses = await page.locator('.order .status').allTextContents();
    expect(statuses).toHaveLength(this.sellers().size);
    expect(new Set(statuses)).toEqual(new Set([t.orderPaid]));
    await this.shot(page, '07-success');

    const trade = await this.queryWechat();
    expect({ tradeState: trade.tradeState, transactionId: trade.transactionId, totalFee: trade.totalFee }).toEqual({ tradeState: 'SUCCESS', transactionId: this.transactionId, totalFee: total });
  }

  /**
   * Step 5: an admin (another browser context) logs in, finds the payment as paid in the paylog
   * table, and exports the CSV through the browser's download; the CSV's row for it says SUCCESS.
   */
  async adminFindsPayment(password: string): Promise<void> {
    const t = this.texts;
    const outTradeNo = this.need(this.outTradeNo, 'the pay page');
    const transactionId = this.need(this.transactionId, 'the success page');
    const total = this.need(this.totalFen, 'the cart total');
    const admin = await this.options.browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    admin.setDefaultTimeout(10_000);
    try {
      const page = await admin.newPage();
      await page.goto(`${this.baseUrl}/admin/paylog${this.langQuery}`);
      await page.waitForURL(/\/admin\/login\?next=/);
      await seeText(page.locator('h1'), t.adminLoginTitle, 'the admin login title');
      await page.locator('#username').fill(ADMIN_USER);
      await page.locator('#password').fill(password);
      await this.shot(page, '08-admin-login');
      await page.locator('button.primary-action').click();
      await page.waitForURL(/\/admin\/paylog(\?lang=en)?$/);
      await seeText(page.locator('h1'), t.paylogTitle, 'the paylog title');

      const row = page.locator(`tr[data-out-trade-no="${outTradeNo}"]`);
      await seeText(row.locator('.state'), t.adminStatePaid, `the state of ${outTradeNo} in the paylog`);
      expect(await row.locator('.state').getAttribute('class')).toContain('state-SUCCESS');
      await seeText(row.locator('td.num[data-fen]'), formatFen(total), `the amount of ${outTradeNo} in the paylog`);
      expect(await row.locator('td.num[data-fen]').getAttribute('data-fen')).toBe(String(total));
      expect(await row.locator('td.mono').allTextContents()).toContain(transactionId);
      await this.shot(page, '09-admin-paylog');

      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#paylog-totals a[download]').click()]);
      expect(download.suggestedFilename()).toMatch(/^paylog-\d{4}-\d{2}-\d{2}\.csv$/);
      const csvPath = this.artifact('paylog.csv');
      await download.saveAs(csvPath);
      const csv = fs.readFileSync(csvPath, 'utf8');
      expect(csv.startsWith(`\uFEFF${t.csvFirstHeader},`)).toBe(true);
      // long numbers are written ="..." so that Excel keeps them as text
      const rowOfPayment = csv.split('\r\n').find((line) => line.startsWith(`="${outTradeNo}",`));
      expect(rowOfPayment).toBeDefined();
      expect(rowOfPayment?.split(',')).toEqual(expect.arrayContaining([fenToYuanString(total), 'SUCCESS', `="${transactionId}"`]));

      // search by the receiver's Chinese name finds the payment
      await page.locator('#f-q').fill(RECEIVER.name);
      await Promise.all([page.waitForURL(/\/admin\/paylog\?/), page.locator('#f-q').press('Enter')]);
      await seeText(row.locator('.state'), t.adminStatePaid, `${outTradeNo} found by the receiver's name`);
      await this.shot(page, '09b-admin-search');

      // the detail: the order log in the admin's language, the payment's line once for all its orders
      await page.goto(`${this.baseUrl}/admin/paylog/${outTradeNo}${this.langQuery}`);
      const paidLine = page.locator('table.order-log tbody tr').filter({ hasText: `${t.adminPaidRemark} ${transactionId}` });
      expect(await paidLine.count()).toBe(1);
      // one line naming every order of the payment (one per seller), not one line per order
      const ordersOfLine = ((await paidLine.locator('td').nth(1).textContent()) ?? '').split(',').map((id) => id.trim());
      expect(ordersOfLine).toHaveLength(this.sellers().size);
      await this.shot(page, '09c-admin-detail');

      // the dashboard's 14-day chart, drawn on the server
      await page.goto(`${this.baseUrl}/admin${this.langQuery}`);
      await seeText(page.locator('#chart-title'), t.chartTitle, 'the dashboard chart title');
      expect(await page.locator('svg.chart[role="img"]').count()).toBe(1);
      await this.shot(page, '09d-admin-dashboard');
    } finally {
      await admin.close();
    }
  }

  /**
   * The shopper leaves the pay page for the catalog: the header's "my orders" carries a badge with
   * the unpaid orders; "my orders" lists them first, and "pay now" brings back the same QR code.
   */
  async leaveAndComeBack(): Promise<void> {
    const t = this.texts;
    const page = this.shopperPage();
    const outTradeNo = this.need(this.outTradeNo, 'the pay page');
    const codeUrl = this.need(this.codeUrl, 'reading the QR code');
    await page.goto(`${this.baseUrl}/${this.langQuery}`);
    await seeText(page.locator('.orders-link .badge'), String(this.sellers().size), "the badge of unpaid orders in the header");
    await page.locator('.orders-link').click();
    await seeText(page.locator('h1'), t.ordersTitle, 'the my-orders title');
    const payNow = page.locator(`a.pay-now[href="/pay/${outTradeNo}"]`);
    expect(await payNow.count()).toBe(this.sellers().size);
    await this.shot(page, '04b-my-orders');
    await payNow.first().click();
    await page.waitForURL(new RegExp(`/pay/${outTradeNo}$`));
    expect(await page.locator('figure.qr').getAttribute('data-code-url')).toBe(codeUrl);
  }

  /** The admin, in a browser of their own, has the simulator drop this trade's notify (fault panel). */
  private async dropNotifyOnPanel(outTradeNo: string, adminPassword: string): Promise<void> {
    const admin = await this.options.browser.newContext({ locale: 'zh-CN', viewport: { width: 1366, height: 768 } });
    admin.setDefaultTimeout(10_000);
    try {
      const page = await admin.newPage();
      await page.goto(`${this.baseUrl}/wxsim/panel`);
      await page.waitForURL(/\/admin\/login\?next=/);
      await page.locator('#username').fill(ADMIN_USER);
      await page.locator('#password').fill(adminPassword);
      await page.locator('button.primary-action').click();
      await page.waitForURL(/\/wxsim\/panel/);
      await page.locator('#f-mch').selectOption(SIMULATOR_MERCHANT.mchId);
      await page.locator('#f-kind').selectOption('notify_drop');
      await page.locator('#f-trade').fill(outTradeNo);
      await page.locator('#add-fault button[type="submit"]').click();
      await seeText(page.locator('table.faults tr[data-kind="notify_drop"]').filter({ hasText: outTradeNo }).locator('td').nth(2), `${SIMULATOR_MERCHANT.mchId} / ${outTradeNo}`, 'the new fault in the panel');
    } finally {
      await admin.close();
    }
  }

  /**
   * A shopper of its own (a new browser context) buys one thing; WeChat's notify for it is lost
   * (a fault set at the simulator); after paying on the phone, "I have paid" asks WeChat and the
   * pay page moves to success, sooner than the status poll would ask by itself (15 s).
   */
  async rescueLostNotify(sku: string, adminPassword: string): Promise<void> {
    const t = this.texts;
    const context = await this.options.browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(10_000);
    try {
      const page = await context.newPage();
      await page.goto(`${this.baseUrl}/${this.langQuery}`);
      await page.locator(`li.product[data-sku="${sku}"] form.add-to-cart button[type="submit"]`).click();
      await seeText(page.locator('.cart-link'), t.cartCount(1), 'the cart link after adding one');
      await page.goto(`${this.baseUrl}/checkout${this.langQuery}`);
      await page.locator('#receiver_name').fill(RECEIVER.name);
      await page.locator('#receiver_mobile').fill(RECEIVER.mobile);
      await page.locator('#receiver_address').fill(RECEIVER.address);
      await page.locator('button.primary-action').click();
      await page.waitForURL(/\/pay\/\w+$/);
      const outTradeNo = /\/pay\/(\w+)$/.exec(page.url())?.[1] as string;
      const codeUrl = (await page.locator('figure.qr').getAttribute('data-code-url')) as string;
      // the notify is lost: the admin sets that up on the simulator's fault panel (it needs the admin's login)
      await this.dropNotifyOnPanel(outTradeNo, adminPassword);

      const phone = await context.newPage();
      await phone.goto(`${this.baseUrl}/wxsim/scan?code_url=${encodeURIComponent(codeUrl)}`);
      await phone.locator('#pay').click();
      await seeText(phone.locator('.card.success h1'), '支付成功 · Payment successful', 'the phone after Pay');
      await phone.close();
      const trade = await this.wechat.orderQuery({ outTradeNo });
      expect(trade.tradeState).toBe('SUCCESS');

      const pressedAt = Date.now();
      await seeText(page.locator('#pay-check button'), t.iHavePaid, 'the "I have paid" button');
      await page.locator('#pay-check button').click();
      await page.waitForURL(new RegExp(`/pay/${outTradeNo}/success$`));
      expect(Date.now() - pressedAt).toBeLessThan(10_000);
      await seeText(page.locator('h1'), t.successTitle, 'the success page after "I have paid"');
      await this.shot(page, '10-rescued-by-i-have-paid');
    } finally {
      await context.close();
    }
  }

  /**
   * The pay page once its QR code has expired (`expire` moves the shop's clock past it, as a
   * shopper coming back a quarter of an hour later would find it): the stale code is gone and a
   * new one is offered.
   */
  async seeExpiredPayPage(expire: () => void): Promise<void> {
    const page = this.shopperPage();
    const outTradeNo = this.need(this.outTradeNo, 'the pay page');
    expire();
    await page.goto(`${this.baseUrl}/pay/${outTradeNo}${this.langQuery}`);
    await seeText(page.locator('h1'), this.texts.expiredTitle, 'the pay page after its QR code expired');
    expect(await page.locator('figure.qr').count()).toBe(0);
    expect(await page.locator(`form[action="/pay/${outTradeNo}/renew"] button`).count()).toBe(1);
    await this.shot(page, '04c-pay-expired');
  }

  /**
   * Pay again after the sweeper: once the sweeper has closed the expired payment and its orders
   * (here and at WeChat), "get a new QR code" is no dead end: the page says the orders are closed
   * and offers "buy these again", which puts the goods back in the cart.
   */
  async payAgainAfterSweeper(sweep: () => Promise<unknown>): Promise<void> {
    const page = this.shopperPage();
    const outTradeNo = this.need(this.outTradeNo, 'the pay page');
    await sweep();
    await page.locator(`form[action="/pay/${outTradeNo}/renew"] button`).click();
    await page.waitForURL(new RegExp(`/pay/${outTradeNo}(\\?.*)?$`));
    const buyAgain = page.locator(`form[action="/pay/${outTradeNo}/buy-again"] button`);
    expect(await buyAgain.count()).toBe(1);
    await this.shot(page, '04d-pay-orders-closed');
    await buyAgain.click();
    await page.waitForURL(/\/cart(\?.*)?$/);
    expect(await page.locator('tr.cart-line').count()).toBeGreaterThan(0);
    await this.shot(page, '04e-cart-bought-again');
  }

  /**
   * From another device (a new browser context, phone-sized): "find an order" by its number and
   * the receiver's mobile. A wrong mobile is answered on the form; the right one lists the order.
   */
  async findOrderFromAnotherDevice(): Promise<void> {
    const t = this.texts;
    const orderId = this.need((await this.shopperPage().locator('[data-order-id]').first().getAttribute('data-order-id')) ?? undefined, 'an order number on the page');
    const context = await this.options.browser.newContext({ locale: this.options.locale === 'en' ? 'en-US' : 'zh-CN', viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(10_000);
    try {
      const page = await context.newPage();
      await page.goto(`${this.baseUrl}/orders/find${this.langQuery}`);
      await seeText(page.locator('h1'), t.findTitle, 'the find-an-order title');
      await this.shot(page, '11-orders-find');
      await page.locator('#find_order_id').fill(orderId);
      await page.locator('#find_mobile').fill('13900000000');
      await page.locator('button.primary-action').click();
      await seeText(page.locator('#find-error'), t.findNoMatch, 'the answer to a wrong mobile');
      await this.shot(page, '11b-orders-find-no-match');
      await page.locator('#find_mobile').fill(RECEIVER.mobile);
      await page.locator('button.primary-action').click();
      await page.waitForURL(/\/orders(\?.*)?$/);
      await seeText(page.locator('h1'), t.ordersTitle, 'my orders after finding one');
      expect(await page.locator(`[data-order-id="${orderId}"]`).count()).toBe(1);
    } finally {
      await context.close();
    }
  }

  async close(): Promise<void> {
    await this.context?.close();
  }
}
