import type { Knex } from 'knex';

// After delivery (issue 24): "refund only" and "return and refund" requests, with a reason from a
// list and the shopper's note; a request not yet decided may be withdrawn by its shopper.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE aftersales DROP CONSTRAINT aftersales_kind_known');
  await knex.raw('ALTER TABLE aftersales DROP CONSTRAINT aftersales_status_known');
  await knex.raw("ALTER TABLE aftersales ADD CONSTRAINT aftersales_kind_known CHECK (kind IN ('cancel', 'refund_only', 'return_refund'))");
  await knex.raw("ALTER TABLE aftersales ADD CONSTRAINT aftersales_status_known CHECK (status IN ('requested', 'approved', 'rejected', 'withdrawn'))");
  await knex.raw("ALTER TABLE aftersales ADD CONSTRAINT aftersales_reason_known CHECK (reason IS NULL OR reason IN ('not_as_described', 'damaged', 'wrong_item', 'quality', 'no_reason', 'other'))");
  await knex.raw("ALTER TABLE aftersales ADD CONSTRAINT aftersales_after_delivery_has_reason CHECK (kind = 'cancel' OR reason IS NOT NULL)");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE aftersales DROP CONSTRAINT aftersales_after_delivery_has_reason');
  await knex.raw('ALTER TABLE aftersales DROP CONSTRAINT aftersales_reason_known');
  await knex.raw('ALTER TABLE aftersales DROP CONSTRAINT aftersales_status_known');
  await knex.raw('ALTER TABLE aftersales DROP CONSTRAINT aftersales_kind_known');
  await knex.raw("ALTER TABLE aftersales ADD CONSTRAINT aftersales_kind_known CHECK (kind IN ('cancel'))");
  await knex.raw("ALTER TABLE aftersales ADD CONSTRAINT aftersales_status_known CHECK (status IN ('requested', 'approved', 'rejected'))");
}
