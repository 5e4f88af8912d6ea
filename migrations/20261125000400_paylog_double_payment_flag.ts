import type { Knex } from 'knex';

// A payment whose orders were all paid already through another attempt (the shopper paid twice)
// is kept and flagged `double_payment` for the admin to refund.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE paylog DROP CONSTRAINT paylog_flag_known');
  await knex.raw("ALTER TABLE paylog ADD CONSTRAINT paylog_flag_known CHECK (flag IS NULL OR flag IN ('late_payment', 'conflict', 'double_payment'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("UPDATE paylog SET flag = 'conflict' WHERE flag = 'double_payment'");
  await knex.raw('ALTER TABLE paylog DROP CONSTRAINT paylog_flag_known');
  await knex.raw("ALTER TABLE paylog ADD CONSTRAINT paylog_flag_known CHECK (flag IS NULL OR flag IN ('late_payment', 'conflict'))");
}
