import type { Knex } from 'knex';
import type { Logger } from 'pino';
import client from 'prom-client';
import { reconcileYesterday } from '../admin/reconcile-alerts';
import { expireUnacceptedCod } from '../checkout/cod';
import { beijingDateOf, DAY_MS } from '../beijing-time';
import type { Clock } from '../deps';
import { CLOSE_NOT_BEFORE_MS, claimForSweep, completeDueOrders, orderEvent, type SweepKind } from '../ledger';
import type { PaymentProvider } from '../payments';
import { closeTrade } from '../pay/attempts';
import { approveDueRequests } from '../aftersales/service';
import { settleFromQuery } from '../pay/settle';

/**
 * The sweeper, a job of its own on every instance: it ends what nobody else will. Unpaid attempts
 * whose time is up (or that were superseded, once WeChat would close them) are asked about, closed
 * at WeChat and here, and their stock given back; attempts with a live code and no news are asked
 * about, so a lost notify never leaves a paid shopper unpaid; attempts closed here are asked about
 * twice more in WeChat's day of notify retries, so a payment WeChat took after the close (its
 * notify lost too) is found and settled as late; cash-on-delivery orders nobody accepted are
 * cancelled; shipped orders nobody confirmed are completed AUTO_COMPLETE_DAYS after they left.
 * Several instances share the work safely (claims with SKIP LOCKED).
 */

export interface SweeperOptions {
  knex: Knex;
  provider: PaymentProvider;
  clock: Clock;
  logger: Logger;
  registry: client.Registry;
  intervalSeconds: number;
  batchSize: number;
  qrTtlSeconds: number;
  /** a NOTPAY trade with a QR code this old and no news is asked about */
  queryAfterSeconds: number;
  /** and asked again no sooner than this */
  queryIntervalSeconds: number;
  /** a cash-on-delivery order not accepted by the merchant within this many hours is cancelled */
  codAcceptHours: number;
  /** a shipped WeChat Pay order the shopper has not confirmed this many days after shipment is completed (default 10) */
  autoCompleteDays?: number;
  /** after-sales requests left undecided this many hours are approved (AFTERSALE_APPROVE_AFTER_HOURS); undefined: not run */
  approveAfterHours?: number;
  /** reconcile yesterday against WeChat's bill once a day (after 10:30 Beijing), alerting on differences */
  reconcileDaily?: boolean;
}

export interface Sweeper {
  start(): void;
  stop(): Promise<void>;
  /** One round now: close expired trades, re-ask about forgotten ones. Returns trades handled. */
  sweepOnce(): Promise<number>;
}

/** The longest a sweeper waits before trying a failing trade again. */
export const MAX_BACKOFF_MS = 30 * 60 * 1000;
/** Trades with a failure on record, at most (the oldest record is forgotten first). */
const MAX_BACKOFF_RECORDS = 10_000;

