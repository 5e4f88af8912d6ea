/**
 * One shop instance of the soak, in a process of its own: the real start() of src/main.ts with the
 * shop's settings from the environment, as `npm start` runs it, and one thing given in place of the
 * real one (main.ts's StartOverrides): the clock, which runs SOAK_CLOCK_SPEED times faster than
 * real time from SOAK_T0 (ms since the epoch), the same for both instances and the soak itself.
 *
 * It answers the soak's memory probe over the IPC channel: { kind: 'memory', gc } is answered with
 * this process's RSS and heap (after a full collection when `gc` is set: node runs it with
 * --expose-gc). SIGTERM, or the soak going away, stops it gracefully (main.ts's stop()).
 */
import { start } from '../../src/main';

export interface MemoryProbe {
  kind: 'memory';
  id: number;
  gc: boolean;
}

export interface MemoryAnswer {
  kind: 'memory';
  id: number;
  rss: number;
  heapUsed: number;
}

const t0 = Number(process.env.SOAK_T0);
const speed = Number(process.env.SOAK_CLOCK_SPEED);
if (!Number.isFinite(t0) || !Number.isFinite(speed) || speed < 1) {
  console.error('soak instance: SOAK_T0 and SOAK_CLOCK_SPEED must be numbers (the soak sets them)');
  process.exit(2);
}
const clock = () => new Date(t0 + (Date.now() - t0) * speed);

start(process.env, { clock }).then(
  (shop) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    process.on('message', (message: MemoryProbe) => {
      if (message?.kind !== 'memory') return;
      if (message.gc && gc) gc();
      const { rss, heapUsed } = process.memoryUsage();
      process.send?.({ kind: 'memory', id: message.id, rss, heapUsed } satisfies MemoryAnswer);
    });
    process.send?.({ kind: 'ready', url: shop.url });
    const stop = () =>
      shop.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`soak instance: stop failed: ${String(err)}`);
          process.exit(1);
        },
      );
    process.once('SIGTERM', stop);
    // the soak is gone (killed, crashed): no instance outlives it
    process.once('disconnect', stop);
  },
  (err: unknown) => {
    console.error(`soak instance: start-up failed: ${(err as Error)?.message ?? String(err)}`);
    process.exit(1);
  },
);
