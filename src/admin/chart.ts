import type { Knex } from 'knex';
import { beijingDateOf, beijingDayStart } from '../beijing-time';

const DAY_MS = 24 * 3600 * 1000;

export interface DayStats {
  /** Beijing date, yyyy-MM-dd */
  date: string;
  /** payment attempts made that day */
  created: number;
  /** payments received that day (by pay time; refunded ones included) */
  paid: number;
  paidFen: number;
  /** paid / created, 0..1; undefined on a day without attempts */
  conversion: number | undefined;
}

/**
 * The last `days` Beijing days up to today, oldest first: attempts made, payments received and
 * their sum, and the conversion from one to the other. Two grouped queries, days without
 * activity filled with zeros.
 */
export async function dailyStats(knex: Knex, now: Date, days = 14): Promise<DayStats[]> {
  const today = beijingDateOf(now);
  const end = new Date((beijingDayStart(today) as Date).getTime() + DAY_MS);
  const start = new Date(end.getTime() - days * DAY_MS);
  const day = (column: string) => knex.raw(`to_char((${column} AT TIME ZONE 'UTC') + interval '8 hours', 'YYYY-MM-DD') AS day`);
  const created = (await knex('paylog').where('create_time', '>=', start).andWhere('create_time', '<', end).select(day('create_time'), knex.raw('count(*) AS n')).groupBy('day')) as {
    day: string;
    n: number | string;
  }[];
  const paid = (await knex('paylog')
    .whereIn('trade_state', ['SUCCESS', 'REFUND'])
    .andWhere('pay_time', '>=', start)
    .andWhere('pay_time', '<', end)
    .select(day('pay_time'), knex.raw('count(*) AS n'), knex.raw('coalesce(sum(total_fee), 0)::bigint AS fen'))
    .groupBy('day')) as { day: string; n: number | string; fen: number | string }[];
  const createdBy = new Map(created.map((r) => [r.day, Number(r.n)]));
  const paidBy = new Map(paid.map((r) => [r.day, { n: Number(r.n), fen: Number(r.fen) }]));
  const result: DayStats[] = [];
  for (let i = days - 1; i >= 0; i -= 1) {
    const date = beijingDateOf(new Date(end.getTime() - (i + 1) * DAY_MS));
    const c = createdBy.get(date) ?? 0;
    const p = paidBy.get(date) ?? { n: 0, fen: 0 };
    result.push({ date, created: c, paid: p.n, paidFen: p.fen, conversion: c > 0 ? Math.min(1, p.n / c) : undefined });
  }
  return result;
}
