import express from 'express';
import type { Knex } from 'knex';
import type pino from 'pino';
import type { SimContext } from './context';
import { deliverDueNotifications } from './notifier';
import { simulatorRoutes } from './routes';
import { ensureMerchant } from './merchants';
import { completeDueRefunds } from './refunds';
import { robotRoutes } from './robot';
import { simulatorV3Routes } from './v3/routes';
import { createSimV3State, type SimV3Options, type SimV3State } from './v3/state';
import type { V3MerchantKeys } from './merchants';

/**
 * A local stand-in for WeChat Pay v2: the API (unifiedorder, orderquery, closeorder, refund,
 * refundquery, downloadbill), a "phone" that scans a code_url and pays, and a notify sender that
 * retries on WeChat's schedule. Its state lives in the sim_* tables of the given database, so a
 * restart loses nothing and several app instances share one simulator.
 */
export interface SimulatorOptions {
  /** same database as the app (own tables sim_*) */
  knex: Knex;
  /** injected; tests use a manual clock */
  clock: () => Date;
  /** divides the notify retry schedule and the refund delay (config.simulator.timeScale) */
  timeScale: number;
  /** real (unscaled) refund delay before dividing by timeScale */
  refundDelayMs: number;
  logger: pino.Logger;
  /** how often the background delivery loop looks for due work (default 250 ms) */
  pollIntervalMs?: number;
  /** how long a notify receiver may take to answer (default 5000 ms, as WeChat) */
  notifyTimeoutMs?: number;
  /**
   * Who may use the fault panel and the fault API: the shop passes its admin login (main.ts); by
   * default only requests from this machine (loopbackOnly), the standalone simulator's rule.
   */
  faultsGuard?: express.RequestHandler;
  /**
   * The only URLs notifies are sent to (the shop's payment and refund notify URLs); a trade or
   * refund naming another is never notified. Unset: any URL (the simulator alone, its own tests).
   */
  allowedNotifyUrls?: string[];
  /** the stand-in group robot's signing secrets (the shop's DingTalk and Feishu ones), checked as those robots do */
  robotSecrets?: { dingtalk?: string | undefined; feishu?: string | undefined };
  /** APIv3: the simulator's WeChat Pay key (generated when unset) and the unconfirmed choices */
  v3?: SimV3Options;
}

/** The same URL however it is spelled (case of the host, default port, trailing dot-segments). */
function normalizedUrl(raw: string): string | undefined {
  try {
    return new URL(raw).toString();
  } catch {
    return undefined;
  }
}

export interface Simulator {
  /** mount at /wxsim; has its own body parsers */
  router: express.Router;
  /** upsert by mch_id: the simulator accepts whatever is configured */
  ensureMerchant(m: { appId: string; mchId: string; apiKey: string; name?: string; refundNotifyUrl?: string; oaSecret?: string | undefined; v3?: V3MerchantKeys | undefined }): Promise<void>;
  /** the WeChat Pay public key APIv3 answers and notifies are signed with, and its id (what a merchant downloads) */
  readonly v3PublicKey: { id: string; pem: string };
  /** starts the background delivery loop (notifies, refund completion) */
  start(): void;
  /** stops it and waits for an in-flight round */
  stop(): Promise<void>;
  /** one round now (tests with a manual clock call this); returns the work items done */
  runDueWork(): Promise<number>;
}

export const DEFAULT_POLL_INTERVAL_MS = 250;
export const DEFAULT_NOTIFY_TIMEOUT_MS = 5000;

export function createSimulator(opts: SimulatorOptions): Simulator {
  if (!(opts.timeScale > 0) || !Number.isFinite(opts.timeScale)) throw new TypeError(`timeScale must be a positive number, got ${opts.timeScale}`);
  if (!(opts.refundDelayMs >= 0)) throw new TypeError(`refundDelayMs must be >= 0, got ${opts.refundDelayMs}`);
  const pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  // the caller names the component (main.ts: logger.child({ component: 'simulator' }))
  const logger = opts.logger;

  let started = false;
  let timer: NodeJS.Timeout | undefined;
  // rounds run one after another, whoever asks (the loop, a wake-up, a test)
  let chain: Promise<unknown> = Promise.resolve();
  let roundsQueued = 0;

  let v3State: SimV3State | undefined;
  const ctx: SimContext = {
    knex: opts.knex,
    clock: opts.clock,
    timeScale: opts.timeScale,
    refundDelayMs: opts.refundDelayMs,
    logger,
    notifyTimeoutMs: opts.notifyTimeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS,
    keys: new Map(),
    oaSecrets: new Map(),
    // made on first use: a 2048-bit key takes a moment, and most runs never speak v3
    get v3() {
      return (v3State ??= createSimV3State(opts.v3));
    },
    notifyUrlAllowed: opts.allowedNotifyUrls
      ? ((allowed: Set<string>) => (url: string) => {
          const normal = normalizedUrl(url);
          return normal !== undefined && allowed.has(normal);
        })(new Set(opts.allowedNotifyUrls.map(normalizedUrl).filter((u): u is string => u !== undefined)))
      : undefined,
    wake: () => {
      if (!started || roundsQueued > 0) return;
      schedule(0);
    },
  };

  async function round(): Promise<number> {
    const refunds = await completeDueRefunds(ctx);
    const notifies = await deliverDueNotifications(ctx);
    return refunds + notifies;
  }

  function runDueWork(): Promise<number> {
    roundsQueued++;
    const next = chain.then(round).finally(() => {
      roundsQueued--;
    });
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(delayMs: number): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
    timer.unref?.();
  }

  function tick(): void {
    timer = undefined;
    if (!started) return;
    runDueWork()
      .catch((err: unknown) => logger.error({ err }, 'simulator delivery round failed'))
      .finally(() => {
        if (started && !timer) schedule(pollIntervalMs);
      });
  }

  return {
    // the stand-in group robot first: the simulator's own routes end with their "not found"
    router: express.Router().use(simulatorV3Routes(ctx)).use(robotRoutes({ knex: opts.knex, clock: opts.clock, secrets: opts.robotSecrets })).use(simulatorRoutes(ctx, { faultsGuard: opts.faultsGuard })),
    ensureMerchant: (m) => ensureMerchant(ctx, m),
    get v3PublicKey() {
      return { id: ctx.v3.publicKeyId, pem: ctx.v3.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    },
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
    runDueWork,
  };
}

export type { Fault, FaultInput, FaultKind } from './faults';
export { FAULT_KINDS, DELIVERY_FAULT_KINDS, STATE_FAULT_KINDS, FaultInputError, addFault, deleteFault, listFaults, parseFaultInput, takeFault } from './faults';
export { MAX_NOTIFY_ATTEMPTS, NOTIFY_RETRY_SECONDS, deliverDueNotifications, postNotify, retryDelayMs } from './notifier';
export type { NotificationRow } from './notifier';
export { ensureMerchant as upsertMerchant } from './merchants';
export { CODE_URL_TTL_MS, unifiedOrder } from './unified-order';
export { orderQuery } from './order-query';
export { closeOrder } from './close-order';
export { MAX_REFUNDS_PER_TRADE, REFUND_INTERVAL_MS, completeDueRefunds, refund, refundQuery } from './refunds';
export { cancelByCode, payByCode, scanCode } from './phone';
export type { PhoneView } from './phone';
export type { RefundRow, TradeRow } from './model';
export { downloadBill, serviceFeeFen } from './bill';
export { handleApiCall } from './api';
export { API_NAMES, type ApiName, type SimContext, type SimMerchant } from './context';
export { codeTokenOf, codeUrlOf } from './ids';
export { loopbackOnly } from './routes';
