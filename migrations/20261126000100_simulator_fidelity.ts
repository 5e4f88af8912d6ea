import type { Knex } from 'knex';

// The simulator learns WeChat's less friendly states (issue 17): faults for USERPAYING and
// PAYERROR in orderquery, a payment taken after time_expire or a close, refunds that end CHANGE or
// REFUNDCLOSE or take long, NOTENOUGH (the merchant's balance), and payment notifies that carry
// sign_type; a refund's planned outcome; and a merchant's refund notify URL as configured on the
// merchant platform (used when a refund request names none).

const KINDS_BEFORE = ['systemerror', 'notify_duplicate', 'notify_delay', 'notify_drop', 'notify_bad_signature'];
const KINDS_ADDED = [
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
  await knex.raw(`ALTER TABLE sim_faults ADD CONSTRAINT sim_faults_kind_known CHECK (${kindCheck([...KINDS_BEFORE, ...KINDS_ADDED])})`);
  await knex.raw("ALTER TABLE sim_faults ADD CONSTRAINT sim_faults_slow_has_delay CHECK (kind <> 'refund_slow' OR delay_seconds > 0)");
  await knex.schema.alterTable('sim_refunds', (t) => {
    // what the refund ends as when its time comes (PROCESSING -> this)
    t.string('outcome', 16).notNullable().defaultTo('SUCCESS');
    t.check("outcome IN ('SUCCESS', 'CHANGE', 'REFUNDCLOSE')", [], 'sim_refunds_outcome_known');
  });
  await knex.schema.alterTable('sim_merchants', (t) => {
    t.string('refund_notify_url', 256);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sim_merchants', (t) => {
    t.dropColumn('refund_notify_url');
  });
  await knex.schema.alterTable('sim_refunds', (t) => {
    t.dropChecks(['sim_refunds_outcome_known']);
    t.dropColumn('outcome');
  });
  await knex('sim_faults').whereIn('kind', KINDS_ADDED).delete();
  await knex.raw('ALTER TABLE sim_faults DROP CONSTRAINT sim_faults_slow_has_delay');
  await knex.raw('ALTER TABLE sim_faults DROP CONSTRAINT sim_faults_kind_known');
  await knex.raw(`ALTER TABLE sim_faults ADD CONSTRAINT sim_faults_kind_known CHECK (${kindCheck(KINDS_BEFORE)})`);
}
