import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expectAccessible } from './axe';
import { ADMIN_USER, seeText, type Locale } from './journey';
import { waitFor } from './processes';

/**
 * The journey after "paid" (issue 23), in real Chromium: the admin finds the orders in the
 * awaiting-shipment queue, ships the first from its page and the others with a batch CSV (preview,
 * then confirm), the shopper follows the parcel on the order page (courier, tracking number, the
 * courier's own link) and confirms receipt, and the simulator's stand-in group robot shows the
 * merchant's alerts. Each new page screenshotted and checked by axe-core at both sizes.
 */

const TEXTS = {
  zh: { queue: '待发货', shipped: '已发货', completed: '已完成', batch: '批量发货', alerts: '商家提醒的发送', robotPaid: '新订单已付款', robotShipped: '订单已发货', robotCompleted: '订单已完成' },
  en: { queue: 'Awaiting shipment', shipped: 'Shipped', completed: 'Completed', batch: 'Batch shipment', alerts: "Sending the merchant's alerts", robotPaid: 'New order paid', robotShipped: 'Order shipped', robotCompleted: 'Order completed' },
} as const;

export async function shipAndReceive(options: { browser: Browser; baseUrl: string; locale: Locale; shopper: Page; adminPassword: string; artifact: (name: string) => string }): Promise<void> {
  const { browser, baseUrl, locale, shopper } = options;
  const t = TEXTS[locale];
  const lang = locale === 'en' ? '?lang=en' : '';
  const shot = async (page: Page, name: string) => {
    await page.screenshot({ path: options.artifact(`${name}.png`), fullPage: true });
    await expectAccessible(page, `${name} (${locale})`);
  };
  // the orders of this payment, from the success page the shopper is on
  const orderIds = (await shopper.locator('.pay-success .order[data-order-id]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-order-id'))))) as number[];
  expect(orderIds.length).toBeGreaterThan(0);
  const unique = String(Date.now()).slice(-9);
  const tracking = (i: number) => `SF${unique}${String(i).padStart(4, '0')}`;

  const admin = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 900 } });
  admin.setDefaultTimeout(10_000);
  try {
    const page = await admin.newPage();
    await page.goto(`${baseUrl}/admin/shipping${lang}`);
    await page.waitForURL(/\/admin\/login\?next=/);
    await page.locator('#username').fill(ADMIN_USER);
    await page.locator('#password').fill(options.adminPassword);
    await page.locator('button.primary-action').click();
    await page.waitForURL(/\/admin\/shipping/);
    await seeText(page.locator('h1'), t.queue, 'the awaiting-shipment queue');
    for (const id of orderIds) expect(await page.locator(`tr[data-order-id="${id}"]`).count()).toBe(1);
    await shot(page, 'ship-01-admin-shipping-queue');

    // the first order from its page
    const [first, ...rest] = orderIds as [number, ...number[]];
    await page.locator(`tr[data-order-id="${first}"] a.button`).click();
    await page.waitForURL(new RegExp(`/admin/orders/${first}`));
    await shot(page, 'ship-02-admin-order');
    await page.locator('#ship-form-courier').selectOption('sf');
    await page.locator('#ship-form-tracking').fill(tracking(0));
    await page.locator('#ship-form button[type="submit"]').click();
    await page.waitForURL(new RegExp(`/admin/orders/${first}$`));
    await seeText(page.locator('#delivery-status'), t.shipped, `order ${first} shipped`);
    await shot(page, 'ship-03-admin-order-shipped');

    // the others with a batch CSV: previewed, then confirmed
    await page.goto(`${baseUrl}/admin/shipping/batch`);
    await seeText(page.locator('h1'), t.batch, 'the batch page');
    await shot(page, 'ship-04-admin-batch');
    const csv = ['订单号,快递公司,快递单号', ...rest.map((id, i) => `${id},顺丰,${tracking(i + 1)}`), `${first},顺丰,${tracking(0)}`].join('\r\n');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-batch-')), 'batch.csv');
    fs.writeFileSync(file, `\uFEFF${csv}`);
    await page.locator('#batch-file').setInputFiles(file);
    await page.locator('form[enctype="multipart/form-data"] button[type="submit"]').click();
    await page.waitForSelector('#batch-summary');
    expect(await page.locator('tr.batch-line[data-tone="ok"]').count()).toBe(rest.length);
    expect(await page.locator('tr.batch-line[data-tone="same"]').count()).toBe(1);
    await shot(page, 'ship-05-admin-batch-preview');
    if (rest.length > 0) {
      await page.locator('#apply-batch').click();
      await page.waitForSelector('#batch-summary');
      await shot(page, 'ship-06-admin-batch-applied');
    }

    // the shopper follows the parcel and confirms receipt
    for (const [i, id] of orderIds.entries()) {
      await shopper.goto(`${baseUrl}/orders/${id}`);
      await seeText(shopper.locator('#tracking-no'), tracking(i), `the tracking number of order ${id}`);
      expect(await shopper.locator('#tracking-link').getAttribute('href')).toBe(`https://www.sf-express.com/chn/sc/waybill/waybill-detail/${tracking(i)}`);
      if (i === 0) await shot(shopper, 'ship-07-order-shipped');
      await shopper.locator('#confirm-receipt').click();
      await shopper.waitForURL(new RegExp(`/orders/${id}$`));
      await seeText(shopper.locator('#order-state'), t.completed, `order ${id} completed`);
      if (i === 0) await shot(shopper, 'ship-08-order-completed');
    }

    // the merchant's alerts: the admin's view of their delivery, and the stand-in robot's page
    await page.goto(`${baseUrl}/admin/alerts?show=delivered`);
    await seeText(page.locator('h1'), t.alerts, 'the alerts page');
    await shot(page, 'ship-09-admin-alerts');
    const robot = await admin.newPage();
    await waitFor(
      'the stand-in robot to show the paid, shipped and completed alerts',
      async () => {
        await robot.goto(`${baseUrl}/wxsim/robot`);
        const text = (await robot.locator('main').textContent()) ?? '';
        // in the shop's language (ALERT_LOCALE, Chinese by default), whatever the shopper's
        const shopT = TEXTS.zh;
        return text.includes(shopT.robotPaid) && text.includes(shopT.robotShipped) && text.includes(shopT.robotCompleted);
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    await shot(robot, 'ship-10-robot');
  } finally {
    await admin.close();
  }
}
