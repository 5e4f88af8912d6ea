import type { Knex } from 'knex';

// The simulator learns one more of WeChat's less friendly answers (issue 21): a refund it makes
// while answering with an error code the shop cannot place (fault refund_unknown_error), so that
// "an unknown refusal is not final" is tried on real HTTP.

const KINDS_BEFORE = [
  'systemerror',
  'notify_duplicate',
  'notify_delay',
  'notify_drop',
  'notify_bad_signature',
  'orderquery_userpaying',
  'orderquery_payerror',
  'pay_after_expire',
  'refund_change',
  'refund_close',
  'refund_slow',
  'refund_notenough',
  'notify_sign_type',
];

const kindCheck = (kinds: string[]) => `kind IN (${kinds.map((k) => `'${k}'`).join(', ')})`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE sim_faults DROP CONSTRAINT sim_faults_kind_known');
  await knex.raw(`ALTER TABLE sim_faults ADD CONSTRAINT sim_faults_kind_known CHECK (${kindCheck([...KINDS_BEFORE, 'refund_unknown_error'])})`);
}

export async function down(knex: Knex): Promise<void> {
  await knex('sim_faults').where({ kind: 'refund_unknown_error' }).delete();
  await knex.raw('ALTER TABLE sim_faults DROP CONSTRAINT sim_faults_kind_known');
  await knex.raw(`ALTER TABLE sim_faults ADD CONSTRAINT sim_faults_kind_known CHECK (${kindCheck(KINDS_BEFORE)})`);
}
