/**
 * The shop's own settings (every variable config.ts reads, as .env.example lists them): none of the
 * caller's may leak into a shop a test starts and configures.
 */
const SHOP_VARIABLES = /^(PORT|HOST|DATABASE_URL|PGLITE_DIR|SESSION_SECRET|TRUST_PROXY|SHOP_NAME|LOG_LEVEL|METRICS_TOKEN|WXPAY_\w+|PAY_\w+|POLL_\w+|SWEEP_\w+|SIM_\w+|ADMIN_\w+|CHECKOUT_\w+|COD_\w+)$/;

/** The test process's environment without the shop's settings, plus `extra`, for a shop started as in production. */
export function cleanShopEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!SHOP_VARIABLES.test(key)) env[key] = value;
  // jest marks its own process as a test run; the shop is started as in production
  delete env.NODE_ENV;
  delete env.JEST_WORKER_ID;
  return { ...env, ...extra };
}
