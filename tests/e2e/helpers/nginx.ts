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

/**
 * The template rendered as the nginx image renders it (envsubst of the variables it is given):
 * listening on `listen`, in front of `upstreams` (["127.0.0.1:A", ...]). Every `${NAME}` of the
 * template must be given, so a variable added to it cannot go unnoticed here.
 */
export function renderShopConf(vars: { listen: string; upstreams: string[] }): string {
  const values: Record<string, string> = {
    NGINX_LISTEN: vars.listen,
    SHOP_UPSTREAM_SERVERS: vars.upstreams.map((u) => `server ${u};`).join(' '),
  };
  return fs.readFileSync(SHOP_CONF_TEMPLATE, 'utf8').replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${SHOP_CONF_TEMPLATE} uses \${${name}}, which the e2e balancer does not set`);
    return value;
  });
}

/**
 * Debian's nginx with the production proxy configuration (deploy/nginx/shop.conf.template, as
 * compose.yaml uses it) on 127.0.0.1:`port` in front of `upstreams` (["127.0.0.1:A", ...]), round
 * robin, with everything it writes kept in `dir`. One worker process, so the round robin is one
 * rotation: consecutive requests go to alternate instances.
 */
export async function startBalancer(options: { dir: string; port: number; upstreams: string[] }): Promise<Balancer> {
  const { dir, port } = options;
  // the master runs as whoever we are, workers (as root: "nobody") must reach the temp paths
  fs.chmodSync(dir, 0o755);
  const accessLogPath = path.join(dir, 'access.log');
  const shopConfPath = path.join(dir, 'shop.conf');
  fs.writeFileSync(shopConfPath, renderShopConf({ listen: `127.0.0.1:${port}`, upstreams: options.upstreams }));
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
  include ${shopConfPath};
}
`;
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  fs.writeFileSync(accessLogPath, '');
  // -e: the error log from the first moment, not Debian's /var/log/nginx before the config is read
  const service = spawnService('nginx', NGINX, ['-c', confPath, '-p', `${dir}/`, '-e', `${dir}/error.log`], { cwd: dir, env: process.env, logPath: path.join(dir, 'nginx.out') });
  const url = `http://127.0.0.1:${port}`;
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
