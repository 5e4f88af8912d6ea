import { expectAccessible } from './helpers/axe';
import { ShopperJourney, type JourneyPlan, type Locale } from './helpers/journey';
import { shopAndBrowser } from './helpers/shop-and-browser';

/**
 * Issue 24 in real Chromium, in Chinese and in English: a shopper cancels an unpaid checkout from
 * "my orders" (WeChat's first five minutes: the cancel is recorded, and said so), and another pays,
 * cancels the paid order before it ships and sees the money come back on the order page. axe-core
 * on "my orders" and the order page at both sizes.
 */

const PLAN: JourneyPlan = { items: [{ sku: 'TEA-MLH-100', quantity: 1 }, { sku: 'GEEK-CBL-01', quantity: 1 }], change: { sku: 'GEEK-CBL-01', quantity: 2 } };
const TEXTS = {
  zh: { timeLeft: '分钟支付', requested: '微信支付不允许立即关单', cancelled: '已取消', back: '已退回', cancelPaid: '取消订单并退款' },
  en: { timeLeft: 'min left to pay', requested: 'WeChat Pay does not allow closing it yet', cancelled: 'is cancelled', back: ': back,', cancelPaid: 'Cancel and refund' },
} as const;

describe('the shopper cancels, before and after paying (real Chromium, PGlite)', () => {
  const setup = shopAndBrowser('aftersale', { SIM_REFUND_DELAY_SECONDS: '2' });

  for (const locale of ['zh', 'en'] as Locale[]) {
    const t = TEXTS[locale];
    const lang = locale === 'en' ? '?lang=en' : '';

    test(`${locale}: "my orders" shows the time left and "cancel"; cancelling in WeChat's first minutes is recorded and said so`, async () => {
      if (!setup.shop || !setup.browser) throw new Error('the shop or the browser did not start');
      const journey = new ShopperJourney({ browser: setup.browser, baseUrl: setup.shop.url, locale, artifacts: setup.artifacts, prefix: `${locale}-unpaid` });
      try {
        await journey.shopAndCheckOut(PLAN);
        const page = journey.shopperPage();
        await page.goto(`${setup.shop.url}/orders${lang}`);
        expect(await page.locator('.my-order .time-left').first().innerText()).toContain(t.timeLeft);
        await page.screenshot({ path: journey.artifact('my-orders.png'), fullPage: true });
        await expectAccessible(page, `my orders with cancel (${locale})`);
        await page.locator('.my-order form.cancel-order button').first().click();
        await page.waitForURL(/\/orders\/\d+$/);
        expect(await page.locator('.flash').innerText()).toContain(t.requested);
        await expectAccessible(page, `an order whose cancel waits for WeChat (${locale})`);
      } finally {
        await journey.close();
      }
    }, 120_000);

    test(`${locale}: a paid order cancelled before it ships; the order page shows the refund until the money is back`, async () => {
      if (!setup.shop || !setup.browser) throw new Error('the shop or the browser did not start');
      const journey = new ShopperJourney({ browser: setup.browser, baseUrl: setup.shop.url, locale, artifacts: setup.artifacts, prefix: `${locale}-paid` });
      try {
        await journey.shopAndCheckOut(PLAN);
        await journey.readPayPage();
        await journey.payOnPhone();
        await journey.seeSuccess();
        const page = journey.shopperPage();
        const orderId = await page.locator('.pay-success .order[data-order-id]').first().getAttribute('data-order-id');
        await page.goto(`${setup.shop.url}/orders/${orderId}${lang}`);
        await expectAccessible(page, `a paid order with "cancel and refund" (${locale})`);
        const button = page.locator('#cancel-paid');
        expect((await button.innerText()).trim()).toBe(t.cancelPaid);
        await button.click();
        await page.waitForURL(new RegExp(`/orders/${orderId}$`));
        expect(await page.locator('.flash').innerText()).toContain(t.cancelled);
        await page.screenshot({ path: journey.artifact('refund-progress.png'), fullPage: true });
        await expectAccessible(page, `the refund in progress (${locale})`);
        const deadline = Date.now() + 30_000;
        for (;;) {
          const text = await page.locator('.refund-progress').first().innerText();
          if (text.includes(t.back)) break;
          if (Date.now() > deadline) throw new Error(`the refund did not come back: ${text}`);
          await new Promise((r) => setTimeout(r, 500));
          await page.reload();
        }
        expect(await page.locator('.order-page').getAttribute('data-status')).toBe('refunded');
        await page.screenshot({ path: journey.artifact('refund-back.png'), fullPage: true });
      } finally {
        await journey.close();
      }
    }, 120_000);
  }
});
