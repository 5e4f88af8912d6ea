import type { Database } from '../db';
import { Unavailable } from '../errors';
import { PAYLOG_CHANNEL } from './settle';

export type WaitEnd = 'woken' | 'timeout' | 'gone' | 'shutdown';

interface Waiter {
  finish(end: WaitEnd): void;
}

/**
 * The status polls held open on this instance, keyed by out_trade_no. One LISTEN per instance
 * (PostgreSQL, or PGlite's listen) wakes them, whichever instance settled the trade.
 * Bounded: a wait never outlives its timeout, and beyond `maxWaiters` a new wait is refused.
 */
export class PaylogWaiters {
  private readonly byTrade = new Map<string, Set<Waiter>>();
  private count = 0;
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly maxWaiters: number,
  ) {}

  get size(): number {
    return this.count;
  }

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(
      PAYLOG_CHANNEL,
      (outTradeNo) => this.wake(outTradeNo),
      // wake-ups may have been lost while the LISTEN connection was down: everyone looks again
      () => this.wakeAll(),
    );
  }

  /** Wakes every waiter: each re-reads its trade and answers (its client polls again if unsettled). */
  wakeAll(): void {
    for (const set of [...this.byTrade.values()]) for (const waiter of [...set]) waiter.finish('woken');
  }

  /** Wakes every waiter of this trade (called for each NOTIFY). */
  wake(outTradeNo: string): void {
    const set = this.byTrade.get(outTradeNo);
    if (!set) return;
    for (const waiter of [...set]) waiter.finish('woken');
  }

  /**
   * Waits until the trade is woken, `timeoutMs` passes, `signal` aborts (the client went away),
   * or the instance shuts down. Throws Unavailable when the instance holds too many waiters.
   * `settled` is asked once the waiter is registered: a wake-up that came between the caller's
   * last read and the registration is not lost.
   */
  async wait(outTradeNo: string, timeoutMs: number, signal: AbortSignal, settled: () => Promise<boolean>): Promise<WaitEnd> {
    if (this.stopped) return Promise.resolve('shutdown');
    if (signal.aborted) return Promise.resolve('gone');
    if (this.count >= this.maxWaiters) throw new Unavailable(`${this.count} status requests are waiting already`, 2);
    let finishNow: ((end: WaitEnd) => void) | undefined;
    const ended = new Promise<WaitEnd>((resolve) => {
      let set = this.byTrade.get(outTradeNo);
      if (!set) {
        set = new Set();
        this.byTrade.set(outTradeNo, set);
      }
      const trades = this.byTrade;
      const onAbort = () => waiter.finish('gone');
      const timer = setTimeout(() => waiter.finish('timeout'), timeoutMs);
      const waiter: Waiter = {
        finish: (end) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          const current = trades.get(outTradeNo);
          if (!current?.delete(waiter)) return;
          this.count -= 1;
          if (current.size === 0) trades.delete(outTradeNo);
          resolve(end);
        },
      };
      set.add(waiter);
      this.count += 1;
      signal.addEventListener('abort', onAbort, { once: true });
      finishNow = (end) => waiter.finish(end);
    });
    try {
      if (await settled()) finishNow?.('woken');
    } catch (err) {
      finishNow?.('gone');
      throw err;
    }
    return ended;
  }

  /** Answers every waiter now (graceful shutdown) and stops listening. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const set of [...this.byTrade.values()]) for (const waiter of [...set]) waiter.finish('shutdown');
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.().catch(() => undefined);
  }
}
