import type { Knex } from 'knex';
import session from 'express-session';

/**
 * express-session's store in our own database (table `sessions`), so a cart survives a restart
 * and follows the shopper from one app instance to another. Expired rows are swept now and then.
 */
export class KnexSessionStore extends session.Store {
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly knex: Knex,
    private readonly options: { defaultTtlMs: number; anonymousTtlMs?: number; sweepIntervalMs?: number; now?: () => Date } = { defaultTtlMs: 7 * 24 * 3600 * 1000 },
  ) {
    super();
    this.sweeper = setInterval(() => {
      this.sweepExpired().catch((err: unknown) => this.emit('error', err));
    }, options.sweepIntervalMs ?? 15 * 60 * 1000);
    this.sweeper.unref();
  }

  private now(): Date {
    return this.options.now ? this.options.now() : new Date();
  }

  private expiryOf(sess: session.SessionData): Date {
    const expires = sess.cookie?.expires;
    const full = expires ? new Date(expires) : new Date(this.now().getTime() + this.options.defaultTtlMs);
    // a visitor who only looked (nothing in the session but the CSRF token of a rendered form)
    // is kept a day, not a week: browsing cannot fill the table
    const anonymous = Object.keys(sess).every((key) => key === 'cookie' || key === 'csrfToken' || key === 'flash');
    if (!anonymous) return full;
    return new Date(Math.min(full.getTime(), this.now().getTime() + (this.options.anonymousTtlMs ?? 24 * 3600 * 1000)));
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    this.knex('sessions')
      .where({ sid })
      .andWhere('expires_at', '>', this.now())
      .first('sess')
      .then((row: { sess: session.SessionData } | undefined) => callback(null, row ? row.sess : null), callback);
  }

  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    this.knex('sessions')
      .insert({ sid, sess: JSON.stringify(sess), expires_at: this.expiryOf(sess) })
      .onConflict('sid')
      .merge(['sess', 'expires_at'])
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  override touch(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    this.knex('sessions')
      .where({ sid })
      .update({ expires_at: this.expiryOf(sess) })
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
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
