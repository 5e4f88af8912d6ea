import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db';
import { artifactsDir } from './helpers/browser';
import { ClientFrom } from './helpers/http-from';
import { NGINX, startBalancer, type Balancer } from './helpers/nginx';
import { GiveUp, freePorts, spawnService, waitFor, type ChildService } from './helpers/processes';
import { buildDist, startShop, type ShopProcess } from './helpers/shop';

/**
 * Issue 26, items 3 and 9: the shop as the image runs it (node dist/main.js, NODE_ENV=production,
 * TRUST_PROXY=1 as README and compose.yaml say) behind nginx with deploy/nginx/shop.conf.template
 * rendered by scripts/render-nginx-conf.mjs, in three shapes:
 *  - nginx is the edge (NGINX_REAL_IP_FROM empty);
 *  - two hops: a CDN stand-in (another nginx that appends X-Forwarded-For, as CDNs do, and leaves
 *    from 127.0.0.2) in front of an nginx told the CDN's address (NGINX_REAL_IP_FROM);
 *  - the template's TLS block on (render-nginx-conf.mjs --tls), on this machine's nginx (Debian 12: 1.22).
 * Each client leaves from a loopback address of its own (127.0.0.11, ...), so the test can tell
 * whose address the shop recorded on the order: the shopper's, never a proxy's, never one the
 * client made up. Embedded PGlite: the orders are read after the shop has stopped.
 */

const CDN_ADDRESS = '127.0.0.2';

/** A CDN's edge as far as the shop can tell: it proxies to `upstream`, appends the client to X-Forwarded-For, and connects from CDN_ADDRESS. */
async function startCdn(dir: string, port: number, upstream: string): Promise<ChildService & { url: string }> {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://${upstream};
      proxy_bind ${CDN_ADDRESS};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const service = spawnService('cdn', NGINX, ['-c', path.join(dir, 'nginx.conf'), '-p', `${dir}/`, '-e', `${dir}/error.log`], { cwd: dir, env: process.env, logPath: path.join(dir, 'nginx.out') });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the CDN stand-in to answer', async () => {
    if (service.hasExited()) throw new GiveUp(`the CDN stand-in exited: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-1000)}`);
    return (await fetch(`${url}/healthz`)).status === 200;
  });
  return { ...service, url };
}

/** GET over TLS, certificate unchecked (self-signed): status and every raw header line. */
function getTls(url: string): Promise<{ status: number; rawHeaders: string[] }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders }));
      })
      .on('error', reject);
  });
}

