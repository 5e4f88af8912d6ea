import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { expectAccessible } from './helpers/axe';
import { shopAndBrowser } from './helpers/shop-and-browser';
import { operationsShipsButCannotRefund } from './helpers/team-journey';

/**
 * Issue 25 in a real browser, in Chinese and in English: the owner adds a product with two sizes
 * and an image, a shopper buys one size, and the stock movement of that sale shows on the
 * product's admin page; the shopper pays, and an operations member the owner invites ships the
 * order but cannot refund it (tests/e2e/helpers/team-journey.ts). axe-core on every new page
 * (catalog, product, admin products, product edit, import, settings, staff, account, audit) at a
 * laptop's and a phone's size.
 */
describe('the merchant adds a product with sizes and an image, a shopper buys a size, operations ships it but cannot refund (real Chromium, PGlite)', () => {
  const setup = shopAndBrowser('catalog');
  let photo: string;
  beforeAll(async () => {
    photo = path.join(setup.tmp, 'photo.jpg');
    fs.writeFileSync(photo, await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 30, g: 90, b: 160 } } }).jpeg().toBuffer());
  });

  for (const locale of ['zh', 'en'] as const) {
    test(`${locale}: add a product with two sizes and an image; a shopper buys size L; the sale shows as a stock movement; operations ships it but cannot refund`, async () => {
      if (!setup.shop || !setup.browser) throw new Error('the shop or the browser did not start');
      const base = setup.shop.url;
      const lang = `lang=${locale}`;
      const admin: Page = await (await setup.browser.newContext()).newPage();
      await admin.goto(`${base}/admin/login?${lang}`);
      await admin.locator('input[name="username"]').fill('admin');
      await admin.locator('input[name="password"]').fill(setup.adminPassword);
      await admin.locator('form button[type="submit"]').click();
      await admin.waitForURL(`${base}/admin`);

      await admin.goto(`${base}/admin/products/new`);
      await expectAccessible(admin, 'the new product form');
      const sku = `E2E-${locale.toUpperCase()}-${Date.now() % 100000}`;
      await admin.locator('#f-title').fill(locale === 'zh' ? '亚麻衬衫' : 'Linen shirt');
      await admin.locator('#f-sku').fill(sku);
      await admin.locator('#f-seller').fill('江南丝绸坊');
      await admin.locator('#f-options').fill(locale === 'zh' ? '尺码' : 'Size');
      const rows = admin.locator('table.variants-table tbody tr');
      for (const [i, size, stock] of [[0, 'M', '4'], [1, 'L', '3']] as const) {
        await rows.nth(i).locator('input[name="v_sku"]').fill(`${sku}-${size}`);
        await rows.nth(i).locator('input[name="v_values"]').fill(size);
        await rows.nth(i).locator('input[name="v_price"]').fill('199');
        await rows.nth(i).locator('input[name="v_stock"]').fill(stock);
      }
      await admin.locator('form.product-form button[type="submit"]').click();
      await admin.waitForURL(/\/admin\/products\/\d+$/);
      const productId = /\/admin\/products\/(\d+)$/.exec(admin.url())?.[1] as string;
      await admin.locator('input[name="file"]').setInputFiles(photo);
      await admin.locator('form[enctype="multipart/form-data"] button[type="submit"]').click();
      await admin.waitForURL(`${base}/admin/products/${productId}`);
      expect(await admin.locator('img.product-admin-image').getAttribute('src')).toMatch(/^\/media\/[0-9a-f]{32}\/w240\.webp$/);
      await expectAccessible(admin, 'the product admin page');
      await admin.screenshot({ path: path.join(setup.artifacts, `${locale}-admin-product.png`), fullPage: true });

      const shopper: Page = await (await setup.browser.newContext()).newPage();
      await shopper.goto(`${base}/products/${productId}?${lang}`);
      await expectAccessible(shopper, 'the product page');
      const size = shopper.locator('#variant');
      await size.selectOption({ label: await size.locator(`option[data-sku="${sku}-L"]`).innerText() });
      await shopper.locator('form.add-to-cart button[type="submit"]').click();
      await shopper.locator('.cart-link').filter({ hasText: /1/ }).waitFor();
      await shopper.goto(`${base}/cart`);
      expect(await shopper.locator(`tr.cart-line[data-sku="${sku}-L"]`).count()).toBe(1);
      await shopper.goto(`${base}/checkout`);
      await shopper.locator('#receiver_name').fill('王五');
      await shopper.locator('#receiver_mobile').fill('13700137000');
      await shopper.locator('#receiver_address').fill('杭州市西湖区文三路 1 号');
      await shopper.locator('#pay_wxpay').check();
      await shopper.locator('button.primary-action').click();
      await shopper.waitForURL(/\/pay\/\d{24}$/);

      await admin.goto(`${base}/admin/products/${productId}`);
      const sale = admin.locator('tr.movement[data-reason="sale"]');
      expect(await sale.count()).toBe(1);
      expect(await sale.innerText()).toContain(`${sku}-L`);
      expect(await sale.innerText()).toContain('-1');
      expect(await admin.locator(`form.stock-count[data-sku="${sku}-L"] input[name="stock"]`).inputValue()).toBe('2');

      // the shopper pays on the simulator's phone; the pay page moves on to the paid order
      const outTradeNo = /\/pay\/(\d{24})$/.exec(shopper.url())?.[1] as string;
      const codeUrl = (await shopper.locator('figure.qr').getAttribute('data-code-url')) as string;
      const phone = await shopper.context().newPage();
      await phone.goto(`${base}/wxsim/scan?code_url=${encodeURIComponent(codeUrl)}`);
      const paid = shopper.waitForURL(new RegExp(`/pay/${outTradeNo}/success$`), { timeout: 20_000 });
      await phone.locator('#pay').click();
      await phone.locator('.card.success').waitFor();
      await paid;
      await phone.close();
      const orderId = Number(await shopper.locator('.pay-success .order[data-order-id]').first().getAttribute('data-order-id'));
      expect(orderId).toBeGreaterThan(0);

      await shopper.goto(`${base}/?${lang}`);
      await expectAccessible(shopper, 'the catalog');
      await shopper.goto(`${base}/search?q=${encodeURIComponent(locale === 'zh' ? '亚麻' : 'Linen')}`);
      expect(await shopper.locator(`li.product[data-sku="${sku}"]`).count()).toBe(1);
      await expectAccessible(shopper, 'a search');
      for (const page of ['/admin/products', '/admin/products/import', '/admin/settings', '/admin/orders']) {
        await admin.goto(`${base}${page}`);
        await expectAccessible(admin, page);
      }

      // an operations member ships that order but cannot refund it
      await operationsShipsButCannotRefund({ browser: setup.browser, baseUrl: base, locale, owner: admin, outTradeNo, orderId, shot: (page, name) => page.screenshot({ path: path.join(setup.artifacts, `${name}.png`), fullPage: true }).then(() => undefined) });
      await admin.context().close();
      await shopper.context().close();
    }, 180_000);
  }
});
