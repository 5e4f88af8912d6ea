import type { Knex } from 'knex';
import { ordersOfAlert, type AlertEvent } from './alerts';

/**
 * The ledger's one statement on the outbox: events inserted inside the transaction of the change
 * that causes them (markPaid's one statement inserts its own, fast-path.ts). Nothing else inserts
 * outbox rows; src/outbox fans them out to the channels and records their delivery.
 */

/** Inserts the events in their order (an event with a dedupe key already there is skipped). */
export async function insertAlerts(trx: Knex.Transaction, events: readonly AlertEvent[], now: Date): Promise<void> {
  for (const event of events) {
    const row = { type: event.type, order_ids: ordersOfAlert(event), data: JSON.stringify(event.data), dedupe_key: event.dedupeKey ?? null, created_at: now };
    if (event.dedupeKey) await trx('outbox').insert(row).onConflict('dedupe_key').ignore();
    else await trx('outbox').insert(row);
  }
}
