import type { Knex } from 'knex';

// The shopper cancels an unpaid checkout (issue 24). WeChat refuses to close a trade in its first
// five minutes, so a cancel asked for sooner (or while WeChat cannot be reached) is recorded on the
// payment attempt and carried out by the sweeper as soon as WeChat allows: cancel_requested_at.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('paylog', (t) => {
    t.timestamp('cancel_requested_at', { useTz: true });
  });
  await knex.raw('CREATE INDEX paylog_cancel_requested ON paylog (create_time) WHERE cancel_requested_at IS NOT NULL AND trade_state = \'NOTPAY\'');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS paylog_cancel_requested');
  await knex.schema.alterTable('paylog', (t) => {
    t.dropColumn('cancel_requested_at');
  });
}
