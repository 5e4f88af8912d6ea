import type { Knex } from 'knex';
import { DAY_MS, beijingDateOf, beijingDayStart } from '../beijing-time';

/**
 * The admin's overview: today's money in and out (Beijing day), what still waits, and the flags
 * nobody has handled yet. Read-only.
 */

export interface Dashboard {
  today: string;
  paidTodayCount: number;
  /** what was paid today, gross */
  paidTodayFen: number;
  /** what went back today (refunds that succeeded today, whichever day they were paid) */
  refundedTodayFen: number;
  /** paid today net of today's refunds */
  netTodayFen: number;
  notpayCount: number;
  /** flags (payments and refunds) no admin has marked handled */
  flaggedCount: number;
  refundsOpenCount: number;
}

export async function dashboard(knex: Knex, now: Date): Promise<Dashboard> {
  const today = beijingDateOf(now);
  const start = beijingDayStart(today) as Date;
  const end = new Date(start.getTime() + DAY_MS);
  const [paid] = (await knex('paylog')
    .whereIn('trade_state', ['SUCCESS', 'REFUND'])
    .andWhere('pay_time', '>=', start)
    .andWhere('pay_time', '<', end)
    .select(knex.raw('count(*) AS count'), knex.raw('coalesce(sum(total_fee), 0)::bigint AS fen'))) as { count: number; fen: number }[];
  const [counts] = (await knex('paylog').select(
    knex.raw("count(*) FILTER (WHERE trade_state = 'NOTPAY') AS notpay"),
    knex.raw('count(*) FILTER (WHERE flag IS NOT NULL AND flag_resolved_at IS NULL) AS flagged'),
  )) as { notpay: number; flagged: number }[];
  const [refunds] = (await knex('refunds').select(
    knex.raw("count(*) FILTER (WHERE status IN ('PENDING', 'PROCESSING', 'CHANGE')) AS open"),
    knex.raw('count(*) FILTER (WHERE flag IS NOT NULL AND flag_resolved_at IS NULL) AS flagged'),
    knex.raw("coalesce(sum(refund_fee) FILTER (WHERE status = 'SUCCESS' AND success_time >= ? AND success_time < ?), 0)::bigint AS refunded_today", [start, end]),
  )) as { open: number | string; flagged: number | string; refunded_today: number | string }[];
  const paidTodayFen = Number(paid?.fen ?? 0);
  const refundedTodayFen = Number(refunds?.refunded_today ?? 0);
  return {
    today,
    paidTodayCount: Number(paid?.count ?? 0),
    paidTodayFen,
    refundedTodayFen,
    netTodayFen: paidTodayFen - refundedTodayFen,
    notpayCount: Number(counts?.notpay ?? 0),
    flaggedCount: Number(counts?.flagged ?? 0) + Number(refunds?.flagged ?? 0),
    refundsOpenCount: Number(refunds?.open ?? 0),
  };
}
