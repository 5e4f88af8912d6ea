import { BlockList, isIP, isIPv4 } from 'node:net';
import type { Request } from 'express';

/** The shopper's address (behind TRUST_PROXY, the proxy's client), as WeChat wants it in spbill_create_ip. */
export function clientIp(req: Request): string {
  const ip = req.ip ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip === '::1' ? '127.0.0.1' : ip;
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail as two groups), or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  const plain = ip.replace(/%.*$/, '').toLowerCase();
  if (isIP(plain) !== 6) return undefined;
  let text = plain;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups].map((g) => parseInt(g, 16));
}

/**
 * What every per-address limit counts a client under (checkout holdings, order lookups, the
 * admin's login): an IPv4 address as it is, an IPv6 address by its /64 (one subscriber, one home,
 * one phone gets a whole /64 and may use any address in it), and an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) as the IPv4 address it is. Anything else is kept as it came.
 */
export function addressKey(ip: string): string {
  const plain = ip.trim();
  if (isIPv4(plain)) return plain;
  const groups = ipv6Groups(plain);
  if (!groups) return plain.slice(0, 64);
  // ::ffff:0:0/96, IPv4-mapped: the IPv4 address
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The client's address as the per-address limits count it (see addressKey). */
export function clientAddressKey(req: Request): string {
  return addressKey(clientIp(req));
}

/**
 * The shop's own address as the shopper's browser reaches it, for everything a browser is sent to
 * (WeChat's H5 cashier and where it comes back, the web authorization's redirect_uri, the
 * simulator's pages): SHOP_URL when set, else the scheme and host of this request, which behind a
 * trusted proxy (TRUST_PROXY) are the proxy's X-Forwarded-Proto and -Host. Never the address the
 * shop listens on, which behind a proxy no browser can open.
 */
export function publicOrigin(req: Request, shopUrl: string | undefined): string {
  return shopUrl ?? `${req.protocol}://${req.host ?? 'localhost'}`;
}

/** Addresses that are nobody's on the internet: private, loopback, link-local, CGNAT, documentation, multicast. */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/**
 * A public internet address, as WeChat's H5 cashier compares it with the payer's: a private or
 * loopback one means the shop sees its proxy, not the shopper (TRUST_PROXY is missing or wrong).
 */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  return !NOT_PUBLIC.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
