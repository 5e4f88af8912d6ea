import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devices, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expectAccessible } from './helpers/axe';
import { artifactsDir, decodeQrPng, launchChromium } from './helpers/browser';
import { createServerDatabase, type ServerDatabase } from './helpers/database';
import { RECEIVER, seeText } from './helpers/journey';
import { startBalancer, type Balancer } from './helpers/nginx';
import { freePorts } from './helpers/processes';
import { adminPasswordHash, startShop, type ShopProcess } from './helpers/shop';

/**
 * Issue 15: the way to pay follows the shopper's device, in real Chromium with device emulation,
 * through nginx (deploy/nginx/shop.conf.template) in front of the shop as `npm start` runs it, on
 * PostgreSQL when DATABASE_URL is set, else embedded PGlite. Three journeys in both languages:
 *  - a desktop browser: the QR code, paid on the simulator's phone;
 *  - a phone's browser: H5 payment (WeChat's cashier, then back to the shop);
 *  - WeChat's own browser (its user agent, the simulator's WeixinJSBridge as an init script): the
 *    Official Account's web authorization, then JSAPI payment with the shop's second signature.
 * Every page visited passes axe (serious and critical) at both sizes. Screenshots:
 * tests/e2e/artifacts/mobile-<pglite|postgres>/.
 */

type Locale = 'zh' | 'en';
const WECHAT_UA = `${devices['iPhone 13'].userAgent} MicroMessenger/8.0.50(0x1800322b) NetType/WIFI Language/zh_CN`;

const TEXTS = {
  zh: {
    qrTitle: '微信扫码支付',
    wechatTitle: '微信支付',
    toQr: '改用二维码支付',
    toH5: '打开微信支付',
    successTitle: '支付成功',
    returned: '您刚从微信回来',
    paying: '请在微信中完成付款…',
    adminTradeType: { NATIVE: '扫码支付', MWEB: 'H5 支付', JSAPI: '微信内支付' },
  },
  en: {
    qrTitle: 'Pay with WeChat',
    wechatTitle: 'Pay with WeChat',
    toQr: 'Pay with a QR code instead',
    toH5: 'Open WeChat to pay',
    successTitle: 'Payment received',
    returned: 'You are back from WeChat',
    paying: 'Please finish the payment in WeChat…',
    adminTradeType: { NATIVE: 'QR code', MWEB: 'H5 (phone browser)', JSAPI: 'In WeChat (JSAPI)' },
  },
} as const;

const SKUS: Record<Locale, string> = { zh: 'TEA-LJ-250', en: 'FARM-HNY-500' };