export function createSweeper(options: SweeperOptions): Sweeper {
  const { knex, logger } = options;
  // A trade whose last try failed here (WeChat unreachable or failing) waits before the next one,
  // twice as long after each failure, from queryIntervalSeconds up to MAX_BACKOFF_MS: a WeChat
  // outage of minutes is not met with a query per trade per round. Per instance, in memory: a
  // restart or another instance simply tries sooner, which is always safe.
  const backoff = new Map<string, { failures: number; notBefore: number }>();
  const deferred = (outTradeNo: string, now: Date) => (backoff.get(outTradeNo)?.notBefore ?? 0) > now.getTime();
  const failedAt = (outTradeNo: string, now: Date) => {
    const failures = (backoff.get(outTradeNo)?.failures ?? 0) + 1;
    backoff.delete(outTradeNo);
    if (backoff.size >= MAX_BACKOFF_RECORDS) backoff.delete(backoff.keys().next().value as string);
    backoff.set(outTradeNo, { failures, notBefore: now.getTime() + Math.min(options.queryIntervalSeconds * 1000 * 2 ** failures, MAX_BACKOFF_MS) });
  };
  const actions = new client.Counter({
    name: 'pay_sweeper_actions_total',
    help: 'What the sweeper did with the trades it looked at',
    labelNames: ['action'] as const,
    registers: [options.registry],
  });
  // the last day this instance reconciled (another instance may too: the alert is kept once)
  let reconciled: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function sweepOnce(): Promise<number> {
    const now = options.clock();
    let handled = 0;
    const claim = (kind: SweepKind) =>
      claimForSweep(knex, kind, now, {
        qrTtlSeconds: options.qrTtlSeconds,
        queryAfterSeconds: options.queryAfterSeconds,
        intervalSeconds: options.queryIntervalSeconds,
        limit: options.batchSize,
        closeNotBeforeMs: CLOSE_NOT_BEFORE_MS,
      });
    // 1. expired: the QR code's time is up (or was never drawn and would be by now); or superseded:
    //    its orders were paid through another attempt (a late payment), so it must not stay payable
    const expired = await claim('expired');
    for (const outTradeNo of expired) {
      if (deferred(outTradeNo, now)) {
        actions.inc({ action: 'backoff' });
        continue;
      }
      try {
        const outcome = await closeTrade(knex, options.provider, { outTradeNo, now, operator: 'system', event: orderEvent('closed_expired', {}) });
        backoff.delete(outTradeNo);
        actions.inc({ action: outcome });
        handled += 1;
      } catch (err) {
        failedAt(outTradeNo, now);
        actions.inc({ action: 'error' });
        logger.warn({ err, outTradeNo }, 'sweeper could not close a trade; will try again');
      }
    }
    // asks WeChat about each claimed trade and settles what it says (a failing one waits its backoff)
    const ask = async (outTradeNos: readonly string[], action: 'query' | 'closed_query', what: string) => {
      for (const outTradeNo of outTradeNos) {
        if (deferred(outTradeNo, now)) {
          actions.inc({ action: 'backoff' });
          continue;
        }
        try {
          const { result } = await settleFromQuery(knex, options.provider, outTradeNo, { now, source: 'sweeper' });
          backoff.delete(outTradeNo);
          actions.inc({ action: `${action}_${result ? result.outcome : 'unpaid'}` });
          handled += 1;
        } catch (err) {
          failedAt(outTradeNo, now);
          actions.inc({ action: 'error' });
          logger.warn({ err, outTradeNo }, `sweeper could not ask WeChat about ${what}`);
        }
      }
    };
    // 2. forgotten: a live QR code, no notify for a while: ask WeChat, so a lost webhook is found
    await ask(await claim('forgotten'), 'query', 'a trade');
    // 3. closed here, yet WeChat may have taken the money after all (its notify lost): asked twice in WeChat's day of retries
    await ask(await claim('closed'), 'closed_query', 'a closed trade');
    // 4. cash on delivery nobody accepted: cancelled, stock returned (src/checkout/cod.ts)
    try {
      const cancelled = await expireUnacceptedCod(knex, now, options.codAcceptHours, options.batchSize);
      if (cancelled > 0) actions.inc({ action: 'cod_cancelled' }, cancelled);
      handled += cancelled;
    } catch (err) {
      actions.inc({ action: 'error' });
      logger.warn({ err }, 'sweeper could not cancel unaccepted cash-on-delivery orders; will try again');
    }
    // 4. shipped orders nobody confirmed: completed by the clock (src/ledger/fulfilment.ts)
    try {
      const completed = await completeDueOrders(knex, now, options.autoCompleteDays ?? 10, options.batchSize);
      if (completed > 0) actions.inc({ action: 'auto_completed' }, completed);
      handled += completed;
    } catch (err) {
      actions.inc({ action: 'error' });
      logger.warn({ err }, 'sweeper could not complete shipped orders; will try again');
    }
    // 4. after-sales requests the merchant left undecided: approved by the clock (src/aftersales)
    if (options.approveAfterHours !== undefined) {
      try {
        const approved = await approveDueRequests(knex, options.provider, { clock: options.clock, hours: options.approveAfterHours, limit: options.batchSize });
        if (approved > 0) actions.inc({ action: 'aftersale_approved' }, approved);
        handled += approved;
      } catch (err) {
        actions.inc({ action: 'error' });
        logger.warn({ err }, 'sweeper could not approve due after-sales requests; will try again');
      }
    }
    // 5. once a day: yesterday against WeChat's bill, differences told to the merchant (reconcile.mismatch)
    if (options.reconcileDaily) {
      const yesterday = beijingDateOf(new Date(now.getTime() - DAY_MS));
      if (reconciled !== yesterday) {
        try {
          if ((await reconcileYesterday(knex, options.provider, now)) === yesterday) reconciled = yesterday;
        } catch (err) {
          logger.warn({ err }, 'sweeper could not reconcile yesterday; will try again');
        }
      }
    }
    return handled;
  }

  const round = () => {
    if (stopped) return;
    running = sweepOnce()
      .catch((err: unknown) => {
        logger.error({ err }, 'sweep failed');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(round, options.intervalSeconds * 1000).unref();
      });
  };

  return {
    start() {
      if (options.intervalSeconds > 0 && !timer && !running) timer = setTimeout(round, options.intervalSeconds * 1000).unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    sweepOnce,
  };
}
