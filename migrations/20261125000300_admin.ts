import type { Knex } from 'knex';

// The admin's own state: failed (and in-flight) login attempts, kept in the database so that every
// app instance counts the same failures; and the indexes the paylog table pages and the
// reconciliation read by. Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('admin_login_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.string('ip', 64).notNullable();
    // the user name as typed (lower-cased), not necessarily an existing admin
    t.string('username', 64).notNullable();
    // pending: the password is being checked right now; failed: it was wrong
    t.string('status', 8).notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.check("status IN ('pending', 'failed')", [], 'admin_login_attempts_status_known');
    t.index(['ip', 'at'], 'admin_login_attempts_ip_idx');
    t.index(['username', 'at'], 'admin_login_attempts_user_idx');
  });

  // keyset pagination of the paylog table: (create_time, out_trade_no), newest first
  await knex.schema.alterTable('paylog', (t) => {
    t.index(['create_time', 'out_trade_no'], 'paylog_created_keyset_idx');
    t.index(['pay_time'], 'paylog_pay_time_idx');
  });
  await knex.schema.alterTable('refunds', (t) => {
    t.index(['created_at'], 'refunds_created_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refunds', (t) => {
    t.dropIndex(['created_at'], 'refunds_created_idx');
  });
  await knex.schema.alterTable('paylog', (t) => {
    t.dropIndex(['pay_time'], 'paylog_pay_time_idx');
    t.dropIndex(['create_time', 'out_trade_no'], 'paylog_created_keyset_idx');
  });
  await knex.schema.dropTableIfExists('admin_login_attempts');
}
