import net from 'node:net';
import os from 'node:os';
import { ConfigError } from './config-parse';
import { isPublicAddress } from './http/client-ip';

/**
 * The settings of where the shop listens and whom it believes about addresses (HOST, TRUST_PROXY,
 * the public URLs' reachability), read by config.ts's loadConfig (the one place process.env is
 * read); a bad value is a ConfigError naming the variable.
 */

/**
 * Where the shop listens unless HOST says otherwise: this machine only. The demo's /metrics and
 * simulator are open, so another machine reaches the shop only when someone chooses so (HOST=0.0.0.0,
 * as the image does: in a container, its proxy is another machine).
 */
export const DEFAULT_HOST = '127.0.0.1';

/** HOST: an address to listen on (brackets of an IPv6 address dropped), DEFAULT_HOST when unset. */
export function parseHost(raw: string | undefined): string {
  const host = raw ?? DEFAULT_HOST;
  if (net.isIP(host.replace(/^\[|\]$/g, '')) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(host)) {
    throw new ConfigError('HOST', `must be an address to listen on, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface) (got ${JSON.stringify(host)})`);
  }
  return host.replace(/^\[|\]$/g, '');
}

/** The named ranges Express's "trust proxy" knows (proxy-addr). */
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const TRUST_PROXY_EXPECTED =
  'must be none (browsers reach the shop directly), a hop count from 1 to 10 (1: the nginx of deploy/), or a comma-separated list of the proxies\' addresses (IP addresses, CIDR ranges, loopback, linklocal, uniquelocal)';

/** One entry of an address list: an IP, a CIDR range with a prefix that fits its family, or a named range. */
function isProxyAddress(entry: string): boolean {
  if (TRUST_PROXY_NAMES.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY, checked here so that a value Express would refuse (or misread) stops start-up with
 * one line instead of a crash later. Behind a proxy that is not trusted every shopper has the
 * proxy's address, so the per-address limits hold everyone together: in live mode and with
 * NODE_ENV=production it must be said, "none" included.
 */
export function parseTrustProxy(raw: string | undefined, required: string | undefined): false | number | string[] {
  if (raw === undefined) {
    if (required !== undefined) {
      throw new ConfigError(
        'TRUST_PROXY',
        `must be set explicitly ${required}: 1 behind the nginx of deploy/ (or the proxies' addresses), none when browsers reach the shop directly (README, "Going live")`,
      );
    }
    return false;
  }
  if (raw === 'none' || raw === 'false') return false;
  if (raw === 'true') {
    throw new ConfigError('TRUST_PROXY', 'must not be true: it trusts every hop, so any client could choose its own address with X-Forwarded-For; give the hop count or the proxies\' addresses');
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops >= 1 && hops <= 10) return hops;
    throw new ConfigError('TRUST_PROXY', `${TRUST_PROXY_EXPECTED} (got ${JSON.stringify(raw)}${hops === 0 ? ': write none for no proxy' : ''})`);
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.every(isProxyAddress)) return entries;
  throw new ConfigError('TRUST_PROXY', `${TRUST_PROXY_EXPECTED} (got ${JSON.stringify(raw)})`);
}

/**
 * Why an address WeChat or a shopper's browser must reach from the internet is not one (live
 * mode): a fragment, credentials, localhost, or a loopback, private or link-local IP literal.
 */
export function notPublicReason(raw: string, url: URL): string | undefined {
  if (raw.includes('#')) return 'must not have a fragment (#...)';
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return `must be reachable from the internet, not ${url.hostname}`;
  if (net.isIP(host) !== 0 && !isPublicAddress(host)) return `must be reachable from the internet, not the private or loopback address ${url.hostname}`;
  return undefined;
}

/**
 * This machine's first non-internal IPv4 address (what a NATIVE unifiedorder reports as the
 * calling machine), else 127.0.0.1. Behind NAT it is the private address; set
 * WXPAY_SPBILL_CREATE_IP to the public one when that matters to you.
 */
export function defaultSpbillCreateIp(interfaces: ReturnType<typeof os.networkInterfaces> = os.networkInterfaces()): string {
  for (const list of Object.values(interfaces)) {
    for (const address of list ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}
