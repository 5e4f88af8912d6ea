import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { createApp, type Clock } from './app';
import { requireAdminForSimulatorFaults } from './admin/auth';
import { seedCatalogIfEmpty } from './catalog/seed';
import { ConfigError, loadConfig, type Config } from './config';
import { watchUntrustedForwarding, type TrustFn } from './http/forwarded-watch';
import { migrateToLatest, openDatabase, type Database } from './db';
import { channelsOf, createDispatcher, type Dispatcher } from './outbox';
import { PaylogWaiters } from './pay/waiters';
import type { PaymentProvider } from './payments';
import { createPaymentProvider } from './payments/provider';
import { apiVersionOfAttempt, apiVersionOfRefund } from './ledger';
import { keptV3Keys } from './simulator/v3/kept-keys';
import { createSweeper, type Sweeper } from './sweeper';
import { refundNotifyUrl } from './webhooks/routes';
import { getOrCreateSetting, randomSecret } from './settings';
import { createSimulator, type Simulator } from './simulator';
import { OAUTH_API_BASE, OAUTH_AUTHORIZE_BASE, WX_H5_CASHIER_ORIGIN } from './wechatpay/oauth';

/** A failure at start-up that deserves one clear line and a non-zero exit. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface RunningShop {
  server: http.Server;
  url: string;
  db: Database;
  app: ReturnType<typeof createApp>;
  simulator: Simulator | undefined;
  sweeper: Sweeper;
  /** delivers the merchant's alerts from the outbox (src/outbox) */
  dispatcher: Dispatcher;
  waiters: PaylogWaiters;
  stop(): Promise<void>;
}

/** What tests may put in place of the real thing: the database (a fresh one per test file) and time. */
export interface StartOverrides {
  /** a database the caller opened and will close (stop() leaves it open) */
  db?: Database;
  clock?: Clock;
  /** where the log goes (tests read it); by default createLogger's */
  logger?: Logger;
  /** the payment provider, made from where WeChat (or this app's simulator) is, instead of the configuration's (tests of a provider not yet configurable) */
  payments?: (where: { baseUrl: string; notifyUrl: string; refundNotifyUrl: string; simulator: Simulator | undefined; db: Database; clock: Clock }) => Promise<PaymentProvider> | PaymentProvider;
}

/**
 * The shop's log: JSON lines, one per event, for a process manager or a collector; on a terminal
 * (`npm start` in a shell), the same events as readable lines, so that the start-up lines (where the
 * shop is, the one-time admin password) can be read at a glance.
 */
export function createLogger(level: Config['logLevel'], terminal = process.stdout.isTTY === true): Logger {
  if (!terminal) return pino({ level });
  return pino({ level }, pretty({ colorize: true, sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }));
}

/** An address to listen on, as it goes into a URL (an IPv6 one in brackets). */
function urlHost(host: string): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return local.includes(':') ? `[${local}]` : local;
}

function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  // pg wraps "connection refused" on both IPv4 and IPv6 in an AggregateError with no message
  if (!e?.message && Array.isArray(e?.errors) && e.errors.length > 0) return reasonOf(e.errors[0]);
  return [e?.code, e?.message].filter(Boolean).join(' ') || String(err);
}