describe('the way to pay follows the device (real Chromium with device emulation, through nginx)', () => {
  const kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  const adminPassword = `e2e-${crypto.randomBytes(12).toString('base64url')}`;
  let artifacts: string;
  let tmp: string;
  let database: ServerDatabase | undefined;
  let shop: ShopProcess | undefined;
  let balancer: Balancer | undefined;
  let browser: Browser | undefined;
  let base = '';
  let bridgeScript = '';
  /** out_trade_no -> the trade type each journey's payment was made with */
  const paid = new Map<string, 'NATIVE' | 'MWEB' | 'JSAPI'>();

  beforeAll(async () => {
    artifacts = artifactsDir(`mobile-${kind}`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-e2e-mobile-'));
    if (process.env.DATABASE_URL) database = await createServerDatabase(process.env.DATABASE_URL);
    const [[shopPort, lbPort], hash] = await Promise.all([freePorts(2) as Promise<[number, number]>, adminPasswordHash(adminPassword)]);
    const dbEnv: Record<string, string> = database ? { DATABASE_URL: database.url } : { PGLITE_DIR: path.join(tmp, 'pglite') };
    const started = await Promise.allSettled([
      startShop('shop', { port: shopPort, env: { ...dbEnv, TRUST_PROXY: '1', SWEEP_INTERVAL_SECONDS: '0', ADMIN_PASSWORD_HASH: hash }, logPath: path.join(artifacts, 'shop.log') }),
      launchChromium(),
    ]);
    if (started[0].status === 'fulfilled') shop = started[0].value;
    if (started[1].status === 'fulfilled') browser = started[1].value;
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    balancer = await startBalancer({ dir: tmp, port: lbPort, upstreams: [`127.0.0.1:${shopPort}`] });
    base = balancer.url;
    // what WeChat's browser puts on every page, here the simulator's stand-in, as the browser's init script
    bridgeScript = await (await fetch(`${base}/wxsim/jsbridge.js`)).text();
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await balancer?.stop();
    await shop?.stop();
    await database?.drop().catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  const need = () => {
    if (!browser || !shop || !balancer) throw new Error('the shop, nginx or the browser did not start');
    return browser;
  };

  async function shot(page: Page, name: string, what: string) {
    await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
    await expectAccessible(page, what);
  }

  /** Catalog -> add one product -> cart -> checkout with a receiver, WeChat Pay: the page the shop moves on to. */
  async function checkOut(page: Page, locale: Locale): Promise<string> {
    await page.goto(`${base}/${locale === 'en' ? '?lang=en' : ''}`);
    const card = page.locator(`li.product[data-sku="${SKUS[locale]}"]`);
    await card.locator('form.add-to-cart button[type="submit"]').click();
    await page.locator('.flash').first().waitFor();
    await page.locator('.cart-link').click();
    await page.locator('a.button[href="/checkout"]').click();
    await page.locator('#receiver_name').fill(RECEIVER.name);
    await page.locator('#receiver_mobile').fill(RECEIVER.mobile);
    await page.locator('#receiver_address').fill(RECEIVER.address);
    await page.locator('#pay_wxpay').check();
    await page.locator('button.primary-action').click();
    // (after WeChat's web authorization the address keeps its #wechat_redirect, as in WeChat's browser)
    await page.waitForURL(/\/pay\/\w+(#wechat_redirect)?$/);
    return /\/pay\/(\w+)(#wechat_redirect)?$/.exec(page.url())?.[1] as string;
  }

  const context = async (options: Parameters<Browser['newContext']>[0]): Promise<BrowserContext> => {
    const c = await need().newContext({ locale: 'zh-CN', ...options });
    c.setDefaultTimeout(15_000);
    return c;
  };

  const journeys = (locale: Locale) =>
    describe(locale === 'zh' ? 'in Chinese' : 'in English', () => {
      const t = TEXTS[locale];

      test('a desktop browser gets the QR code (no switch), paid on the phone: the page moves on to success', async () => {
        const c = await context({ viewport: { width: 1280, height: 860 } });
        try {
          const page = await c.newPage();
          const outTradeNo = await checkOut(page, locale);
          await seeText(page.locator('h1'), t.qrTitle, 'the QR pay page title');
          expect(await page.locator('#pay-switch').count()).toBe(0);
          const qr = page.locator('figure.qr');
          const codeUrl = decodeQrPng(await qr.screenshot());
          expect(codeUrl).toBe(await qr.getAttribute('data-code-url'));
          await shot(page, `${locale}-desktop-pay`, `the desktop pay page (${locale})`);
          const phone = await c.newPage();
          await phone.goto(`${base}/wxsim/scan?code_url=${encodeURIComponent(codeUrl as string)}`);
          await phone.locator('#pay').click();
          await page.waitForURL(new RegExp(`/pay/${outTradeNo}/success$`), { timeout: 20_000 });
          await seeText(page.locator('h1'), t.successTitle, 'the success page');
          paid.set(outTradeNo, 'NATIVE');
        } finally {
          await c.close();
        }
      });

      test("a phone's browser: the Pay button (and the switch to a QR code and back), WeChat's H5 cashier, back to the shop, success", async () => {
        const c = await context({ ...devices['iPhone 13'] });
        try {
          const page = await c.newPage();
          let outTradeNo = await checkOut(page, locale);
          await seeText(page.locator('h1'), t.wechatTitle, 'the H5 pay page title');
          expect(await page.locator('figure.qr').count()).toBe(0);
          await shot(page, `${locale}-phone-pay`, `the phone's H5 pay page (${locale})`);
          // "pay with a QR code instead" (e.g. with another phone) and back: a new attempt each way
          await page.locator('#pay-switch button').click();
          await page.waitForURL((url) => !url.pathname.endsWith(outTradeNo));
          await seeText(page.locator('h1'), t.qrTitle, 'the QR page after the switch');
          await seeText(page.locator('#pay-switch button'), t.toH5, 'the switch back');
          await shot(page, `${locale}-phone-qr`, `the QR page on a phone (${locale})`);
          await page.locator('#pay-switch button').click();
          await seeText(page.locator('h1'), t.wechatTitle, 'the H5 page after switching back');
          await seeText(page.locator('#pay-switch button'), t.toQr, 'the switch to a QR code');
          outTradeNo = /\/pay\/(\w+)$/.exec(page.url())?.[1] as string;

          // Pay: WeChat's H5 cashier opens (the simulator's stand-in checks the Referer's domain and the address)
          await page.locator('#pay-h5 button').click();
          await page.waitForURL(/\/wxsim\/h5pay\/checkmweb\?/);
          await shot(page, `${locale}-phone-cashier`, "WeChat's H5 cashier");
          await page.locator('#pay').click();
          // back on the shop: never trusted by itself; the page moves on once WeChat's notify lands
          await page.waitForURL(new RegExp(`/pay/${outTradeNo}(/success|\\?returned=1)$`));
          await page.waitForURL(new RegExp(`/pay/${outTradeNo}/success$`), { timeout: 20_000 });
          await seeText(page.locator('h1'), t.successTitle, 'the success page after H5');
          await shot(page, `${locale}-phone-success`, `the success page on a phone (${locale})`);
          paid.set(outTradeNo, 'MWEB');
        } finally {
          await c.close();
        }
      });

      test("back from WeChat's cashier without paying: the page says so and waits; cancelling changes nothing", async () => {
        const c = await context({ ...devices['iPhone 13'] });
        try {
          const page = await c.newPage();
          const outTradeNo = await checkOut(page, locale);
          await page.locator('#pay-h5 button').click();
          await page.waitForURL(/\/wxsim\/h5pay\/checkmweb\?/);
          await page.locator('#cancel').click();
          await page.waitForURL(new RegExp(`/pay/${outTradeNo}\\?returned=1$`));
          expect(await page.locator('#pay-returned').textContent()).toContain(t.returned);
          // still unpaid, still payable: the Pay button is there again
          await page.locator('#pay-h5 button').waitFor({ state: 'visible' });
          await shot(page, `${locale}-phone-returned`, `the pay page after coming back unpaid (${locale})`);
        } finally {
          await c.close();
        }
      });

      test("WeChat's browser: the Official Account's web authorization, the Pay button, the bridge (paySign checked), success", async () => {
        const c = await context({ ...devices['iPhone 13'], userAgent: WECHAT_UA });
        try {
          await c.addInitScript({ content: bridgeScript });
          const page = await c.newPage();
          const errors: string[] = [];
          page.on('console', (m) => {
            if (m.type() === 'error') errors.push(m.text());
          });
          const outTradeNo = await checkOut(page, locale);
          // the silent authorization went by: the shopper is on the pay page with the button shown
          await seeText(page.locator('h1'), t.wechatTitle, 'the JSAPI pay page title');
          const button = page.locator('#pay-jsapi');
          await button.waitFor({ state: 'visible' });
          await shot(page, `${locale}-wechat-pay`, `the pay page in WeChat (${locale})`);
          await button.click();
          await page.waitForURL(new RegExp(`/pay/${outTradeNo}/success$`), { timeout: 20_000 });
          await seeText(page.locator('h1'), t.successTitle, 'the success page in WeChat');
          await shot(page, `${locale}-wechat-success`, `the success page in WeChat (${locale})`);
          expect(errors).toEqual([]);
          paid.set(outTradeNo, 'JSAPI');
        } finally {
          await c.close();
        }
      });
    });

  journeys('zh');
  journeys('en');

  test('the admin sees how each was paid: the trade type in the paylog, its filter, and the CSV', async () => {
    const c = await context({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
    try {
      const page = await c.newPage();
      await page.goto(`${base}/admin/login`);
      await page.locator('#username').fill('admin');
      await page.locator('#password').fill(adminPassword);
      await page.locator('button.primary-action').click();
      await page.waitForURL(/\/admin\/?$/);
      for (const tradeType of ['NATIVE', 'MWEB', 'JSAPI'] as const) {
        await page.goto(`${base}/admin/paylog?trade_type=${tradeType}`);
        const mine = [...paid].filter(([, type]) => type === tradeType).map(([no]) => no);
        expect(mine.length).toBe(2);
        for (const outTradeNo of mine) {
          const row = page.locator(`tr[data-out-trade-no="${outTradeNo}"]`);
          await seeText(row.locator('td.trade-type'), TEXTS.zh.adminTradeType[tradeType], `the trade type of ${outTradeNo}`);
        }
        const others = await page.locator('td.trade-type').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-trade-type')));
        expect(new Set(others)).toEqual(new Set([tradeType]));
      }
      await shot(page, 'admin-paylog-trade-type', 'the paylog filtered by trade type');
      await page.goto(`${base}/admin/paylog`);
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#paylog-totals a[download]').click()]);
      const csvPath = path.join(artifacts, 'paylog.csv');
      await download.saveAs(csvPath);
      const lines = fs.readFileSync(csvPath, 'utf8').split('\r\n');
      for (const [outTradeNo, tradeType] of paid) {
        // (a long number is written ="..." so that Excel keeps it as text)
        expect(lines.find((line) => line.startsWith(`="${outTradeNo}",`))?.split(',')).toEqual(expect.arrayContaining(['SUCCESS', tradeType]));
      }
    } finally {
      await c.close();
    }
  });

  test('afterwards: the shop stops on SIGTERM with exit code 0', async () => {
    await browser?.close();
    browser = undefined;
    await balancer?.stop();
    expect(await shop?.stop()).toEqual({ code: 0, signal: null });
  });
});
