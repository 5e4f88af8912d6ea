#!/usr/bin/env node
// Renders deploy/nginx/shop.conf.template for an nginx without Docker, as the nginx image renders
// it for compose.yaml: its three variables (written as a dollar sign and the name in braces) from
// the environment, and nothing else. nginx's own $variables ($remote_addr, $scheme, ...) stay as
// they are: plain `envsubst` with no variable list would blank them and break the file.
//
//   NGINX_LISTEN=80 \
//   SHOP_UPSTREAM_SERVERS='server 127.0.0.1:3001; server 127.0.0.1:3002;' \
//   node scripts/render-nginx-conf.mjs --out /etc/nginx/conf.d/shop.conf
//
// NGINX_LISTEN           what `listen` takes: a port, or address:port
// SHOP_UPSTREAM_SERVERS  the shop's instances, as nginx `server` directives
// NGINX_REAL_IP_FROM     the proxies in front of nginx (a CDN's ranges), as `set_real_ip_from`
//                        directives; unset or empty when nginx is the edge
// --tls                  turns on the template's TLS block (certificates in /etc/nginx/tls/)
// --template <file>      another template (default: the one beside this repository's scripts/)
// --out <file>           write there instead of standard output
//
// Plain JavaScript on node's own modules: it runs where only `npm ci --omit=dev` was done.
// A missing variable or a bad argument ends it with one line and exit code 2.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VARIABLES = {
  NGINX_LISTEN: { required: true },
  SHOP_UPSTREAM_SERVERS: { required: true },
  NGINX_REAL_IP_FROM: { required: false },
};

function fail(message) {
  process.stderr.write(`render-nginx-conf: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { tls: false, template: path.join(HERE, '..', 'deploy', 'nginx', 'shop.conf.template'), out: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--tls') options.tls = true;
    else if (arg === '--template' || arg === '--out') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) fail(`${arg} needs a file name`);
      options[arg.slice(2)] = value;
      i += 1;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      process.exit(0);
    } else fail(`unknown argument ${JSON.stringify(arg)} (see --help)`);
  }
  return options;
}

/** The template with our variables filled in and, with `tls`, its TLS block uncommented. */
export function render(template, env, { tls = false } = {}) {
  let text = template.replace(/\$\{(\w+)\}/g, (_, name) => {
    const variable = VARIABLES[name];
    if (!variable) throw new RenderError(`the template uses \${${name}}, which this script does not know`);
    const value = env[name] ?? '';
    if (variable.required && value.trim() === '') throw new RenderError(`${name} must be set (see the top of scripts/render-nginx-conf.mjs)`);
    return value;
  });
  if (tls) {
    const begin = text.indexOf('# TLS-BEGIN');
    const end = text.indexOf('# TLS-END');
    if (begin < 0 || end < begin) throw new RenderError('the template has no TLS-BEGIN ... TLS-END block');
    const block = text.slice(begin, end).replace(/^(\s*)# (?!TLS-BEGIN)/gm, '$1');
    text = text.slice(0, begin) + block + text.slice(end);
  }
  return text;
}

export class RenderError extends Error {}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  let template;
  try {
    template = fs.readFileSync(options.template, 'utf8');
  } catch (err) {
    fail(`cannot read ${options.template}: ${err.code ?? err.message}`);
  }
  let text;
  try {
    text = render(template, process.env, { tls: options.tls });
  } catch (err) {
    if (err instanceof RenderError) fail(err.message);
    throw err;
  }
  if (options.out) fs.writeFileSync(options.out, text);
  else process.stdout.write(text);
}
