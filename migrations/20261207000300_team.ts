import type { Knex } from 'knex';

// The team (issue 25): admin users with roles instead of one shared login, and an audit log of
// every admin action that nobody can edit. The owner set up by ADMIN_USER / ADMIN_PASSWORD_HASH
// (or the one-time password) is not a row here: it is the shop's first owner, always there.
// - admin_users: one per member of staff: their own scrypt password, a role (owner, operations,
//   finance, readonly), for operations the most one refund may be (refund_limit_fen), and
//   session_epoch, raised whenever the role changes or the user is removed so that their
//   sessions end at once.
// - admin_audit: who did what, when, to what, with before and after for money and stock; a
//   trigger refuses every UPDATE and DELETE.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('admin_users', (t) => {
    t.bigIncrements('id').primary();
    t.string('username', 64).notNullable().unique();
    t.text('password_hash').notNullable();
    t.string('role', 16).notNullable();
    t.bigInteger('refund_limit_fen').notNullable().defaultTo(0);
    // a password someone else chose (the owner, at the invitation): changed at the first login
    t.boolean('must_change_password').notNullable().defaultTo(true);
    t.integer('session_epoch').notNullable().defaultTo(0);
    t.string('created_by', 64).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('removed_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("role IN ('owner', 'operations', 'finance', 'readonly')", [], 'admin_users_role_known');
    t.check('refund_limit_fen >= 0', [], 'admin_users_refund_limit_not_negative');
    t.check("username ~ '^[A-Za-z0-9._-]{2,32}$'", [], 'admin_users_username_format');
  });

  await knex.schema.createTable('admin_audit', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.string('actor', 64).notNullable();
    t.string('role', 16).notNullable();
    // the route that acted (POST /paylog/:outTradeNo/refund) and what it acted on
    t.string('action', 120).notNullable();
    t.string('subject', 200);
    t.integer('status').notNullable();
    t.jsonb('before');
    t.jsonb('after');
    t.string('ip', 64);
    t.index(['at', 'id'], 'admin_audit_at_idx');
    t.index(['actor', 'at'], 'admin_audit_actor_idx');
  });
  await knex.raw(`CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'admin_audit is append-only: its rows are never changed or deleted'; END $$`);
  await knex.raw('CREATE TRIGGER admin_audit_no_change BEFORE UPDATE OR DELETE ON admin_audit FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS admin_audit_no_change ON admin_audit');
  await knex.raw('DROP FUNCTION IF EXISTS admin_audit_append_only()');
  await knex.schema.dropTableIfExists('admin_audit');
  await knex.schema.dropTableIfExists('admin_users');
}
