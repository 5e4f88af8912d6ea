import type { Knex } from 'knex';

// The merchant hears of after-sales requests and their decisions through the outbox (issue 24):
// two more event types. Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE outbox DROP CONSTRAINT outbox_type_known');
  await knex.raw(
    "ALTER TABLE outbox ADD CONSTRAINT outbox_type_known CHECK (type IN ('order.paid', 'payment.needs_attention', 'order.shipped', 'order.completed', 'reconcile.mismatch', 'aftersale.requested', 'aftersale.decided'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DELETE FROM outbox_deliveries WHERE outbox_id IN (SELECT id FROM outbox WHERE type IN ('aftersale.requested', 'aftersale.decided'))");
  await knex.raw("DELETE FROM outbox WHERE type IN ('aftersale.requested', 'aftersale.decided')");
  await knex.raw('ALTER TABLE outbox DROP CONSTRAINT outbox_type_known');
  await knex.raw("ALTER TABLE outbox ADD CONSTRAINT outbox_type_known CHECK (type IN ('order.paid', 'payment.needs_attention', 'order.shipped', 'order.completed', 'reconcile.mismatch'))");
}
