import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config';
import { migrateToLatest, openDatabase } from '../db';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { createSimulator } from './index';
import { keptV3Keys } from './v3/kept-keys';
import { refundNotifyUrl } from '../webhooks/routes';

/**
 * The simulator on its own port, without the shop: `tsx src/simulator/main.ts`.
 * PORT (default 3100), HOST, DATABASE_URL or PGLITE_DIR, LOG_LEVEL, SIM_TIME_SCALE,
 * SIM_REFUND_DELAY_SECONDS and the WXPAY_APPID / WXPAY_MCH_ID / WXPAY_API_KEY merchant it accepts
 * (the simulator's own test merchant when unset), all read by src/config.ts. The API is then at
 * http://host:PORT/wxsim (point WXPAY_BASE_URL there) and the phone at /wxsim/.
 * Note: embedded PGlite is one process's: to share state with a running shop, use DATABASE_URL.
 */
/** What a third-party APIv3 SDK needs to talk to this simulator (`--print-credentials`). */
export interface V3Credentials {
  baseUrl: string;
  appid: string;
  mchid: string;
  apiV3Key: string;
  merchantSerial: string;
  merchantPrivateKeyPem: string;
  publicKeyId: string;
  publicKeyPem: string;
}

async function v3CredentialsOf(knex: Knex, baseUrl: string, merchant: { appId: string; mchId: string }): Promise<V3Credentials> {
  const kept = await keptV3Keys(knex);
  return {
    baseUrl,
    appid: merchant.appId,
    mchid: merchant.mchId,
    apiV3Key: kept.merchant.apiV3Key,
    merchantSerial: kept.merchant.serial,
    merchantPrivateKeyPem: kept.merchant.privateKeyPem,
    publicKeyId: kept.simulator.publicKeyId,
    publicKeyPem: crypto.createPublicKey(kept.simulator.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The v3 credentials the standalone simulator (on this database) accepts and signs with: made once and kept there. */
export async function printCredentials(env: NodeJS.ProcessEnv = process.env): Promise<V3Credentials> {
  const config = loadConfig({ ...env, WXPAY_MODE: 'simulator', PORT: env.PORT?.trim() ? env.PORT : '3100' });
  const db = await openDatabase(config);
  try {
    await migrateToLatest(db.knex);
    const host = config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : '127.0.0.1';
    return await v3CredentialsOf(db.knex, `http://${host}:${config.port}/wxsim`, config.wxpay);
  } finally {
    await db.close();
  }
}

export async function startSimulator(env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; v3: V3Credentials; stop(): Promise<void> }> {
  // the simulator alone is a simulator whatever merchant values it is given
  const config = loadConfig({ ...env, WXPAY_MODE: env.WXPAY_MODE?.trim() ? env.WXPAY_MODE : 'simulator', PORT: env.PORT?.trim() ? env.PORT : '3100' });
  const logger = pino({ level: config.logLevel });
  const db = await openDatabase(config);
  try {
    await migrateToLatest(db.knex);
    // APIv3 beside v2: its keys made once and kept in the database (--print-credentials shows them)
    const kept = await keptV3Keys(db.knex);
    const simulator = createSimulator({
      v3: kept.simulator,
      knex: db.knex,
      clock: () => new Date(),
      timeScale: config.simulator.timeScale,
      refundDelayMs: config.simulator.refundDelaySeconds * 1000,
      logger,
      // with WXPAY_NOTIFY_URL set, notifies go only there (and to its refund-notify sibling)
      allowedNotifyUrls: config.wxpay.notifyUrl ? [config.wxpay.notifyUrl, refundNotifyUrl(config.wxpay.notifyUrl)] : undefined,
    });
    const merchantPublicKeyPem = crypto.createPublicKey(kept.merchant.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    await simulator.ensureMerchant({
      appId: config.wxpay.appId,
      mchId: config.wxpay.mchId,
      apiKey: config.wxpay.apiKey,
      name: config.shopName,
      oaSecret: config.wxpay.oaSecret,
      v3: { apiV3Key: kept.merchant.apiV3Key, merchantSerial: kept.merchant.serial, merchantPublicKeyPem },
    });

    const app = express();
    app.disable('x-powered-by');
    app.get('/healthz', (_req, res) => void res.json({ status: 'ok', database: db.kind }));
    app.use('/wxsim', simulator.router);
    app.use((_req, res) => void res.status(404).type('text').send('not found: the simulator lives under /wxsim\n'));

    const server = http.createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : '127.0.0.1'}:${port}`;
    simulator.start();
    logger.info({ url: `${url}/wxsim`, mchId: config.wxpay.mchId, appId: config.wxpay.appId, database: db.kind, timeScale: config.simulator.timeScale }, `WeChat Pay simulator listening on ${url}/wxsim`);

    let stopping: Promise<void> | undefined;
    return {
      url,
      v3: await v3CredentialsOf(db.knex, `${url}/wxsim`, config.wxpay),
      stop: () =>
        (stopping ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          await simulator.stop();
          await closed;
          await db.close();
          logger.info('simulator stopped');
        })()),
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

if (require.main === module && process.argv.includes('--print-credentials')) {
  printCredentials().then(
    (credentials) => {
      process.stdout.write(`${JSON.stringify(credentials)}\n`);
    },
    (err: unknown) => {
      console.error(err instanceof ConfigError ? err.message : `cannot read the simulator's credentials: ${(err as Error).message}`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
} else if (require.main === module) {
  startSimulator().then(
    (running) => {
      const onSignal = () => {
        running.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`simulator stop failed: ${(err as Error).message}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        console.error(err.message);
        process.exit(2);
      }
      const e = err as NodeJS.ErrnoException;
      console.error(`simulator start-up failed: ${[e.code, e.message].filter(Boolean).join(' ') || String(err)}`);
      process.exit(1);
    },
  );
}
