import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { devices, type Browser, type Page } from 'playwright-core';
import { artifactsDir, launchChromium } from './helpers/browser';
import { createServerDatabase, type ServerDatabase } from './helpers/database';
import { RECEIVER, ShopperJourney, seeText, type JourneyPlan } from './helpers/journey';
import { startBalancer, type AccessEntry, type Balancer } from './helpers/nginx';
import { freePorts, waitFor } from './helpers/processes';
import { adminPasswordHash, buildDist, startShop, type ShopProcess } from './helpers/shop';

/**
 * Issue 8, step 7, and issue 14's proof without Docker: two shop processes as the image runs them
 * (`npm run build`, then `node dist/main.js`) on one PostgreSQL database behind Debian's nginx
 * with the production proxy configuration, deploy/nginx/shop.conf.template (round robin). Only
 * when DATABASE_URL names a server, as .ci/run sets it; embedded PGlite belongs to one process and
 * cannot be shared. Screenshots and logs: tests/e2e/artifacts/scale-out/.
 */

const serverUrl = process.env.DATABASE_URL?.trim() || undefined;
const SKIP_NOTE = '7. scale-out skipped: DATABASE_URL is not set (set it to a PostgreSQL server, as .ci/run does, to run two shops behind nginx)';
if (!serverUrl) console.log(`[e2e] ${SKIP_NOTE}`);

const FIRST: JourneyPlan = { items: [{ sku: 'TEA-MLH-100', quantity: 1 }, { sku: 'GEEK-PB-10K', quantity: 1 }], change: { sku: 'TEA-MLH-100', quantity: 2 } };
const SECOND: JourneyPlan = { items: [{ sku: 'FARM-DATE-1', quantity: 1 }, { sku: 'SILK-PLW-02', quantity: 2 }], change: { sku: 'SILK-PLW-02', quantity: 1 } };

const isBrowser = (entry: AccessEntry) => /Chrome|Safari|MicroMessenger/.test(entry.userAgent);
const WECHAT_UA = `${devices['iPhone 13'].userAgent} MicroMessenger/8.0.50(0x1800322b) NetType/WIFI Language/zh_CN`;
const isAsset = (uri: string) => /^\/(css|js|img|favicon|wxsim\/phone\.css|wxsim\/jsbridge\.js)\b/.test(uri);

/** The pino-http lines of a shop's log: which URLs this very process answered. */
function urlsAnswered(shop: ShopProcess): Set<string> {
  const urls = new Set<string>();
  for (const entry of shop.logEntries()) {
    const req = entry.req as { url?: string } | undefined;
    if (entry.msg === 'request completed' && req?.url) urls.add(req.url);
  }
  return urls;
}

async function waitersOn(shop: ShopProcess): Promise<number> {
  const text = await (await fetch(`${shop.url}/metrics`)).text();
  return Number(/^pay_status_waiters (\d+)$/m.exec(text)?.[1] ?? 0);
}

