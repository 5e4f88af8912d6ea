import type { Knex } from 'knex';

/**
 * The claims that share WeChat's attention fairly: a status poll's right to ask about one attempt,
 * and a sweeper's batch of attempts of one kind (expired, forgotten, closed). Each is one
 * conditional UPDATE stamping paylog.last_queried_at, so pollers, sweepers and instances never ask
 * about the same attempt in the same interval. The ledger's own writes are in repo.ts.
 */

type Db = Knex | Knex.Transaction;
type Row = Record<string, unknown>;

/**
 * Claims the right to ask WeChat about a NOTPAY attempt now, at most once per `intervalSeconds`
 * across every poller, sweeper and instance (one conditional UPDATE). True when this caller got it.
 */
export async function claimQuery(db: Db, outTradeNo: string, now: Date, intervalSeconds: number): Promise<boolean> {
  const claimed = await db('paylog')
    .where({ out_trade_no: outTradeNo, trade_state: 'NOTPAY' })
    .andWhere((q) => q.whereNull('last_queried_at').orWhere('last_queried_at', '<=', new Date(now.getTime() - intervalSeconds * 1000)))
    .update({ last_queried_at: now });
  return claimed > 0;
}

export type SweepKind =
  /** its time is up (or it never went to WeChat and would be over by now); or its orders were paid through another attempt, or moved on to a newer one */
  | 'expired'
  /** a live QR code with no news for a while */
  | 'forgotten'
  /**
   * closed here, and WeChat may still have taken the money (closing there is best effort, and a
   * late payment's notify can be lost like any other): asked twice in the day WeChat keeps
   * retrying a notify, CLOSED_ASK_AFTER_MS and then CLOSED_ASK_AGAIN_MS after it closed
   */
  | 'closed';

/** When a closed attempt is asked about again: soon after it closed, and once more hours later, within WeChat's day of notify retries. */
export const CLOSED_ASK_AFTER_MS = 10 * 60 * 1000;
export const CLOSED_ASK_AGAIN_MS = 6 * 60 * 60 * 1000;
const CLOSED_ASKED_WITHIN_MS = 25 * 60 * 60 * 1000;

/**
 * Claims up to `limit` attempts of a kind for one sweeper, least recently asked first: one UPDATE
 * over rows picked with FOR UPDATE SKIP LOCKED, stamping last_queried_at, so sweepers in several
 * instances (and the status polls) never work on the same attempt in the same interval.
 */
export async function claimForSweep(db: Db, kind: SweepKind, now: Date, options: { qrTtlSeconds: number; queryAfterSeconds: number; intervalSeconds: number; limit: number; /** WeChat closes a trade no sooner than this after it was made */ closeNotBeforeMs: number }): Promise<string[]> {
  const staleBefore = new Date(now.getTime() - options.intervalSeconds * 1000);
  const at = (ms: number) => new Date(now.getTime() - ms);
  const which = (q: Knex.QueryBuilder) => {
    if (kind === 'closed') {
      q.where('trade_state', 'CLOSED')
        .andWhere('closed_at', '>', at(CLOSED_ASKED_WITHIN_MS))
        .andWhere((q2) =>
          q2
            .where((first) =>
              first.where('closed_at', '<=', at(CLOSED_ASK_AFTER_MS)).andWhere((w) => w.whereNull('last_queried_at').orWhereRaw('last_queried_at < closed_at + make_interval(secs => ?)', [CLOSED_ASK_AFTER_MS / 1000])),
            )
            .orWhere((again) => again.where('closed_at', '<=', at(CLOSED_ASK_AGAIN_MS)).andWhereRaw('last_queried_at < closed_at + make_interval(secs => ?)', [CLOSED_ASK_AGAIN_MS / 1000])),
        );
      return;
    }
    q.where('trade_state', 'NOTPAY');
    if (kind === 'expired') {
      q.andWhere((e) =>
        e
          .where('code_url_expires_at', '<=', now)
          .orWhere((q2) => q2.whereNull('code_url').whereNull('prepay_id').andWhere('create_time', '<=', new Date(now.getTime() - options.qrTtlSeconds * 1000)))
          // the shopper asked to cancel it (issue 24): closed as soon as WeChat allows
          .orWhere((c) => c.whereNotNull('cancel_requested_at').andWhere('create_time', '<=', new Date(now.getTime() - options.closeNotBeforeMs)))
          // superseded: its orders were paid through another attempt, or moved on to a newer one;
          // asked about only once WeChat would close it (before, every round would ask in vain)
          .orWhere((q3) =>
            q3.where('create_time', '<=', new Date(now.getTime() - options.closeNotBeforeMs)).whereExists((q4) =>
              q4
                .select(db.raw('1'))
                .from('paylog_orders as po')
                .join('orders as o', 'o.id', 'po.order_id')
                .whereRaw('po.out_trade_no = paylog.out_trade_no')
                .whereRaw('o.out_trade_no <> paylog.out_trade_no'),
            ),
          ),
      );
    } else {
      q.andWhere((q2) => q2.whereNotNull('code_url').orWhereNotNull('prepay_id'))
        .andWhere('code_url_expires_at', '>', now)
        .andWhere('code_url_expires_at', '<=', new Date(now.getTime() + (options.qrTtlSeconds - options.queryAfterSeconds) * 1000));
    }
  };
  const candidates = db('paylog')
    .select('out_trade_no')
    .where((q) => q.whereNull('last_queried_at').orWhere('last_queried_at', '<=', staleBefore))
    .andWhere(which)
    // fair: least recently asked first (never asked before anything), so however many old trades
    // there are, each one is asked in its turn instead of the oldest batch every time
    .orderByRaw('last_queried_at ASC NULLS FIRST, create_time ASC')
    .limit(options.limit)
    .forUpdate()
    .skipLocked();
  const rows = (await db('paylog').whereIn('out_trade_no', candidates).update({ last_queried_at: now }).returning('out_trade_no')) as Row[];
  return rows.map((r) => String(r.out_trade_no));
}
