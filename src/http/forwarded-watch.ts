import type http from 'node:http';
import type { Logger } from 'pino';
import client from 'prom-client';

/** Express's compiled "trust proxy" (app.get('trust proxy fn')): is the hop `i` at `address` trusted? */
export type TrustFn = (address: string, i: number) => boolean;

/** The warning is repeated at most this often, however many such requests come. */
export const UNTRUSTED_FORWARDING_LOG_INTERVAL_MS = 60_000;

export const UNTRUSTED_FORWARDING_METRIC = 'http_untrusted_forwarded_for_total';

/**
 * Requests that carry X-Forwarded-For from a peer the shop does not trust (TRUST_PROXY): the mark
 * of a proxy in front of the shop that TRUST_PROXY does not name, which makes every shopper behind
 * it one address to the per-address limits (one stranger then locks out everyone) and hides the
 * payer's address from WeChat's H5 cashier. (A client speaking to the shop directly may send the
 * header too; then it is ignored, as it must be, and counted all the same.) Each such request is
 * counted in /metrics; the log says so loudly, at most once a minute, with how many came since.
 * Returns the check to run on every request, before anything else answers it.
 */
export function watchUntrustedForwarding(options: {
  trust: TrustFn;
  clock: () => Date;
  logger: Pick<Logger, 'warn'>;
  registry: client.Registry;
  intervalMs?: number;
}): (req: http.IncomingMessage) => void {
  const intervalMs = options.intervalMs ?? UNTRUSTED_FORWARDING_LOG_INTERVAL_MS;
  const counter =
    (options.registry.getSingleMetric(UNTRUSTED_FORWARDING_METRIC) as client.Counter | undefined) ??
    new client.Counter({
      name: UNTRUSTED_FORWARDING_METRIC,
      help: 'Requests with an X-Forwarded-For header from a peer TRUST_PROXY does not trust (a proxy in front of the shop that TRUST_PROXY does not name)',
      registers: [options.registry],
    });
  let lastLoggedAt: number | undefined;
  let unlogged = 0;
  return (req) => {
    const forwardedFor = req.headers['x-forwarded-for'];
    if (forwardedFor === undefined) return;
    const peer = req.socket.remoteAddress ?? '';
    if (options.trust(peer, 0)) return;
    counter.inc();
    unlogged += 1;
    const now = options.clock().getTime();
    if (lastLoggedAt !== undefined && now - lastLoggedAt < intervalMs) return;
    lastLoggedAt = now;
    options.logger.warn(
      { peer, forwardedFor: String(forwardedFor).slice(0, 200), requests: unlogged, metric: UNTRUSTED_FORWARDING_METRIC },
      `WARNING: X-Forwarded-For from ${peer}, which TRUST_PROXY does not trust (${unlogged} such request${unlogged === 1 ? '' : 's'} since the last warning): if a proxy stands in front of the shop, every shopper behind it counts as its one address (one stranger can lock out everyone) until TRUST_PROXY names it (README, "Going live")`,
    );
    unlogged = 0;
  };
}