(serverUrl ? describe : describe.skip)(serverUrl ? '7. scale-out: two built shops (node dist/main.js) on one PostgreSQL database behind nginx with the production configuration (round robin)' : SKIP_NOTE, () => {
  const adminPassword = `e2e-${crypto.randomBytes(12).toString('base64url')}`;
  let artifacts: string;
  let tmp: string;
  let database: ServerDatabase | undefined;
  const shops: ShopProcess[] = [];
  let balancer: Balancer | undefined;
  let browser: Browser | undefined;
  const journeys: ShopperJourney[] = [];
  /** for each paid journey: did the notify reach the instance that held the pay page's long-poll? */
  const cases: { outTradeNo: string; poll: string; notify: string; flippedAfterMs: number }[] = [];

  const nameOf = (upstream: string) => (upstream === `127.0.0.1:${shops[0]?.port}` ? 'A' : upstream === `127.0.0.1:${shops[1]?.port}` ? 'B' : upstream);
  const lb = () => {
    if (!balancer) throw new Error('nginx did not start');
    return balancer;
  };

  beforeAll(async () => {
    artifacts = artifactsDir('scale-out');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-e2e-lb-'));
    const db = (database = await createServerDatabase(serverUrl as string));
    const [ports, hash] = await Promise.all([freePorts(3), adminPasswordHash(adminPassword), buildDist()]);
    const [portA, portB, portLb] = ports as [number, number, number];
    const lbUrl = `http://127.0.0.1:${portLb}`;
    // one session secret for both (a session cookie from one is good on the other); WeChat's
    // notify and our API calls go through the balancer too, so either instance may receive them
    // README's "Several instances" in simulator mode, nothing more: nginx is the one hop in
    // front (TRUST_PROXY=1), SHOP_URL is nginx's address (so the simulator's notifies go through
    // it, to either instance), the confirmation NODE_ENV=production asks for. WeChat's orderquery
    // fallback and the sweeper are off, so that only a notify can turn a pay page to success.
    const env = {
      WXPAY_MODE: 'simulator',
      WXPAY_SIMULATOR_CONFIRM: 'no-real-money',
      TRUST_PROXY: '1',
      SHOP_URL: lbUrl,
      DATABASE_URL: db.url,
      SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
      ADMIN_PASSWORD_HASH: hash,
      POLL_QUERY_AFTER_SECONDS: '7200',
      SWEEP_INTERVAL_SECONDS: '0',
    };
    const chromium = launchChromium();
    try {
      // one after the other: A migrates the fresh database and loads the catalog, then B finds it
      // ready. (Started at the same moment, one of them sometimes dies on knex's unlocked
      // CREATE TABLE knex_migrations, 23505 pg_type_typname_nsp_index: reported, not worked around.)
      shops.push(await startShop('shop A', { port: portA, env, runtime: 'dist', logPath: path.join(artifacts, 'shop-a.log') }));
      shops.push(await startShop('shop B', { port: portB, env, runtime: 'dist', logPath: path.join(artifacts, 'shop-b.log') }));
    } finally {
      // kept even when a shop failed, so that afterAll closes it
      const [launched] = await Promise.allSettled([chromium]);
      if (launched.status === 'fulfilled') browser = launched.value;
    }
    await chromium;
    balancer = await startBalancer({ dir: tmp, port: portLb, upstreams: shops.map((s) => `127.0.0.1:${s.port}`) });
  }, 240_000);

  afterAll(async () => {
    for (const journey of journeys) await journey.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await balancer?.stop();
    await Promise.all(shops.map((s) => s.stop()));
    if (balancer) fs.copyFileSync(balancer.accessLogPath, path.join(artifacts, 'nginx-access.log'));
    await database?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  const newJourney = (prefix: string) => {
    if (!browser) throw new Error('the browser did not start');
    const journey = new ShopperJourney({ browser, baseUrl: lb().url, locale: 'zh', artifacts, prefix });
    journeys.push(journey);
    return journey;
  };

  /** Which instance answered the notify and which one the pay page's final status poll. */
  const caseOf = (journey: ShopperJourney) => {
    const entries = lb().entries();
    const notifies = entries.filter((e) => e.method === 'POST' && e.uri === '/wxpay/notify' && e.status === 200);
    const polls = entries.filter((e) => e.uri.startsWith(`/pay/${journey.outTradeNo}/status`));
    const notify = notifies[notifies.length - 1];
    const poll = polls[polls.length - 1];
    if (!notify || !poll) throw new Error(`no notify (${notifies.length}) or status poll (${polls.length}) in the access log for ${journey.outTradeNo}`);
    return { outTradeNo: journey.outTradeNo as string, poll: nameOf(poll.upstream), notify: nameOf(notify.upstream), flippedAfterMs: journey.flippedAfterMs as number };
  };

  test('7.1 through the balancer, the shopper fills a cart from two sellers, checks out, and gets a pay page whose QR code is the code_url stored in PostgreSQL; the requests alternate between the two instances', async () => {
    const journey = newJourney('journey1');
    await journey.shopAndCheckOut(FIRST);
    await journey.readPayPage();
    const [stored] = await (database as ServerDatabase).query<{ code_url: string; trade_state: string }>('SELECT code_url, trade_state FROM paylog WHERE out_trade_no = $1', [journey.outTradeNo]);
    expect(stored).toEqual({ code_url: journey.codeUrl, trade_state: 'NOTPAY' });

    // nginx's word: which instance answered each of the shopper's requests
    const shopper = lb().entries().filter(isBrowser);
    const sequence = shopper.map((e) => nameOf(e.upstream));
    console.log(`[e2e scale-out] the shopper's ${sequence.length} requests, in order of arrival, went to: ${sequence.join(' ')}`);
    fs.writeFileSync(path.join(artifacts, 'shopper-requests.txt'), shopper.map((e) => `${nameOf(e.upstream)} ${e.method} ${e.uri} ${e.status}`).join('\n') + '\n');
    const onA = sequence.filter((s) => s === 'A').length;
    const onB = sequence.filter((s) => s === 'B').length;
    expect(onA + onB).toBe(sequence.length);
    expect(Math.min(onA, onB)).toBeGreaterThanOrEqual(Math.floor(sequence.length / 3));
    const switches = sequence.slice(1).filter((s, i) => s !== sequence[i]).length;
    expect(switches).toBeGreaterThanOrEqual(Math.floor((sequence.length - 1) / 2));
    // and the instances' own word: each logged the pages nginx says it answered
    const [shopA, shopB] = shops as [ShopProcess, ShopProcess];
    for (const [name, shop] of [['A', shopA], ['B', shopB]] as const) {
      const pages = shopper.filter((e) => nameOf(e.upstream) === name && !isAsset(e.uri) && e.status < 400).map((e) => e.uri);
      expect(pages.length).toBeGreaterThan(0);
      const answered = urlsAnswered(shop);
      expect(pages.filter((uri) => !answered.has(uri))).toEqual([]);
    }
  });

  test('7.2 the pay page flips to success within 3 s of Pay, as the notify reaches whichever instance the balancer picks', async () => {
    const journey = journeys[0] as ShopperJourney;
    await journey.payOnPhone();
    await journey.seeSuccess();
    const seen = caseOf(journey);
    cases.push(seen);
    console.log(`[e2e scale-out] journey 1: long-poll on ${seen.poll}, notify on ${seen.notify}, flipped after ${seen.flippedAfterMs} ms`);
    expect(seen.flippedAfterMs).toBeLessThan(3_000);
    const [paid] = await (database as ServerDatabase).query<{ trade_state: string; transaction_id: string }>('SELECT trade_state, transaction_id FROM paylog WHERE out_trade_no = $1', [journey.outTradeNo]);
    expect(paid).toEqual({ trade_state: 'SUCCESS', transaction_id: journey.transactionId });
  });

  test('7.3 a second shopper pays with the notify steered to the other case (the instance holding the long-poll, or not): the page flips within 3 s again', async () => {
    const first = cases[0];
    if (!first) throw new Error('7.2 did not record where its notify went');
    const wantSame = first.poll !== first.notify;
    const journey = newJourney('journey2');
    await journey.shopAndCheckOut(SECOND);
    await journey.readPayPage();

    // which instance holds the pay page's long-poll now (asked directly, past the balancer)
    const [shopA, shopB] = shops as [ShopProcess, ShopProcess];
    const holder = await waitFor('the pay page\'s long-poll to be held by one instance', async () => {
      const [a, b] = await Promise.all([waitersOn(shopA), waitersOn(shopB)]);
      return a + b === 1 ? (a === 1 ? 'A' : 'B') : undefined;
    });
    const target = wantSame ? holder : holder === 'A' ? 'B' : 'A';
    // nginx's one worker rotates A, B, A, ...: probe until the last request went to the other
    // one, and the next, WeChat's notify, goes to the target
    let probes = 0;
    let last: string;
    do {
      probes += 1;
      const tag = `${journey.outTradeNo}-${probes}`;
      expect((await fetch(`${lb().url}/healthz?probe=${tag}`, { headers: { 'User-Agent': 'e2e-probe' } })).status).toBe(200);
      last = await waitFor('the probe in the access log', () => nameOf(lb().entries().find((e) => e.uri === `/healthz?probe=${tag}`)?.upstream ?? ''));
    } while (last === target && probes < 5);
    // the phone is WeChat's, not behind the shop's balancer: it talks to an instance directly,
    // so that nothing of the shopper's passes nginx between the probe and the notify
    await journey.payOnPhone(shopA.url);
    await journey.seeSuccess();
    const seen = caseOf(journey);
    cases.push(seen);
    console.log(`[e2e scale-out] journey 2: long-poll on ${seen.poll}, notify on ${seen.notify} (steered to ${target}), flipped after ${seen.flippedAfterMs} ms`);
    expect(seen.flippedAfterMs).toBeLessThan(3_000);
    expect(new Set(cases.map((c) => (c.poll === c.notify ? 'notify on the instance holding the long-poll' : 'notify on the other instance')))).toEqual(
      new Set(['notify on the instance holding the long-poll', 'notify on the other instance']),
    );
  });

  test('7.4 the admin, logged in through the balancer (the session is good on both instances), sees both payments as paid, and the CSV has them', async () => {
    for (const journey of journeys) await journey.adminFindsPayment(adminPassword);
    const admin = lb().entries().filter((e) => isBrowser(e) && e.uri.startsWith('/admin'));
    expect(new Set(admin.map((e) => nameOf(e.upstream)))).toEqual(new Set(['A', 'B']));
  });

  /** Catalog -> one product -> cart -> checkout (WeChat Pay) on a device, through the balancer: the out_trade_no. */
  async function checkOutOn(page: Page, sku: string): Promise<string> {
    await page.goto(`${lb().url}/`);
    await page.locator(`li.product[data-sku="${sku}"] form.add-to-cart button[type="submit"]`).click();
    await page.locator('.flash').first().waitFor();
    await page.goto(`${lb().url}/checkout`);
    await page.locator('#receiver_name').fill(RECEIVER.name);
    await page.locator('#receiver_mobile').fill(RECEIVER.mobile);
    await page.locator('#receiver_address').fill(RECEIVER.address);
    await page.locator('#pay_wxpay').check();
    await page.locator('button.primary-action').click();
    await page.waitForURL(/\/pay\/\w+(#wechat_redirect)?$/);
    return /\/pay\/(\w+)/.exec(new URL(page.url()).pathname)?.[1] as string;
  }

  /** Which instance answered each request of a pay flow since `since` (ms), for the log. */
  const instancesOf = (since: number) =>
    lb()
      .entries()
      .filter((e) => e.startedAt >= since && !isAsset(e.uri))
      .map((e) => `${nameOf(e.upstream)} ${e.method} ${e.uri.split('?')[0]}`);

  test("7.6 a phone's browser pays by H5 through the balancer: WeChat's cashier opens at the balancer's address, and the pay page turns to success by the notify alone", async () => {
    if (!browser) throw new Error('the browser did not start');
    const context = await browser.newContext({ ...devices['iPhone 13'], locale: 'zh-CN' });
    context.setDefaultTimeout(15_000);
    try {
      const page = await context.newPage();
      const since = Date.now();
      const outTradeNo = await checkOutOn(page, 'TEA-MLH-100');
      await page.locator('#pay-h5 button').click();
      await page.waitForURL(/\/wxsim\/h5pay\/checkmweb\?/);
      expect(new URL(page.url()).origin).toBe(lb().url);
      const flipped = page.waitForURL(new RegExp(`/pay/${outTradeNo}/success$`), { timeout: 20_000 }).then(() => Date.now());
      const pressedAt = Date.now();
      await page.locator('#pay').click();
      const tookMs = (await flipped) - pressedAt;
      console.log(`[e2e scale-out] H5: success ${tookMs} ms after Pay; ${instancesOf(since).join(', ')}`);
      await seeText(page.locator('h1'), '支付成功', 'the success page after H5');
      const [paid] = await (database as ServerDatabase).query<{ trade_state: string; trade_type: string }>('SELECT trade_state, trade_type FROM paylog WHERE out_trade_no = $1', [outTradeNo]);
      expect(paid).toEqual({ trade_state: 'SUCCESS', trade_type: 'MWEB' });
    } finally {
      await context.close();
    }
  });

  test("7.7 WeChat's browser pays by JSAPI through the balancer (web authorization, bridge): the pay page turns to success by the notify alone", async () => {
    if (!browser) throw new Error('the browser did not start');
    const context = await browser.newContext({ ...devices['iPhone 13'], userAgent: WECHAT_UA, locale: 'zh-CN' });
    context.setDefaultTimeout(15_000);
    try {
      await context.addInitScript({ content: await (await fetch(`${lb().url}/wxsim/jsbridge.js`)).text() });
      const page = await context.newPage();
      const since = Date.now();
      const outTradeNo = await checkOutOn(page, 'GEEK-CBL-01');
      const button = page.locator('#pay-jsapi');
      await button.waitFor({ state: 'visible' });
      const flipped = page.waitForURL(new RegExp(`/pay/${outTradeNo}/success$`), { timeout: 20_000 }).then(() => Date.now());
      const pressedAt = Date.now();
      await button.click();
      const tookMs = (await flipped) - pressedAt;
      console.log(`[e2e scale-out] JSAPI: success ${tookMs} ms after Pay; ${instancesOf(since).join(', ')}`);
      const [paid] = await (database as ServerDatabase).query<{ trade_state: string; trade_type: string }>('SELECT trade_state, trade_type FROM paylog WHERE out_trade_no = $1', [outTradeNo]);
      expect(paid).toEqual({ trade_state: 'SUCCESS', trade_type: 'JSAPI' });
    } finally {
      await context.close();
    }
  });

  test('7.8 both shops stop on SIGTERM with exit code 0, and the database is dropped', async () => {
    await browser?.close();
    browser = undefined;
    await lb().stop();
    const statuses = await Promise.all(shops.map((s) => s.stop()));
    expect(statuses).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    const db = database as ServerDatabase;
    await db.drop();
    database = undefined;
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});
