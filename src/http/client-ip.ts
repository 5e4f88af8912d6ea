import type { Request } from 'express';

/** The shopper's address (behind TRUST_PROXY, the proxy's client), as WeChat wants it in spbill_create_ip. */
export function clientIp(req: Request): string {
  const ip = req.ip ?? '127.0.0.1';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip === '::1' ? '127.0.0.1' : ip;
}
