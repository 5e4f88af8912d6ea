import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { artifactsDir, launchChromium } from './browser';
import { freePort } from './processes';
import { adminPasswordHash, startShop, type ShopProcess } from './shop';

/** A file's shop and browser: set by the time its tests run (undefined if either failed to start). */
export interface ShopAndBrowser {
  /** the admin's password (ADMIN_PASSWORD_HASH of the shop is its hash) */
  adminPassword: string;
  /** tests/e2e/artifacts/<suite>: the shop's log and the screenshots */
  artifacts: string;
  /** a fresh directory, removed afterwards (the shop's PGlite is in it) */
  tmp: string;
  shop: ShopProcess | undefined;
  browser: Browser | undefined;
}

/**
 * Registers, in the describe block that calls it, the start of one shop as `npm start` runs it (a
 * child process on embedded PGlite in a fresh directory, the WeChat Pay simulator, `env` on top)
 * and of one headless Chromium, side by side before the tests, and their stop after.
 */
export function shopAndBrowser(suite: string, env: Record<string, string> = {}): ShopAndBrowser {
  const setup: ShopAndBrowser = { adminPassword: `e2e-${crypto.randomBytes(12).toString('base64url')}`, artifacts: '', tmp: '', shop: undefined, browser: undefined };

  beforeAll(async () => {
    setup.artifacts = artifactsDir(suite);
    setup.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `wxpay-e2e-${suite}-`));
    const [hash, port] = await Promise.all([adminPasswordHash(setup.adminPassword), freePort()]);
    const started = await Promise.allSettled([
      startShop('shop', { port, env: { PGLITE_DIR: path.join(setup.tmp, 'pglite'), ADMIN_PASSWORD_HASH: hash, ...env }, logPath: path.join(setup.artifacts, 'shop.log') }),
      launchChromium(),
    ]);
    if (started[0].status === 'fulfilled') setup.shop = started[0].value;
    if (started[1].status === 'fulfilled') setup.browser = started[1].value;
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  }, 120_000);

  afterAll(async () => {
    await setup.browser?.close().catch(() => undefined);
    await setup.shop?.stop();
    if (setup.tmp) fs.rmSync(setup.tmp, { recursive: true, force: true });
  }, 30_000);

  return setup;
}
