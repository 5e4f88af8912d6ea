import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config';
import { migrateToLatest, openDatabase } from '../db';
import { createSimulator } from './index';
import { refundNotifyUrl } from '../webhooks/routes';

/**
 * The simulator on its own port, without the shop: `tsx src/simulator/main.ts`.
 * PORT (default 3100), HOST, DATABASE_URL or PGLITE_DIR, LOG_LEVEL, SIM_TIME_SCALE,
 * SIM_REFUND_DELAY_SECONDS and the WXPAY_APPID / WXPAY_MCH_ID / WXPAY_API_KEY merchant it accepts
 * (the simulator's own test merchant when unset), all read by src/config.ts. The API is then at
 * http://host:PORT/wxsim (point WXPAY_BASE_URL there) and the phone at /wxsim/.
 * Note: embedded PGlite is one process's: to share state with a running shop, use DATABASE_URL.
 */
export async function startSimulator(env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; stop(): Promise<void> }> {
  // the simulator alone is a simulator whatever merchant values it is given
  const config = loadConfig({ ...env, WXPAY_MODE: env.WXPAY_MODE?.trim() ? env.WXPAY_MODE : 'simulator', PORT: env.PORT?.trim() ? env.PORT : '3100' });
  const logger = pino({ level: config.logLevel });
  const db = await openDatabase(config);
  try {
    await migrateToLatest(db.knex);
    const simulator = createSimulator({
      knex: db.knex,
      clock: () => new Date(),
      timeScale: config.simulator.timeScale,
      refundDelayMs: config.simulator.refundDelaySeconds * 1000,
      logger,
      // with WXPAY_NOTIFY_URL set, notifies go only there (and to its refund-notify sibling)
      allowedNotifyUrls: config.wxpay.notifyUrl ? [config.wxpay.notifyUrl, refundNotifyUrl(config.wxpay.notifyUrl)] : undefined,
    });
    await simulator.ensureMerchant({ appId: config.wxpay.appId, mchId: config.wxpay.mchId, apiKey: config.wxpay.apiKey, name: config.shopName, oaSecret: config.wxpay.oaSecret });

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

if (require.main === module) {
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
