import { scaledMs } from '../../../src/simulator/context';
import { MAX_NOTIFY_ATTEMPTS, NOTIFY_RETRY_SECONDS, retryDelayMs } from '../../../src/simulator/notifier';

describe('the notify retry schedule', () => {
  test('is WeChat\'s: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h, 24h4m in all, 16 attempts', () => {
    const m = 60;
    const hr = 3600;
    expect(NOTIFY_RETRY_SECONDS).toEqual([15, 15, 30, 3 * m, 10 * m, 20 * m, 30 * m, 30 * m, 30 * m, 60 * m, 3 * hr, 3 * hr, 3 * hr, 6 * hr, 6 * hr]);
    expect(NOTIFY_RETRY_SECONDS.reduce((a, b) => a + b, 0)).toBe(24 * hr + 4 * m);
    expect(MAX_NOTIFY_ATTEMPTS).toBe(16);
  });

  test('the wait after attempt n is the n-th delay divided by the time scale, and none after the last attempt', () => {
    expect(retryDelayMs(1, 1)).toBe(15_000);
    expect(retryDelayMs(4, 1)).toBe(180_000);
    expect(retryDelayMs(1, 60)).toBe(250);
    expect(retryDelayMs(15, 3600)).toBe(6000);
    expect(retryDelayMs(16, 1)).toBeUndefined();
  });

  test('scaled durations never round a non-zero wait down to zero', () => {
    expect(scaledMs(15_000, 100_000)).toBe(1);
    expect(scaledMs(0, 60)).toBe(0);
    expect(scaledMs(5000, 2)).toBe(2500);
  });
});