function listen(server: http.Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new StartupError(`port ${port} is already in use: stop the other server or set PORT`));
      else if (err.code === 'EACCES') reject(new StartupError(`port ${port} needs privileges this user lacks: set PORT above 1024`));
      else reject(new StartupError(`cannot listen on port ${port}: ${reasonOf(err)}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** config -> db -> migrate -> seed -> listen -> app. Throws ConfigError / StartupError. */
export async function start(env: NodeJS.ProcessEnv = process.env, overrides: StartOverrides = {}): Promise<RunningShop> {
  const config = loadConfig(env);
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? (() => new Date());
  if (config.metricsToken === undefined && config.production) logger.warn('WARNING: /metrics is open to anyone: set METRICS_TOKEN in production');

  let db: Database;
  try {
    db = overrides.db ?? (await openDatabase(config));
  } catch (err) {
    const where = config.databaseUrl ? `PostgreSQL at ${redactUrl(config.databaseUrl)}` : `embedded PGlite in ${config.pgliteDir}`;
    throw new StartupError(`cannot open the database (${where}): ${reasonOf(err)}`);
  }

  let simulator: Simulator | undefined;
  const waiters = new PaylogWaiters(db, config.poll.maxWaiters, { perSession: config.poll.maxWaitersPerSession, perTrade: config.poll.maxWaitersPerTrade });
  let server: http.Server | undefined;
  try {
    await waiters.start();
    const applied = await migrateToLatest(db.knex);
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
    // the demo catalog (with its ¥0.01 test item) only in the simulator demo: a live shop starts
    // empty and the merchant adds or imports their own products (README "Products")
    const seeded = config.wxpay.mode === 'simulator' ? await seedCatalogIfEmpty(db.knex, clock()) : 0;
    if (seeded > 0) logger.info({ seeded }, 'demo catalog loaded');
    const sessionSecret = config.sessionSecret ?? (await getOrCreateSetting(db.knex, 'session_secret', () => randomSecret()));

    // Listen first so that a PORT of 0 is known before the app is built; until then, 503.
    let handler: http.RequestListener = (_req, res) => res.writeHead(503, { 'Retry-After': '1' }).end();
    server = http.createServer((req, res) => handler(req, res));
    await listen(server, config.port, config.host);
    const listening = server;
    const { port } = server.address() as AddressInfo;
    const url = `http://${urlHost(config.host)}:${port}`;

    // In simulator mode the stand-in lives in this very app, and we still talk to it over HTTP.
    const merchant = { appId: config.wxpay.appId, mchId: config.wxpay.mchId, apiKey: config.wxpay.apiKey };
    // simulator mode: WeChat's stand-in sends the notify to the shop's notify URL. With SHOP_URL
    // (the address every instance is reached at) that is the public one, so any instance on the
    // database may deliver a payment made through any other; the address of this very process
    // would be refused by the other instances' simulators (they notify only their own shop)
    const notifyUrl = config.wxpay.notifyUrl ?? `${config.wxpay.mode === 'simulator' && config.shopUrl ? config.shopUrl : url}/wxpay/notify`;
    // APIv3: live, the configured credentials; the simulator demo on v3, its own kept keys (or the configured ones)
    const simV3 = config.wxpay.mode === 'simulator' && config.wxpay.apiVersion === 'v3' ? await keptV3Keys(db.knex) : undefined;
    const v3Merchant = simV3
      ? (config.wxpay.v3 ?? { apiV3Key: simV3.merchant.apiV3Key, privateKey: crypto.createPrivateKey(simV3.merchant.privateKeyPem), merchantSerial: simV3.merchant.serial, publicKey: undefined })
      : config.wxpay.mode === 'live'
        ? config.wxpay.v3
        : undefined;
    if (config.wxpay.mode === 'simulator') {
      simulator = createSimulator({
        v3: simV3?.simulator,
        // notifies go to this shop's own notify URLs and nowhere else
        allowedNotifyUrls: [notifyUrl, refundNotifyUrl(notifyUrl)],
        knex: db.knex,
        clock,
        timeScale: config.simulator.timeScale,
        refundDelayMs: config.simulator.refundDelaySeconds * 1000,
        logger: logger.child({ component: 'simulator' }),
        // faults are the admin's (app.ts puts the session in front of the fault paths)
        faultsGuard: requireAdminForSimulatorFaults,
        robotSecrets: { dingtalk: config.alerts.dingtalk?.secret, feishu: config.alerts.feishu?.secret },
      });
      const v3Keys = v3Merchant && { apiV3Key: v3Merchant.apiV3Key, merchantSerial: v3Merchant.merchantSerial, merchantPublicKeyPem: crypto.createPublicKey(v3Merchant.privateKey).export({ type: 'spki', format: 'pem' }).toString() };
      await simulator.ensureMerchant({ ...merchant, name: config.shopName, oaSecret: config.wxpay.oaSecret, v3: v3Keys });
    }
    const wxBaseUrl = config.wxpay.baseUrl ?? `${url}/wxsim`;
    const payments = overrides.payments
      ? await overrides.payments({ baseUrl: wxBaseUrl, notifyUrl, refundNotifyUrl: refundNotifyUrl(notifyUrl), simulator, db, clock })
      : createPaymentProvider(
          config.wxpay,
          { baseUrl: wxBaseUrl, notifyUrl, refundNotifyUrl: refundNotifyUrl(notifyUrl) },
          {
            clock,
            versionOfAttempt: (outTradeNo) => apiVersionOfAttempt(db.knex, outTradeNo),
            versionOfRefund: (outRefundNo) => apiVersionOfRefund(db.knex, outRefundNo),
            v3: v3Merchant && {
              ...v3Merchant,
              wechatPublicKey: simulator && simV3 ? { id: simulator.v3PublicKey.id, key: crypto.createPublicKey(simulator.v3PublicKey.pem) } : (v3Merchant.publicKey as { id: string; key: crypto.KeyObject }),
            },
          },
        );

    // the Official Account's web authorization (JSAPI): WeChat's hosts, or this app's /wxsim
    const oauth = config.wxpay.mode === 'simulator' ? { authorizeBase: undefined, apiBase: `${url}/wxsim` } : { authorizeBase: OAUTH_AUTHORIZE_BASE, apiBase: OAUTH_API_BASE };
    // a form's redirect to another origin must be allowed by the page's CSP (form-action): WeChat's
    // H5 cashier and web authorization; in simulator mode the simulator as the shop calls it
    // (the built-in simulator is sent to at the shop's public origin: 'self', or SHOP_URL; never
    // at the address this process listens on, which behind a proxy no browser reaches)
    const browserOrigins =
      config.wxpay.mode === 'live'
        ? [WX_H5_CASHIER_ORIGIN, new URL(OAUTH_AUTHORIZE_BASE).origin]
        : config.wxpay.baseUrl !== undefined
          ? [new URL(config.wxpay.baseUrl).origin]
          : config.shopUrl !== undefined
            ? [config.shopUrl]
            : [];
    const app = createApp({ config: { ...config, sessionSecret }, db, clock, logger, payments, wxpay: { notifyUrl, oauth, browserOrigins }, waiters, simulator });
    // X-Forwarded-For from a peer TRUST_PROXY does not trust: a proxy the shop does not know of
    const watchForwarding = watchUntrustedForwarding({ trust: app.get('trust proxy fn') as TrustFn, clock, logger, registry: app.locals.deps.metrics.registry });
    // the status long-poll first, without Express (see src/pay/status-routes.ts), then the app
    handler = (req, res) => {
      watchForwarding(req);
      if (!app.locals.statusPoll.handle(req, res)) app(req, res);
    };
    simulator?.start();
    const sweeper = createSweeper({
      knex: db.knex,
      provider: payments,
      clock,
      logger: logger.child({ component: 'sweeper' }),
      registry: app.locals.deps.metrics.registry,
      intervalSeconds: config.sweeper.intervalSeconds,
      batchSize: config.sweeper.batchSize,
      qrTtlSeconds: config.payQrTtlSeconds,
      queryAfterSeconds: config.poll.queryAfterSeconds,
      queryIntervalSeconds: config.poll.queryIntervalSeconds,
      codAcceptHours: config.codAcceptHours,
      autoCompleteDays: config.fulfilment.autoCompleteDays,
      approveAfterHours: config.aftersale.approveAfterHours,
      reconcileDaily: true,
    });
    sweeper.start();
    const dispatcher = createDispatcher({
      knex: db.knex,
      // simulator mode with no channel set: the simulator's stand-in WeCom robot (/wxsim/robot lists what it got)
      channels: channelsOf(config.alerts, simulator ? `${url}/wxsim/cgi-bin/webhook/send?key=simulator` : undefined),
      clock,
      logger: logger.child({ component: 'outbox' }),
      registry: app.locals.deps.metrics.registry,
      intervalSeconds: config.alerts.dispatchIntervalSeconds,
      baseUrl: config.shopUrl ?? url,
      shopName: config.shopName,
      locale: config.alerts.locale,
    });
    dispatcher.start();
    logger.info({ url, database: db.kind, wxpayMode: config.wxpay.mode }, `shop listening on ${url}`);
    // where each of the three doors is, one line each
    logger.info(`shop: ${url}/`);
    logger.info(`admin: ${url}/admin (user "${config.admin.user}"${config.admin.passwordHash === undefined ? ', with the one-time password above' : ''})`);
    // the simulator's phone: paste a pay page's code_url there, or use the pay page's own link to it
    if (simulator) logger.info(`phone (WeChat Pay simulator): ${url}/wxsim/`);
    // HOST opens the shop to other machines: say so when that opens what should not be open
    const open = [config.metricsToken === undefined ? '/metrics (no METRICS_TOKEN)' : undefined, simulator ? 'the WeChat Pay simulator' : undefined].filter(Boolean);
    if (config.host !== '127.0.0.1' && config.host !== '::1' && config.host !== 'localhost' && open.length > 0) {
      logger.warn(`listening on ${config.host}: other machines reach this shop, and ${open.join(' and ')} with it`);
    }
    if (simulator && config.alerts.simulatorRobot) logger.info(`alerts (the simulator's stand-in group robot): ${url}/wxsim/robot`);

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        logger.info('stopping: no new requests, finishing the running ones');
        const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
        listening.closeIdleConnections();
        const force = setTimeout(() => listening.closeAllConnections(), 10_000);
        force.unref();
        app.locals.close();
        // answer the waiting status polls now, so their connections can close
        await waiters.stop();
        await sweeper.stop();
        await dispatcher.stop();
        await simulator?.stop();
        await closed;
        clearTimeout(force);
        if (!overrides.db) await db.close();
        logger.info('stopped');
      })());
    return { server: listening, url, db, app, simulator, sweeper, dispatcher, waiters, stop };
  } catch (err) {
    server?.close();
    await simulator?.stop().catch(() => undefined);
    await waiters.stop();
    if (!overrides.db) await db.close().catch(() => undefined);
    if (err instanceof StartupError || err instanceof ConfigError) throw err;
    throw new StartupError(`start-up failed: ${reasonOf(err)}`);
  }
}

if (require.main === module) {
  start().then(
    (shop) => {
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) process.exit(1); // a second Ctrl-C: stop now
        signalled = true;
        shop.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`stop failed after ${signal}: ${reasonOf(err)}`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        console.error(err.message);
        process.exit(2);
      }
      console.error(err instanceof StartupError ? err.message : `start-up failed: ${reasonOf(err)}`);
      process.exit(err instanceof StartupError ? err.exitCode : 1);
    },
  );
}
