import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { MAX_XML_BYTES } from '../../src/wechatpay/xml';

/**
 * The proxy configuration (deploy/nginx/shop.conf.template) must fit the shop it fronts: a number
 * changed on one side alone would cut the pay page's long-poll short or let nginx answer a webhook
 * the shop would have taken. tests/e2e/built-behind-nginx.test.ts runs the same file for real.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const template = fs.readFileSync(path.join(ROOT, 'deploy', 'nginx', 'shop.conf.template'), 'utf8');
const compose = fs.readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8');

/** the directives of the `location <pattern> { ... }` block (no nested blocks in ours) */
function locationBlock(pattern: string): string {
  const start = template.indexOf(`location ${pattern} {`);
  if (start < 0) throw new Error(`no "location ${pattern}" in the template`);
  return template.slice(start, template.indexOf('}', start));
}

function seconds(directive: string, block: string): number {
  const m = new RegExp(`^\\s*${directive}\\s+(\\d+)s;`, 'm').exec(block);
  if (!m) throw new Error(`no ${directive} in ${block}`);
  return Number(m[1]);
}

/** the largest POLL_MAX_WAIT_SECONDS that start-up accepts */
function largestAcceptedWait(): number {
  const accepts = (n: number) => {
    try {
      loadConfig({ POLL_MAX_WAIT_SECONDS: String(n) });
      return true;
    } catch (err) {
      if (err instanceof ConfigError) return false;
      throw err;
    }
  };
  let low = 1;
  let high = 1_000_000;
  expect(accepts(low)).toBe(true);
  expect(accepts(high)).toBe(false);
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (accepts(mid)) low = mid;
    else high = mid;
  }
  return low;
}

test('nginx waits for the status long-poll longer than the longest hold the shop may be configured for', () => {
  const status = locationBlock('~ ^/pay/[^/]+/status$');
  expect(status).toContain('proxy_pass http://shop;');
  expect(seconds('proxy_read_timeout', status)).toBeGreaterThan(largestAcceptedWait());
});

test("nginx's limit for the webhooks' bodies is exactly the shop's own (64 KiB)", () => {
  const webhooks = locationBlock('~ ^/wxpay/(notify|refund-notify)$');
  const m = /client_max_body_size\s+(\d+)k;/.exec(webhooks);
  expect(Number(m?.[1]) * 1024).toBe(MAX_XML_BYTES);
});

test('the variables the template uses are exactly those compose.yaml gives the nginx service', () => {
  const used = new Set([...template.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
  const nginxService = compose.slice(compose.indexOf('\n  nginx:'));
  const given = new Set([...nginxService.matchAll(/^ {6}(\w+): /gm)].map((m) => m[1]).filter((name) => name && name === name.toUpperCase()));
  expect(used).toEqual(given);
  expect(nginxService).toContain('./deploy/nginx/shop.conf.template:/etc/nginx/templates/default.conf.template:ro');
});

describe('scripts/render-nginx-conf.mjs, the shipped way to render the template without Docker', () => {
  const script = path.join(ROOT, 'scripts', 'render-nginx-conf.mjs');
  const run = (env: Record<string, string>, args: string[] = []) => spawnSync(process.execPath, [script, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  const vars = { NGINX_LISTEN: '8080', SHOP_UPSTREAM_SERVERS: 'server 127.0.0.1:3001; server 127.0.0.1:3002;' };

  test("fills in our three variables and leaves every one of nginx's own $variables as it is", () => {
    const out = run({ ...vars, NGINX_REAL_IP_FROM: 'set_real_ip_from 198.51.100.0/24;' });
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('listen 8080;');
    expect(out.stdout).toContain('server 127.0.0.1:3001; server 127.0.0.1:3002;');
    expect(out.stdout).toContain('set_real_ip_from 198.51.100.0/24;');
    expect(out.stdout).not.toMatch(/\$\{/);
    const nginxVariables = (text: string) => [...text.matchAll(/\$[a-z_]+/g)].map((m) => m[0]).sort();
    expect(nginxVariables(out.stdout)).toEqual(nginxVariables(template));
    expect(nginxVariables(template)).toEqual(expect.arrayContaining(['$remote_addr', '$scheme', '$http_host']));
    // without the TLS flag the TLS block stays commented out; with it, on
    expect(out.stdout).toContain('# listen 443 ssl http2;');
    expect(run(vars, ['--tls']).stdout).toMatch(/^ {4}listen 443 ssl http2;$/m);
  });

  test('a missing variable or an unknown argument: one line naming it, exit 2', () => {
    const missing = run({ NGINX_LISTEN: '80' });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe('render-nginx-conf: SHOP_UPSTREAM_SERVERS must be set (see the top of scripts/render-nginx-conf.mjs)');
    const unknown = run(vars, ['--http3']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('NGINX_REAL_IP_FROM may be left out: nginx is the edge', () => {
    const out = run(vars);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('real_ip_header X-Forwarded-For;');
    expect(out.stdout).not.toMatch(/^\s*set_real_ip_from/m);
  });
});
