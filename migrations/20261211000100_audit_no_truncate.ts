import type { Knex } from 'knex';

// The audit log is never edited (issue 25): 20261207000300_team refuses UPDATE and DELETE row by
// row, but a TRUNCATE fires no row trigger and would empty the log in one statement. This adds a
// statement trigger that refuses TRUNCATE with the same function.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS admin_audit_no_truncate ON admin_audit');
}
