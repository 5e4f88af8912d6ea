/**
 * Screenshots of the pay page, checkout and the admin paylog at 1366x768 and 390x844, in Chinese,
 * from the shop as `npm start` runs it (a child process on embedded PGlite in a temporary
 * directory), and axe-core's verdict on each of those pages (serious and critical counted).
 *
 *   npx tsx scripts/screenshots.ts docs/screenshots/after
 *
 * Writes <dir>/<page>-<width>.png (the visible viewport, so the files stay small) and
 * <dir>/axe.json. Uses Debian's Chromium like the e2e journey.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../tests/e2e/helpers/browser';
import { freePort } from '../tests/e2e/helpers/processes';
import { adminPasswordHash, ROOT, startShop } from '../tests/e2e/helpers/shop';

const VIEWPORTS = [
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
];

interface AxeSummary {
  page: string;
  width: number;
  violations: { id: string; impact: string | null; nodes: number; help: string }[];
}

async function axeOf(page: Page, name: string, width: number): Promise<AxeSummary> {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: { id: string; impact: string | null; nodes: unknown[]; help: string }[];
  };
  return { page: name, width, violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })) };
}

async function main(): Promise<void> {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'docs', 'screenshots', 'after'));
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-shots-'));
  const password = crypto.randomBytes(12).toString('base64url');
  const [hash, port] = await Promise.all([adminPasswordHash(password), freePort()]);
  const shop = await startShop('shop', { port, env: { PGLITE_DIR: path.join(tmp, 'pglite'), ADMIN_PASSWORD_HASH: hash }, logPath: path.join(tmp, 'shop.log') });
  const browser = await launchChromium();
  const axe: AxeSummary[] = [];
  try {
    for (const viewport of VIEWPORTS) {
      const context = await browser.newContext({ locale: 'zh-CN', viewport, deviceScaleFactor: 1 });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const shot = async (name: string) => {
        await page.screenshot({ path: path.join(outDir, `${name}-${viewport.width}.png`) });
        axe.push(await axeOf(page, name, viewport.width));
      };
      await page.goto(`${shop.url}/`);
      for (const [i, sku] of ['TEA-LJ-250', 'GEEK-CBL-01'].entries()) {
        await page.locator(`li.product[data-sku="${sku}"] form.add-to-cart button[type="submit"]`).click();
        await page.waitForLoadState('load');
        // the cart count in the header says the add landed (a reload without the page's script, in place with it)
        await page.locator('.cart-link', { hasText: String(i + 1) }).waitFor();
      }
      axe.push(await axeOf(page, 'catalog', viewport.width));
      await page.goto(`${shop.url}/cart`);
      axe.push(await axeOf(page, 'cart', viewport.width));
      await page.goto(`${shop.url}/checkout`);
      await page.locator('#receiver_name').fill('张三');
      await page.locator('#receiver_mobile').fill('13800138000');
      await page.locator('#receiver_address').fill('上海市浦东新区世纪大道100号');
      await shot('checkout');
      await page.locator('form[action="/checkout"] button[type="submit"]').first().click();
      await page.waitForURL(/\/pay\/\w+$/);
      await shot('pay');
      const codeUrl = await page.locator('[data-code-url]').first().getAttribute('data-code-url');
      const phone = await context.newPage();
      await phone.goto(`${shop.url}/wxsim/scan?code_url=${encodeURIComponent(codeUrl ?? '')}`);
      await phone.locator('#pay').click();
      await page.waitForURL(/\/success$/);
      await phone.close();
      axe.push(await axeOf(page, 'success', viewport.width));

      await page.goto(`${shop.url}/admin/login`);
      if (page.url().includes('/admin/login')) {
        await page.locator('#username').fill('admin');
        await page.locator('#password').fill(password);
        await page.locator('form button[type="submit"]').first().click();
        await page.waitForURL(/\/admin(\/|$)/);
      }
      await page.goto(`${shop.url}/admin/paylog`);
      await shot('paylog');
      await context.close();
    }
  } finally {
    await browser.close();
    await shop.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(outDir, 'axe.json'), `${JSON.stringify(axe, null, 2)}\n`);
  for (const entry of axe) {
    const serious = entry.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    console.log(`${entry.page}@${entry.width}: ${serious.map((v) => `${v.id}(${v.impact},${v.nodes})`).join(' ') || 'no serious/critical'}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
