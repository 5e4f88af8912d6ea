import type { Knex } from 'knex';

// After "paid" (issue 23): shipping, receipt, and alerts the merchant cannot miss.
// - shipments: one parcel per order (courier, tracking number, when it left, who sent it; a
//   corrected tracking number keeps the time of the correction; completed_at when the shopper
//   confirmed receipt or the clock did). orders.delivery_status says shipped/completed; this row
//   says how.
// - orders.refunded_at: when the order became refunded (its own amount all back), so the ledger
//   check can tell "completed while refunded in full" from a refund after completion.
// - outbox: every event a merchant must see, written by the ledger in the transaction of the
//   change that causes it; event_id is the public id receivers deduplicate by; order_ids keeps the
//   delivery in order per order; dedupe_key makes an event about the same news once.
// - outbox_deliveries: one row per event and channel (fanned out by the dispatcher), with its
//   retry schedule and lease; outbox_attempts: every try, for the admin.
// - sim_robot_messages: what the simulator's stand-in group robot received.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('shipments', (t) => {
    t.bigInteger('order_id').primary().references('id').inTable('orders');
    t.string('courier', 16).notNullable();
    // the courier's name when it is not one of the list ("other")
    t.string('courier_name', 32);
    t.string('tracking_no', 40).notNullable();
    t.timestamp('shipped_at', { useTz: true }).notNullable();
    t.string('shipped_by', 64).notNullable();
    t.timestamp('corrected_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
    t.string('completed_by', 64);
    t.check("courier ~ '^[a-z_]{2,16}$'", [], 'shipments_courier_code');
    t.check("courier <> 'other' OR courier_name IS NOT NULL", [], 'shipments_other_named');
    t.check("tracking_no ~ '^[0-9A-Z-]{6,40}$'", [], 'shipments_tracking_shape');
    t.index(['shipped_at'], 'shipments_open_idx', { predicate: knex.whereNull('completed_at') });
  });

  await knex.schema.alterTable('orders', (t) => {
    t.timestamp('refunded_at', { useTz: true });
  });
  await knex.raw("UPDATE orders SET refunded_at = updated_at WHERE status = 'refunded'");

  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('event_id').notNullable().unique().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('type', 48).notNullable();
    t.specificType('order_ids', 'bigint[]').notNullable().defaultTo('{}');
    t.jsonb('data').notNullable();
    t.string('dedupe_key', 160).unique();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('fanned_out_at', { useTz: true });
    t.check("type IN ('order.paid', 'payment.needs_attention', 'order.shipped', 'order.completed', 'reconcile.mismatch')", [], 'outbox_type_known');
    t.index(['id'], 'outbox_unfanned_idx', { predicate: knex.whereNull('fanned_out_at') });
  });

  await knex.schema.createTable('outbox_deliveries', (t) => {
    t.bigInteger('outbox_id').notNullable().references('id').inTable('outbox');
    t.string('channel', 16).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.specificType('order_ids', 'bigint[]').notNullable().defaultTo('{}');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    t.timestamp('leased_until', { useTz: true });
    t.timestamp('last_attempt_at', { useTz: true });
    t.text('last_error');
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['outbox_id', 'channel']);
    t.check("channel IN ('wecom', 'dingtalk', 'feishu', 'webhook')", [], 'outbox_deliveries_channel_known');
    t.check("status IN ('pending', 'delivered', 'given_up')", [], 'outbox_deliveries_status_known');
    t.index(['channel', 'next_attempt_at'], 'outbox_deliveries_due_idx', { predicate: knex.whereRaw("status = 'pending'") });
    t.index(['status', 'outbox_id'], 'outbox_deliveries_status_idx');
  });

  await knex.schema.createTable('outbox_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('outbox_id').notNullable();
    t.string('channel', 16).notNullable();
    t.integer('attempt').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.boolean('ok').notNullable();
    t.text('detail');
    t.integer('duration_ms').notNullable();
    t.foreign(['outbox_id', 'channel']).references(['outbox_id', 'channel']).inTable('outbox_deliveries');
    t.index(['outbox_id', 'channel', 'id'], 'outbox_attempts_delivery_idx');
  });

  await knex.schema.createTable('sim_robot_messages', (t) => {
    t.bigIncrements('id').primary();
    t.string('robot', 16).notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable();
    // what the robot answered: ok, or why it refused (bad key, bad signature, bad format)
    t.string('verdict', 32).notNullable();
    t.text('body').notNullable();
    t.check("robot IN ('wecom', 'dingtalk', 'feishu')", [], 'sim_robot_messages_robot_known');
    t.index(['received_at'], 'sim_robot_messages_received_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sim_robot_messages');
  await knex.schema.dropTableIfExists('outbox_attempts');
  await knex.schema.dropTableIfExists('outbox_deliveries');
  await knex.schema.dropTableIfExists('outbox');
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('refunded_at');
  });
  await knex.schema.dropTableIfExists('shipments');
}