describe('the built shop behind nginx: the address it records for a shopper, one hop or two, and TLS', () => {
  let artifacts: string;
  let tmp: string;
  let shop: ShopProcess | undefined;
  const services: ChildService[] = [];
  let edge: Balancer;
  let behindCdn: Balancer;
  let cdn: ChildService & { url: string };
  let tls: { balancer: Balancer; port: number } | undefined;
  /** receiver address suffix -> what the test expects the shop to have recorded */
  const expected = new Map<string, string>();

  beforeAll(async () => {
    artifacts = artifactsDir('proxy-hops');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-e2e-hops-'));
    fs.chmodSync(tmp, 0o755);
    await buildDist();
    const [portShop, portEdge, portBehind, portCdn, portTlsPlain, portTls] = (await freePorts(6)) as [number, number, number, number, number, number];
    shop = await startShop('built shop', {
      port: portShop,
      runtime: 'dist',
      // as README's "Deploy" says for the demo profile: one hop, nginx
      env: { PGLITE_DIR: path.join(tmp, 'pglite'), TRUST_PROXY: '1', WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'no-real-money', SWEEP_INTERVAL_SECONDS: '0' },
      logPath: path.join(artifacts, 'shop.log'),
    });
    const upstreams = [`127.0.0.1:${portShop}`];
    const dirOf = (name: string) => {
      const dir = path.join(tmp, name);
      fs.mkdirSync(dir);
      return dir;
    };
    edge = await startBalancer({ dir: dirOf('edge'), port: portEdge, upstreams });
    services.push(edge);
    behindCdn = await startBalancer({ dir: dirOf('behind-cdn'), port: portBehind, upstreams, realIpFrom: [CDN_ADDRESS] });
    services.push(behindCdn);
    cdn = await startCdn(dirOf('cdn'), portCdn, `127.0.0.1:${portBehind}`);
    services.push(cdn);

    // TLS: a self-signed certificate, the template's TLS block on, its port and certificate paths this test's own
    const tlsDir = dirOf('tls');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', path.join(tlsDir, 'privkey.pem'), '-out', path.join(tlsDir, 'fullchain.pem')], { stdio: 'ignore' });
    const tlsBalancer = await startBalancer({
      dir: tlsDir,
      port: portTlsPlain,
      upstreams,
      tls: true,
      adapt: (conf) => conf.replace('listen 443 ssl http2;', `listen 127.0.0.1:${portTls} ssl http2;`).replaceAll('/etc/nginx/tls/', `${tlsDir}/`),
    });
    services.push(tlsBalancer);
    tls = { balancer: tlsBalancer, port: portTls };
  }, 300_000);

  afterAll(async () => {
    for (const service of services) await service.stop().catch(() => undefined);
    await shop?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  const need = () => {
    if (!shop) throw new Error('the shop did not start');
    return shop;
  };

  test('nginx as the edge (TRUST_PROXY=1): the shop records the shopper\'s own address, whatever X-Forwarded-For the shopper sends', async () => {
    need();
    const honest = new ClientFrom(edge.url, '127.0.0.11');
    expect((await honest.checkOutCashOnDelivery()).status).toBe(303);
    expected.set('127.0.0.11', '127.0.0.11');
    const liar = new ClientFrom(edge.url, '127.0.0.12', { 'X-Forwarded-For': '203.0.113.66' });
    expect((await liar.checkOutCashOnDelivery()).status).toBe(303);
    expected.set('127.0.0.12', '127.0.0.12');
  });

  test("two hops, a CDN and nginx with the CDN's address in NGINX_REAL_IP_FROM: the shopper's address, not the CDN's; a client going around the CDN cannot choose its own", async () => {
    need();
    const viaCdn = new ClientFrom(cdn.url, '127.0.0.13');
    expect((await viaCdn.checkOutCashOnDelivery()).status).toBe(303);
    expected.set('127.0.0.13', '127.0.0.13');
    // what the shopper claims is passed on by the CDN, and believed by no one
    const liarViaCdn = new ClientFrom(cdn.url, '127.0.0.14', { 'X-Forwarded-For': '203.0.113.67' });
    expect((await liarViaCdn.checkOutCashOnDelivery()).status).toBe(303);
    expected.set('127.0.0.14', '127.0.0.14');
    // straight to the nginx behind the CDN, claiming to be someone: it is not the CDN, so not believed
    const around = new ClientFrom(behindCdn.url, '127.0.0.15', { 'X-Forwarded-For': '203.0.113.68' });
    expect((await around.checkOutCashOnDelivery()).status).toBe(303);
    expected.set('127.0.0.15', '127.0.0.15');
    // and the shop saw no X-Forwarded-For from a peer it does not trust (nginx is its one hop)
    const metrics = await (await fetch(`${need().url}/metrics`)).text();
    expect(/^http_untrusted_forwarded_for_total (\d+)$/m.exec(metrics)?.[1]).toBe('0');
  });

  test('with the TLS block on, the template runs on this nginx (the `listen ... ssl http2` form of 1.22 and newer), and an answer carries ONE Strict-Transport-Security header and a Secure session cookie', async () => {
    if (!tls) throw new Error('the TLS nginx did not start');
    console.log(`[e2e proxy-hops] ${spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr.trim()}`);
    const res = await getTls(`https://127.0.0.1:${tls.port}/`);
    expect(res.status).toBe(200);
    const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase());
    expect(names.filter((h) => h === 'strict-transport-security')).toHaveLength(1);
    const cookie = res.rawHeaders.find((h, i) => i % 2 === 1 && res.rawHeaders[i - 1]?.toLowerCase() === 'set-cookie' && h.startsWith('wxshop.sid='));
    expect(cookie).toMatch(/;\s*Secure/i);
  });

  test('after the shop stops: every order carries the address of the client that made it', async () => {
    for (const service of services) await service.stop();
    services.length = 0;
    expect(await need().stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const db = await openDatabase({ databaseUrl: undefined, pgliteDir: path.join(tmp, 'pglite') });
    try {
      const rows = (await db.knex('orders').select('receiver_address', 'client_ip')) as { receiver_address: string; client_ip: string }[];
      const recorded = new Map(rows.map((r) => [r.receiver_address.split(' ').pop() as string, r.client_ip]));
      fs.writeFileSync(path.join(artifacts, 'recorded-addresses.json'), JSON.stringify(Object.fromEntries(recorded), null, 2));
      expect(Object.fromEntries(recorded)).toEqual(Object.fromEntries(expected));
    } finally {
      await db.close();
    }
  });
});
