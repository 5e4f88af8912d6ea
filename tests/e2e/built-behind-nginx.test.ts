import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifactsDir } from './helpers/browser';
import { startBalancer, type Balancer } from './helpers/nginx';
import { freePorts, waitFor } from './helpers/processes';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { verifyPassword, parsePasswordHash } from '../../src/admin/password';
import { cleanShopEnv } from '../helpers/shop-env';
import { ROOT, adminPasswordHash, buildDist, startShop, type ShopProcess } from './helpers/shop';

/**
 * Issue 14: the shop as the image runs it (`npm run build`, then `node dist/main.js` with
 * NODE_ENV=production and TRUST_PROXY=1, as compose.yaml sets them) behind nginx with the
 * production configuration, deploy/nginx/shop.conf.template. Embedded PGlite: no server needed,
 * so this runs in every `npm run test:e2e`. Logs: tests/e2e/artifacts/built/.
 */

const MAX_XML_BYTES = 64 * 1024; // src/wechatpay/xml.ts; tests/unit/deploy-files.test.ts ties the two
const xmlOfSize = (bytes: number) => {
  const head = '<xml><return_code>SUCCESS</return_code><pad>';
  const tail = '</pad></xml>';
  return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
};

describe('the built shop (node dist/main.js) behind nginx with the production configuration', () => {
  let artifacts: string;
  let tmp: string;
  let shop: ShopProcess | undefined;
  let balancer: Balancer | undefined;
  const lb = () => {
    if (!balancer) throw new Error('nginx did not start');
    return balancer;
  };
  const sh = () => {
    if (!shop) throw new Error('the shop did not start');
    return shop;
  };
  /**
   * what nginx logged for the `nth` request (from 1) whose URI is `uri`; waited for, as nginx
   * writes the line after the response has gone out
   */
  const logged = (uri: string, nth = 1) => waitFor(`request ${nth} to ${uri} in nginx's access log`, () => lb().entries().filter((e) => e.uri === uri)[nth - 1]);

  beforeAll(async () => {
    artifacts = artifactsDir('built');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-e2e-built-'));
    await buildDist();
    const [portShop, portLb] = (await freePorts(2)) as [number, number];
    shop = await startShop('built shop', {
      port: portShop,
      runtime: 'dist',
      env: { PGLITE_DIR: path.join(tmp, 'pglite'), TRUST_PROXY: '1', WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'no-real-money', SWEEP_INTERVAL_SECONDS: '0' },
      logPath: path.join(artifacts, 'shop.log'),
    });
    balancer = await startBalancer({ dir: tmp, port: portLb, upstreams: [`127.0.0.1:${portShop}`] });
  }, 240_000);

  afterAll(async () => {
    await balancer?.stop();
    await shop?.stop();
    if (balancer) fs.copyFileSync(balancer.accessLogPath, path.join(artifacts, 'nginx-access.log'));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  test('through nginx it serves the catalog from views/, the stylesheet from public/ and the simulator\'s phone page, from dist/ and migrations it compiled', async () => {
    const home = await fetch(`${lb().url}/?lang=en`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('TEA-LJ-250');
    const css = await fetch(`${lb().url}/css/site.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect((await fetch(`${lb().url}/wxsim`)).status).toBe(200);
    const started = sh().logEntries().find((e) => e.msg === 'database migrated') as { applied?: string[] } | undefined;
    expect(started?.applied?.length).toBeGreaterThan(0);
    expect(started?.applied?.every((name) => name.endsWith('.ts'))).toBe(true);
  });

  test('/metrics is served by the shop itself but never through nginx, however the path is spelled', async () => {
    const direct = await fetch(`${sh().url}/metrics`);
    expect(direct.status).toBe(200);
    expect(await direct.text()).toMatch(/^pay_status_waiters \d+$/m);
    for (const spelling of ['/metrics', '/METRICS', '/Metrics/', '/metrics/', '//metrics', '/metrics?format=text', '/%6Detrics']) {
      const res = await fetch(`${lb().url}${spelling}`);
      const body = await res.text();
      expect({ spelling, status: res.status, leaked: /pay_status_waiters/.test(body) }).toEqual({ spelling, status: 404, leaked: false });
      // and nginx answered it itself: no instance was asked
      expect({ spelling, upstream: (await logged(spelling)).upstream }).toEqual({ spelling, upstream: '' });
    }
  });

  test('a client cannot pass itself off as HTTPS through nginx: the session cookie is Secure only when nginx itself speaks TLS', async () => {
    // the shop trusts one proxy hop (TRUST_PROXY=1): straight to it, the header is believed...
    const direct = await fetch(`${sh().url}/`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(direct.headers.get('set-cookie')).toMatch(/;\s*Secure/i);
    // ...through nginx, the header is nginx's own ($scheme, plain http here)
    const proxied = await fetch(`${lb().url}/`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get('set-cookie')).toMatch(/^wxshop\.sid=/);
    expect(proxied.headers.get('set-cookie')).not.toMatch(/;\s*Secure/i);
  });

  test('a webhook body of 64 KiB reaches the shop (which answers it); one byte more is refused by nginx itself in WeChat\'s FAIL XML', async () => {
    const atLimit = await fetch(`${lb().url}/wxpay/notify`, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: xmlOfSize(MAX_XML_BYTES) });
    const atLimitBody = await atLimit.text();
    expect(atLimit.headers.get('content-type')).toMatch(/text\/xml/);
    expect(atLimitBody).toMatch(/<return_code><!\[CDATA\[FAIL\]\]><\/return_code>/);
    expect((await logged('/wxpay/notify')).upstream).toBe(sh().url.replace('http://', ''));

    for (const uri of ['/wxpay/notify', '/wxpay/refund-notify']) {
      const tooBig = await fetch(`${lb().url}${uri}`, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: xmlOfSize(MAX_XML_BYTES + 1) });
      expect(tooBig.status).toBe(413);
      expect(tooBig.headers.get('content-type')).toMatch(/text\/xml/);
      expect(await tooBig.text()).toBe('<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[request body too large]]></return_msg></xml>');
      const entry = await logged(uri, uri === '/wxpay/notify' ? 2 : 1);
      expect({ uri, status: entry.status, upstream: entry.upstream }).toEqual({ uri, status: 413, upstream: '' });
    }
  });

  test('`npm run admin:hash` works from the built output with the dev dependencies pruned (no tsx), as on the image or a server after `npm prune --omit=dev`', async () => {
    const pruned = path.join(tmp, 'pruned');
    fs.mkdirSync(pruned);
    for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, file), path.join(pruned, file));
    fs.cpSync(path.join(ROOT, 'dist'), path.join(pruned, 'dist'), { recursive: true });
    // production dependencies only, as the Dockerfile's deps stage installs them (from npm's cache)
    await promisify(execFile)('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: pruned, env: cleanShopEnv({}) });
    expect(fs.existsSync(path.join(pruned, 'node_modules', 'tsx'))).toBe(false);
    expect(fs.existsSync(path.join(pruned, 'node_modules', 'express'))).toBe(true);
    const password = 'a long admin password for the image';
    const hash = await adminPasswordHash(password, pruned);
    expect(await verifyPassword(password, parsePasswordHash(hash))).toBe(true);
    expect(await verifyPassword('another password entirely', parsePasswordHash(hash))).toBe(false);
  }, 240_000);

  test('on SIGTERM the built shop stops cleanly, exit code 0', async () => {
    await lb().stop();
    expect(await sh().stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(sh().logEntries().some((e) => e.msg === 'stopped')).toBe(true);
  });
});
