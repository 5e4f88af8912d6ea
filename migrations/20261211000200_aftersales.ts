import type { Knex } from 'knex';

// After-sales requests (issue 24): a shopper asks for their money back on a paid order. Today one
// kind: 'cancel', a paid order cancelled before it ships, refunded in full. Refunded at once, or
// after the merchant's approval (AFTERSALE_CANCEL_APPROVAL). An approved request names the refund it
// made (refunds.out_refund_no), which goes the ledger's one refund path. At most one request per
// order waits for a decision at a time. Landed migrations are never edited: change the schema with
// a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('aftersales', (t) => {
    t.increments('id').primary();
    t.integer('order_id').notNullable().references('id').inTable('orders');
    t.string('kind', 16).notNullable();
    t.string('status', 16).notNullable();
    t.bigInteger('amount_fen').notNullable();
    t.string('reason', 32);
    t.string('note', 200);
    t.string('requested_by', 64).notNullable();
    t.timestamp('requested_at', { useTz: true }).notNullable();
    t.string('decided_by', 64);
    t.timestamp('decided_at', { useTz: true });
    t.string('decision_note', 200);
    t.string('out_refund_no', 64).unique().references('out_refund_no').inTable('refunds');
    t.check("kind IN ('cancel')", [], 'aftersales_kind_known');
    t.check("status IN ('requested', 'approved', 'rejected')", [], 'aftersales_status_known');
    t.check('amount_fen > 0', [], 'aftersales_amount_positive');
    t.check("(status = 'approved') = (out_refund_no IS NOT NULL)", [], 'aftersales_approved_has_refund');
    t.check("(status = 'requested') = (decided_at IS NULL)", [], 'aftersales_decided_when_not_waiting');
  });
  await knex.raw("CREATE UNIQUE INDEX aftersales_one_waiting_per_order ON aftersales (order_id) WHERE status = 'requested'");
  await knex.raw('CREATE INDEX aftersales_by_order ON aftersales (order_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('aftersales');
}
