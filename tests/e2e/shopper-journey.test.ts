import { shipAndReceive } from './helpers/fulfilment-journey';
import { ShopperJourney, type JourneyPlan, type Locale } from './helpers/journey';
import { shopAndBrowser } from './helpers/shop-and-browser';
import { createTestShop, manualClock, type ManualClock, type TestShop } from '../helpers/app';

/**
 * Issue 8, steps 1-6: a shopper in real Chromium against the shop as `npm start` runs it (a child
 * process: embedded PGlite in a fresh directory, the WeChat Pay simulator), then the admin.
 * Screenshots: tests/e2e/artifacts/pglite/.
 */

const PLANS: Record<Locale, JourneyPlan> = {
  // 山野茶园 and 极客数码; the cable goes from 1 to 3 in the cart
  zh: { items: [{ sku: 'TEA-LJ-250', quantity: 1 }, { sku: 'GEEK-CBL-01', quantity: 1 }], change: { sku: 'GEEK-CBL-01', quantity: 3 } },
  // 稻香农场 and 江南丝绸坊; the honey goes from 2 to 1
  en: { items: [{ sku: 'FARM-HNY-500', quantity: 2 }, { sku: 'SILK-SCF-01', quantity: 1 }], change: { sku: 'FARM-HNY-500', quantity: 1 } },
};

describe('a shopper pays with WeChat Pay in a real browser (the shop as `npm start` runs it, on embedded PGlite)', () => {
  const setup = shopAndBrowser('pglite');

  const journeyIn = (locale: Locale, title: string) =>
    describe(title, () => {
      let journey: ShopperJourney;
      beforeAll(() => {
        if (!setup.shop || !setup.browser) throw new Error('the shop or the browser did not start');
        journey = new ShopperJourney({ browser: setup.browser, baseUrl: setup.shop.url, locale, artifacts: setup.artifacts, prefix: locale });
      });
      afterAll(async () => {
        await journey?.close();
      });

      test('1. the shopper adds products from two sellers, changes a quantity in the cart, and checks out with a receiver: cart and checkout show the right totals, and the shop moves on to the pay page', async () => {
        await journey.shopAndCheckOut(PLANS[locale]);
        expect(journey.outTradeNo).toMatch(/^\d{24}$/);
      });

      test('2. the pay page shows the amount due and a QR code whose pixels (read from a screenshot) are the code_url WeChat issued for this payment', async () => {
        await journey.readPayPage();
      });

      test('2b. the shopper leaves the pay page; the header shows the unpaid orders, "my orders" lists them first, and "pay now" brings back the same QR code', async () => {
        await journey.leaveAndComeBack();
      });

      test('3. in a second tab, the phone opens the scanned code, shows this payment and its amount, and Pay succeeds', async () => {
        await journey.payOnPhone();
      });

      test('4. the first tab, untouched, shows the success page within 3 s of Pay, with the amount paid and every order paid', async () => {
        await journey.seeSuccess();
        console.log(`[e2e ${locale}] the pay page flipped to success ${journey.flippedAfterMs} ms after Pay`);
        expect(journey.flippedAfterMs).toBeLessThan(3_000);
      });

      test('4b. from another device, "find an order" by its number and the receiver\'s mobile: a wrong mobile is answered on the form, the right one lists the order', async () => {
        await journey.findOrderFromAnotherDevice();
      });

      test('5. the admin logs in, sees the payment as paid (SUCCESS) in the paylog table, and the exported CSV contains it', async () => {
        await journey.adminFindsPayment(setup.adminPassword);
      });

      test('8. the admin ships the orders (one from its page, the rest by a batch CSV), the shopper sees the courier and tracking number and confirms receipt, and the stand-in robot shows the alerts', async () => {
        if (!setup.shop || !setup.browser) throw new Error('the shop or the browser did not start');
        await shipAndReceive({ browser: setup.browser, baseUrl: setup.shop.url, locale, shopper: journey.shopperPage(), adminPassword: setup.adminPassword, artifact: (name) => journey.artifact(name) });
      }, 120_000);

      test('7. another shopper, on a phone-sized screen, pays while WeChat\'s notify is lost: "I have paid" asks WeChat and the page moves to success', async () => {
        await journey.rescueLostNotify(locale === 'zh' ? 'FARM-PIN-01' : 'GEEK-PB-10K', setup.adminPassword);
      });
    });

  journeyIn('zh', 'in Chinese (the default)');
  journeyIn('en', '6. the same journey in English (?lang=en)');

  describe('the pay page after its QR code expired (an in-process shop whose clock the test moves)', () => {
    let clockShop: TestShop | undefined;
    let clock: ManualClock;
    let journey: ShopperJourney | undefined;
    let journeyEn: ShopperJourney | undefined;
    beforeAll(async () => {
      clock = manualClock(new Date());
      // no sweeper of its own: the orders stay open (the page offers a new code) until the test sweeps
      clockShop = await createTestShop({ clock, env: { SWEEP_INTERVAL_SECONDS: '0', SIM_REFUND_DELAY_SECONDS: '0' } });
    }, 120_000);
    afterAll(async () => {
      await journey?.close();
      await journeyEn?.close();
      await clockShop?.close();
    }, 30_000);

    test('the expired pay page shows no stale code, offers a new one, and passes axe at both sizes', async () => {
      if (!clockShop || !setup.browser) throw new Error('the shop or the browser did not start');
      journey = new ShopperJourney({ browser: setup.browser, baseUrl: clockShop.url, locale: 'zh', artifacts: setup.artifacts, prefix: 'expired-zh' });
      await journey.shopAndCheckOut(PLANS.zh);
      await journey.seeExpiredPayPage(() => clock.advance(16 * 60 * 1000));
    });

    test('the expired pay page in English too: no stale code, a new one offered, axe at both sizes', async () => {
      if (!clockShop || !setup.browser) throw new Error('the shop or the browser did not start');
      journeyEn = new ShopperJourney({ browser: setup.browser, baseUrl: clockShop.url, locale: 'en', artifacts: setup.artifacts, prefix: 'expired-en' });
      await journeyEn.shopAndCheckOut(PLANS.en);
      await journeyEn.seeExpiredPayPage(() => clock.advance(16 * 60 * 1000));
    });

    test('pay again after the sweeper closed the orders: the page offers "buy these again", which refills the cart', async () => {
      if (!clockShop || !journey) throw new Error('the expired pay page step did not run');
      const shop = clockShop;
      await journey.payAgainAfterSweeper(() => shop.sweeper.sweepOnce());
    });
  });

  describe('afterwards', () => {
    test('the shop stops on SIGTERM and exits with code 0', async () => {
      await setup.browser?.close();
      setup.browser = undefined;
      const status = await setup.shop?.stop();
      expect(status).toEqual({ code: 0, signal: null });
      expect(setup.shop?.lines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    });
  });
});
