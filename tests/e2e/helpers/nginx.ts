import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GiveUp, spawnService, tailOf, waitFor, type ChildService } from './processes';
import { ROOT } from './shop';

export const NGINX = '/usr/sbin/nginx';

/** One line of the balancer's access log (written as JSON by the log_format below). */
export interface AccessEntry {
  /** when the request arrived, ms since the epoch (nginx logs when a request ends, so lines are in order of ending) */
  startedAt: number;
  method: string;
  uri: string;
  status: number;
  /** "127.0.0.1:port" of the instance that answered */
  upstream: string;
  userAgent: string;
}

export interface Balancer extends ChildService {
  url: string;
  accessLogPath: string;
  /** the access log as it stands now, in order of arrival (requests still running are not in it yet) */
  entries(): AccessEntry[];
}

/** deploy/nginx/shop.conf.template: the proxy configuration compose.yaml gives the nginx image. */
export const SHOP_CONF_TEMPLATE = path.join(ROOT, 'deploy', 'nginx', 'shop.conf.template');
/** The shipped way to render it without Docker (README, "Deploy"): what these tests run, as CI does. */
export const RENDER_SCRIPT = path.join(ROOT, 'scripts', 'render-nginx-conf.mjs');

export interface ShopConfOptions {
  listen: string;
  /** ["127.0.0.1:A", ...] */
  upstreams: string[];
  /** the proxies in front of this nginx (a CDN), as README says to give them: addresses or CIDR ranges */
  realIpFrom?: string[];
  /** the template's TLS block on (render-nginx-conf.mjs --tls) */
  tls?: boolean;
}

/**
 * The template rendered exactly as README tells an operator without Docker to render it:
 * `node scripts/render-nginx-conf.mjs` with NGINX_LISTEN, SHOP_UPSTREAM_SERVERS and
 * NGINX_REAL_IP_FROM in its environment.
 */
export function renderShopConf(vars: ShopConfOptions): string {
  const env = {
    PATH: process.env.PATH,
    NGINX_LISTEN: vars.listen,
    SHOP_UPSTREAM_SERVERS: vars.upstreams.map((u) => `server ${u};`).join(' '),
    NGINX_REAL_IP_FROM: (vars.realIpFrom ?? []).map((a) => `set_real_ip_from ${a};`).join(' '),
  };
  const result = spawnSync(process.execPath, [RENDER_SCRIPT, ...(vars.tls ? ['--tls'] : [])], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${RENDER_SCRIPT} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Debian's nginx with the production proxy configuration (deploy/nginx/shop.conf.template, as
 * compose.yaml uses it) on 127.0.0.1:`port` in front of `upstreams` (["127.0.0.1:A", ...]), round
 * robin, with everything it writes kept in `dir`. One worker process, so the round robin is one
 * rotation: consecutive requests go to alternate instances.
 */
export async function startBalancer(options: {
  dir: string;
  port: number;
  upstreams: string[];
  /** the proxies in front (NGINX_REAL_IP_FROM) */
  realIpFrom?: string[];
  /** 127.0.0.1 by default */
  host?: string;
  /** the rendered configuration, changed before nginx reads it (the TLS test points it at its own port and certificates) */
  adapt?: (conf: string) => string;
  /** nginx directives for the http {} block around the template (a CDN stand-in's own) */
  httpExtra?: string;
  /** with the template's TLS block on */
  tls?: boolean;
}): Promise<Balancer> {
  const { dir, port } = options;
  const host = options.host ?? '127.0.0.1';
  // the master runs as whoever we are, workers (as root: "nobody") must reach the temp paths
  fs.chmodSync(dir, 0o755);
  const accessLogPath = path.join(dir, 'access.log');
  const shopConfPath = path.join(dir, 'shop.conf');
  const rendered = renderShopConf({ listen: `${host}:${port}`, upstreams: options.upstreams, realIpFrom: options.realIpFrom, tls: options.tls });
  fs.writeFileSync(shopConfPath, options.adapt ? options.adapt(rendered) : rendered);
  // what the nginx image's own nginx.conf provides around conf.d/, pointed at `dir`
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  log_format shop escape=json '{"at":"$msec","method":"$request_method","uri":"$request_uri","status":"$status","took":"$request_time","upstream":"$upstream_addr","ua":"$http_user_agent"}';
  access_log ${accessLogPath} shop;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${options.httpExtra ?? ''}
  include ${shopConfPath};
}
`;
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  fs.writeFileSync(accessLogPath, '');
  // -e: the error log from the first moment, not Debian's /var/log/nginx before the config is read
  const service = spawnService('nginx', NGINX, ['-c', confPath, '-p', `${dir}/`, '-e', `${dir}/error.log`], { cwd: dir, env: process.env, logPath: path.join(dir, 'nginx.out') });
  const url = `http://${host}:${port}`;
  try {
    await waitFor(
      'nginx to pass GET /healthz through to a shop',
      async () => {
        if (service.hasExited()) throw new GiveUp('nginx exited');
        return (await fetch(`${url}/healthz`, { headers: { 'User-Agent': 'e2e-probe' } })).status === 200;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (err) {
    await service.stop('SIGKILL');
    const errorLog = fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : '';
    throw new Error(`${(err as Error).message}\n--- nginx output:\n${tailOf(service)}\n--- error.log:\n${errorLog.slice(-2000)}`, { cause: err });
  }
  return {
    ...service,
    url,
    accessLogPath,
    entries: () =>
      fs
        .readFileSync(accessLogPath, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const raw = JSON.parse(line) as Record<string, string>;
          return {
            startedAt: Math.round((Number(raw.at) - Number(raw.took)) * 1000),
            method: raw.method ?? '',
            uri: raw.uri ?? '',
            status: Number(raw.status),
            upstream: raw.upstream ?? '',
            userAgent: raw.ua ?? '',
          };
        })
        // stable: requests that arrived in the same millisecond keep the order they ended in
        .sort((a, b) => a.startedAt - b.startedAt),
  };
}
