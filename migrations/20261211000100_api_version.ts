import type { Knex } from 'knex';

// WeChat Pay APIv3 beside v2 (issue 22): each payment attempt records the API version it was
// ordered with at WeChat, and its query, close, refunds and notifies use that version, whichever
// version the shop speaks later. NULL: not ordered at WeChat yet (the version is chosen when it is).
// Attempts ordered before this migration were all v2. The simulator keeps the version each trade
// was made with (its notifies follow it) and each queued notify's own.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('paylog', (t) => {
    t.string('api_version', 2);
  });
  await knex.raw("UPDATE paylog SET api_version = 'v2' WHERE prepay_id IS NOT NULL OR code_url IS NOT NULL");
  await knex.raw("ALTER TABLE paylog ADD CONSTRAINT paylog_api_version_known CHECK (api_version IN ('v2', 'v3'))");

  await knex.schema.alterTable('sim_trades', (t) => {
    t.string('api_version', 2).notNullable().defaultTo('v2');
  });
  await knex.raw("ALTER TABLE sim_trades ADD CONSTRAINT sim_trades_api_version_known CHECK (api_version IN ('v2', 'v3'))");
  await knex.schema.alterTable('sim_notifications', (t) => {
    t.string('api_version', 2).notNullable().defaultTo('v2');
  });
  await knex.raw("ALTER TABLE sim_notifications ADD CONSTRAINT sim_notifications_api_version_known CHECK (api_version IN ('v2', 'v3'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sim_notifications', (t) => t.dropColumn('api_version'));
  await knex.schema.alterTable('sim_trades', (t) => t.dropColumn('api_version'));
  await knex.schema.alterTable('paylog', (t) => t.dropColumn('api_version'));
}
