import type { Knex } from 'knex';
import session from 'express-session';
import { prepared } from '../db';

const TOUCH_INTERVAL_MS = 10 * 60 * 1000;
const RECENT_WRITES_MAX = 100_000;

/**
 * express-session's store in our own database (table `sessions`), so a cart survives a restart
 * and follows the shopper from one app instance to another. Expired rows are swept now and then.
 */
export class KnexSessionStore extends session.Store {
  private readonly sweeper: NodeJS.Timeout;
  /** when this instance last wrote each session's expiry */
  private readonly recentWrites = new Map<string, number>();

  constructor(
    private readonly knex: Knex,
    private readonly options: { defaultTtlMs: number; anonymousTtlMs?: number; touchIntervalMs?: number; sweepIntervalMs?: number; clock?: () => Date } = { defaultTtlMs: 7 * 24 * 3600 * 1000 },
  ) {
    super();
    this.sweeper = setInterval(() => {
      this.sweepExpired().catch((err: unknown) => this.emit('error', err));
    }, options.sweepIntervalMs ?? 15 * 60 * 1000);
    this.sweeper.unref();
  }

  private now(): Date {
    return this.options.clock ? this.options.clock() : new Date();
  }

  private expiryOf(sess: session.SessionData): Date {
    const expires = sess.cookie?.expires;
    const full = expires ? new Date(expires) : new Date(this.now().getTime() + this.options.defaultTtlMs);
    // a visitor who only looked (nothing in the session but the CSRF token of a rendered form)
    // is kept a day, not a week: browsing cannot fill the table
    const anonymous = Object.keys(sess).every((key) => key === 'cookie' || key === 'csrf' || key === 'csrfPrevious' || key === 'flash');
    if (!anonymous) return full;
    return new Date(Math.min(full.getTime(), this.now().getTime() + (this.options.anonymousTtlMs ?? 24 * 3600 * 1000)));
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    // every page and poll reads its session: a statement planned once per connection
    prepared(this.knex, 'session_get', this.knex('sessions').where({ sid }).andWhere('expires_at', '>', this.now()).first('sess')).then((row: { sess: session.SessionData } | undefined) => callback(null, row ? row.sess : null), callback);
  }

  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    this.remember(sid, this.now().getTime());
    this.knex('sessions')
      .insert({ sid, sess: JSON.stringify(sess), expires_at: this.expiryOf(sess) })
      .onConflict('sid')
      .merge(['sess', 'expires_at'])
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  override touch(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    // express-session touches on every request it does not save (each status poll, each page):
    // moving a week-long expiry by seconds is not worth a write; once per interval is
    const now = this.now().getTime();
    const last = this.recentWrites.get(sid);
    if (last !== undefined && now - last < (this.options.touchIntervalMs ?? TOUCH_INTERVAL_MS)) {
      callback?.();
      return;
    }
    this.remember(sid, now);
    this.knex('sessions')
      .where({ sid })
      .update({ expires_at: this.expiryOf(sess) })
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  /** Bounded: the oldest entries go first (a Map iterates in insertion order). */
  private remember(sid: string, at: number): void {
    this.recentWrites.delete(sid);
    this.recentWrites.set(sid, at);
    if (this.recentWrites.size > RECENT_WRITES_MAX) {
      const oldest = this.recentWrites.keys().next().value;
      if (oldest !== undefined) this.recentWrites.delete(oldest);
    }
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.recentWrites.delete(sid);
    this.knex('sessions')
      .where({ sid })
      .delete()
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  async sweepExpired(): Promise<number> {
    return this.knex('sessions').where('expires_at', '<=', this.now()).delete();
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
