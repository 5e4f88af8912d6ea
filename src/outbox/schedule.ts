/**
 * When a failed delivery is tried again: WeChat Pay's own schedule for its payment notifies (the
 * one a merchant's developers already know), 15 s after the first failure and growing to 6 hours,
 * 15 retries over about 24 hours (24 h 4 min). After the last one the delivery is given up and the
 * admin's Alerts page offers "send again".
 */
export const RETRY_DELAYS_SECONDS: readonly number[] = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600];

/** tries in all: the first and every retry */
export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;

/** After `attempts` tries that failed: when to try next, or undefined to give up. */
export function nextAttemptAt(attempts: number, now: Date): Date | undefined {
  const delay = RETRY_DELAYS_SECONDS[attempts - 1];
  return delay === undefined ? undefined : new Date(now.getTime() + delay * 1000);
}
