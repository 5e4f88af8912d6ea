import type { Knex } from 'knex';
import { reconcileMismatchAlert } from './alerts';
import { insertAlerts } from './outbox-repo';

/**
 * A day's reconciliation against WeChat's bill found differences: the merchant is told, once per
 * day and set of differences (an admin opening the page again, or the daily run on another
 * instance, finds the event there already). `kinds` counts the differences by kind.
 */
export async function recordReconcileMismatch(knex: Knex, input: { date: string; kinds: Record<string, number>; now: Date }): Promise<void> {
  if (Object.values(input.kinds).every((n) => n === 0)) return;
  await knex.transaction(async (trx) => {
    await insertAlerts(trx, [reconcileMismatchAlert(input.date, input.kinds)], input.now);
  });
}
