import type { Knex } from 'knex';

// The shop's schema as DESIGN.md draws it. Amounts are integer fen in bigint columns; the
// database enforces what it can (checks, keys, one transaction_id per payment).
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('app_settings', (t) => {
    t.string('key', 64).primary();
    t.text('value').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('products', (t) => {
    t.increments('id').primary();
    t.string('sku', 32).notNullable().unique();
    t.string('title', 100).notNullable();
    t.string('seller', 64).notNullable();
    t.bigInteger('price_fen').notNullable();
    t.integer('stock').notNullable();
    t.string('image', 200).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('price_fen > 0', [], 'products_price_positive');
    t.check('stock >= 0', [], 'products_stock_not_negative');
  });

  await knex.schema.createTable('paylog', (t) => {
    t.string('out_trade_no', 32).primary();
    t.string('shopper_id', 64).notNullable();
    t.bigInteger('total_fee').notNullable();
    t.string('pay_type', 16).notNullable().defaultTo('wxpay_native');
    t.string('trade_state', 16).notNullable().defaultTo('NOTPAY');
    t.string('body', 128);
    t.string('code_url', 256);
    t.timestamp('code_url_expires_at', { useTz: true });
    t.string('transaction_id', 32).unique();
    t.bigInteger('refunded_fee').notNullable().defaultTo(0);
    // set when news of a payment needs an admin's eye: paid after we closed it, or a second
    // transaction_id for the same trade (kept in conflict_transaction_id, never overwriting)
    t.string('flag', 32);
    t.string('conflict_transaction_id', 32);
    t.timestamp('create_time', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('pay_time', { useTz: true });
    t.timestamp('closed_at', { useTz: true });
    t.timestamp('last_queried_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("out_trade_no ~ '^[0-9A-Za-z_|*-]{6,32}$'", [], 'paylog_out_trade_no_format');
    t.check('total_fee > 0', [], 'paylog_total_fee_positive');
    t.check('refunded_fee >= 0 AND refunded_fee <= total_fee', [], 'paylog_refunded_within_total');
    t.check("trade_state IN ('NOTPAY', 'SUCCESS', 'CLOSED', 'REFUND')", [], 'paylog_trade_state_known');
    t.check("trade_state NOT IN ('SUCCESS', 'REFUND') OR (transaction_id IS NOT NULL AND pay_time IS NOT NULL)", [], 'paylog_paid_has_transaction');
    t.check("flag IS NULL OR flag IN ('late_payment', 'conflict')", [], 'paylog_flag_known');
    t.index(['trade_state', 'create_time'], 'paylog_state_created_idx');
    t.index(['create_time'], 'paylog_created_idx');
    t.index(['shopper_id'], 'paylog_shopper_idx');
  });

  await knex.schema.createTable('orders', (t) => {
    t.bigIncrements('id').primary();
    t.string('shopper_id', 64).notNullable();
    t.string('seller', 64).notNullable();
    t.string('status', 16).notNullable().defaultTo('unpaid');
    t.string('pay_type', 16).notNullable();
    t.bigInteger('total_fen').notNullable();
    t.string('receiver_name', 50).notNullable();
    t.string('receiver_mobile', 11).notNullable();
    t.string('receiver_address', 200).notNullable();
    // the payment attempt now offered for this order; earlier attempts stay in paylog_orders
    t.string('out_trade_no', 32).references('out_trade_no').inTable('paylog');
    // one order per seller per checkout: a double-submitted form cannot make a second set
    t.string('checkout_token', 64).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('paid_at', { useTz: true });
    t.timestamp('closed_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['checkout_token', 'seller'], { indexName: 'orders_checkout_seller_uq' });
    t.check('total_fen > 0', [], 'orders_total_positive');
    t.check("status IN ('unpaid', 'paid', 'closed', 'refunded')", [], 'orders_status_known');
    t.check("pay_type IN ('wxpay', 'cod')", [], 'orders_pay_type_known');
    t.index(['out_trade_no'], 'orders_out_trade_no_idx');
    t.index(['shopper_id', 'created_at'], 'orders_shopper_idx');
  });

  await knex.schema.createTable('paylog_orders', (t) => {
    t.string('out_trade_no', 32).notNullable().references('out_trade_no').inTable('paylog');
    t.bigInteger('order_id').notNullable().references('id').inTable('orders');
    t.primary(['out_trade_no', 'order_id']);
    t.index(['order_id'], 'paylog_orders_order_idx');
  });

  await knex.schema.createTable('order_items', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('order_id').notNullable().references('id').inTable('orders');
    t.integer('product_id').notNullable().references('id').inTable('products');
    t.string('title', 100).notNullable();
    t.bigInteger('unit_price_fen').notNullable();
    t.integer('quantity').notNullable();
    t.check('unit_price_fen > 0', [], 'order_items_price_positive');
    t.check('quantity BETWEEN 1 AND 99', [], 'order_items_quantity_range');
    t.index(['order_id'], 'order_items_order_idx');
  });

  await knex.schema.createTable('order_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('order_id').notNullable().references('id').inTable('orders');
    t.string('from_status', 16);
    t.string('to_status', 16).notNullable();
    t.string('operator', 64).notNullable();
    t.text('remark');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['order_id', 'at'], 'order_log_order_idx');
  });

  await knex.schema.createTable('notify_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.string('kind', 16).notNullable();
    // no foreign key: a notify for a trade we do not know is kept too
    t.string('out_trade_no', 64);
    t.string('transaction_id', 64);
    t.string('verdict', 32).notNullable();
    t.text('detail');
    t.text('raw_body').notNullable();
    t.check("kind IN ('pay', 'refund')", [], 'notify_log_kind_known');
    t.index(['out_trade_no', 'received_at'], 'notify_log_trade_idx');
    t.index(['received_at'], 'notify_log_received_idx');
  });

  await knex.schema.createTable('refunds', (t) => {
    t.string('out_refund_no', 64).primary();
    t.string('out_trade_no', 32).notNullable().references('out_trade_no').inTable('paylog');
    t.bigInteger('refund_fee').notNullable();
    t.string('reason', 80);
    t.string('status', 16).notNullable().defaultTo('PENDING');
    t.string('refund_id', 32).unique();
    t.string('operator', 64).notNullable();
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('success_time', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('refund_fee > 0', [], 'refunds_fee_positive');
    t.check("status IN ('PENDING', 'PROCESSING', 'SUCCESS', 'CHANGE', 'REFUNDCLOSE')", [], 'refunds_status_known');
    t.index(['out_trade_no'], 'refunds_trade_idx');
  });

  await knex.schema.createTable('sessions', (t) => {
    t.string('sid', 255).primary();
    t.jsonb('sess').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at'], 'sessions_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['sessions', 'refunds', 'notify_log', 'order_log', 'order_items', 'paylog_orders', 'orders', 'paylog', 'products', 'app_settings']) {
    await knex.schema.dropTableIfExists(table);
  }
}
