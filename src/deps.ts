import type { Logger } from 'pino';
import type { Config } from './config';
import type { Database } from './db';
import type { Metrics } from './metrics';
import type { PaylogWaiters } from './pay/waiters';
import type { Simulator } from './simulator';
import type { PaymentProvider } from './payments';

/**
 * What the app is built from (createApp(deps)), as types only: features take the part they
 * need (`Pick<ResolvedDeps, 'db' | 'clock'>`) from here, never from the composition root.
 */

/** The time, as the app reads it everywhere: `clock()` gives now; tests pass one they move. */
export type Clock = () => Date;

export interface AppDeps {
  /** with sessionSecret resolved (main.ts reads or makes it in the database) */
  config: Config & { sessionSecret: string };
  db: Database;
  clock: Clock;
  /** WeChat Pay (or the simulator, over HTTP all the same), through the provider port */
  payments: PaymentProvider;
  /**
   * the notify_url WeChat is given, and the Official Account's web authorization: where the
   * payer's browser is sent to authorize (undefined: this app's own /wxsim, at the address the
   * browser used) and where the code is exchanged server to server
   */
  wxpay: {
    notifyUrl: string;
    oauth: { authorizeBase: string | undefined; apiBase: string };
    /** where the shop sends the payer's browser after a form (WeChat's H5 cashier, its web authorization): the pages' CSP form-action allows them */
    browserOrigins: readonly string[];
  };
  /** the status polls held open on this instance, woken through LISTEN/NOTIFY (started by main.ts) */
  waiters: PaylogWaiters;
  /** mounted at /wxsim in simulator mode */
  simulator?: Simulator | undefined;
  logger?: Logger;
  metrics?: Metrics;
}

/** AppDeps with the optional parts filled in by createApp */
export type ResolvedDeps = AppDeps & { logger: Logger; metrics: Metrics };
