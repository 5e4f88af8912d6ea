/**
 * Every time limit of the tests is a base value times TEST_TIMEOUT_SCALE (default 1): on a slow or
 * busy machine raise the one setting (e.g. TEST_TIMEOUT_SCALE=3) instead of guessing per test.
 * A bad value stops the run with one line naming the variable.
 */
export function timeoutScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TEST_TIMEOUT_SCALE?.trim();
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!Number.isFinite(scale) || scale < 1 || scale > 100) throw new Error(`TEST_TIMEOUT_SCALE must be a number from 1 to 100 (got ${JSON.stringify(raw)})`);
  return scale;
}

/** `ms` scaled by TEST_TIMEOUT_SCALE: for jest timeouts and waits that guard against a hang. */
export function scaled(ms: number): number {
  return Math.round(ms * timeoutScale());
}
