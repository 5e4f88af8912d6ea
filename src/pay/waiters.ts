import type { Database } from '../db';
import { Unavailable } from '../errors';
import { PAYLOG_CHANNEL } from '../ledger';

export type WaitEnd = 'woken' | 'timeout' | 'gone' | 'shutdown';

interface Waiter {
  finish(end: WaitEnd): void;
}

/**
 * The status polls held open on this instance, keyed by out_trade_no. One LISTEN per instance
 * (PostgreSQL, or PGlite's listen) wakes them, whichever instance settled the trade.
 * Bounded: a wait never outlives its timeout, and beyond `maxWaiters` a new wait is refused.
 */
/** Per-holder bounds: one session (or one trade) cannot take the instance's whole capacity. */
export interface WaiterShares {
  /** waits one session may hold at once on this instance */
  perSession: number;
  /** waits one trade may have at once on this instance */
  perTrade: number;
}

export class PaylogWaiters {
  private readonly byTrade = new Map<string, Set<Waiter>>();
  private readonly bySession = new Map<string, number>();
  private count = 0;
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly maxWaiters: number,
    private readonly shares: WaiterShares = { perSession: Number.POSITIVE_INFINITY, perTrade: Number.POSITIVE_INFINITY },
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
   * last read and the registration is not lost. Also Unavailable (with the "too many pay pages"
   * sentence) when `session` or the trade holds its share already.
   */
  async wait(outTradeNo: string, timeoutMs: number, signal: AbortSignal, settled: () => Promise<boolean>, session?: string): Promise<WaitEnd> {
    if (this.stopped) return Promise.resolve('shutdown');
    if (signal.aborted) return Promise.resolve('gone');
    if (this.count >= this.maxWaiters) throw new Unavailable(`${this.count} status requests are waiting already`, 2);
    if ((this.byTrade.get(outTradeNo)?.size ?? 0) >= this.shares.perTrade) {
      throw new Unavailable(`trade ${outTradeNo} has ${this.shares.perTrade} status requests waiting already`, 5, 'pay.error.tooManyPolls');
    }
    if (session !== undefined && (this.bySession.get(session) ?? 0) >= this.shares.perSession) {
      throw new Unavailable(`a session has ${this.shares.perSession} status requests waiting already`, 5, 'pay.error.tooManyPolls');
    }
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
          if (session !== undefined) {
            const held = (this.bySession.get(session) ?? 1) - 1;
            if (held <= 0) this.bySession.delete(session);
            else this.bySession.set(session, held);
          }
          if (current.size === 0) trades.delete(outTradeNo);
          resolve(end);
        },
      };
      set.add(waiter);
      this.count += 1;
      if (session !== undefined) this.bySession.set(session, (this.bySession.get(session) ?? 0) + 1);
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
