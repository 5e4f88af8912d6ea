import type { Knex } from 'knex';
import { beijingDateOf, beijingParts, DAY_MS } from '../beijing-time';
import { recordReconcileMismatch } from '../ledger';
import type { PaymentProvider } from '../payments';
import { reconcileDay, type ReconcileResult } from './reconcile';

/**
 * The reconciliation's alert (reconcile.mismatch): differences found in a day's bill, counted by
 * kind, are told to the merchant once (the ledger keeps one event per day and set of differences),
 * whether an admin opened the day or the daily run (the sweeper, after 10:30 Beijing time, when
 * WeChat serves yesterday's bill) found them.
 */

export async function alertOnDifferences(knex: Knex, result: ReconcileResult, now: Date): Promise<void> {
  if (result.kind !== 'compared' && result.kind !== 'no_bill') return;
  const kinds: Record<string, number> = {};
  for (const d of result.differences) kinds[`${d.entity}_${d.kind}`] = (kinds[`${d.entity}_${d.kind}`] ?? 0) + 1;
  await recordReconcileMismatch(knex, { date: result.date, kinds, now });
}

/** WeChat serves day D's bill from about 10:00 Beijing time on D+1: the daily run waits until 10:30. */
export const DAILY_RECONCILE_AFTER = { hour: 10, minute: 30 };

/** Yesterday (Beijing), reconciled once its bill is served: the date done, or undefined when it is too early. */
export async function reconcileYesterday(knex: Knex, provider: PaymentProvider, now: Date): Promise<string | undefined> {
  const parts = beijingParts(now);
  if (Number(parts.h) * 60 + Number(parts.mi) < DAILY_RECONCILE_AFTER.hour * 60 + DAILY_RECONCILE_AFTER.minute) return undefined;
  const date = beijingDateOf(new Date(now.getTime() - DAY_MS));
  const result = await reconcileDay(knex, provider, date, now);
  if (result.kind === 'not_ready' || result.kind === 'failed') return undefined;
  await alertOnDifferences(knex, result, now);
  return date;
}
