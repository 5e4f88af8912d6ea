import type { Knex } from 'knex';

// The WeChat Pay v2 simulator's own state (src/simulator): merchants it accepts, the trades and
// refunds it holds, the notifies it owes (resumable after a restart, shared by every instance on
// this database) and the faults a test or demo asked for. Nothing here refers to the shop's
// tables: the simulator stands where WeChat's servers would be. Amounts are integer fen.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sim_merchants', (t) => {
    t.string('mch_id', 32).primary();
    t.string('appid', 32).notNullable();
    t.string('api_key', 64).notNullable();
    t.string('name', 64).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['appid'], 'sim_merchants_appid_idx');
  });

  await knex.schema.createTable('sim_trades', (t) => {
    t.bigIncrements('id').primary();
    t.string('mch_id', 32).notNullable().references('mch_id').inTable('sim_merchants');
    t.string('appid', 32).notNullable();
    t.string('out_trade_no', 32).notNullable();
    // the unifiedorder request's algorithm: the payment notify is signed with it
    t.string('sign_type', 16).notNullable();
    t.string('trade_type', 16).notNullable();
    t.string('body', 128).notNullable();
    t.string('attach', 127);
    t.bigInteger('total_fee').notNullable();
    t.string('fee_type', 8).notNullable().defaultTo('CNY');
    t.string('spbill_create_ip', 64).notNullable();
    t.string('notify_url', 256).notNullable();
    t.string('product_id', 32);
    t.string('device_info', 32);
    // the request fields a re-sent unifiedorder must repeat exactly (else "201 商户订单号重复")
    t.jsonb('order_params').notNullable();
    t.timestamp('time_start', { useTz: true });
    t.timestamp('time_expire', { useTz: true });
    t.string('prepay_id', 64).notNullable().unique();
    // code_url is weixin://wxpay/bizpayurl?pr=<code_token>
    t.string('code_token', 16).notNullable().unique();
    t.timestamp('code_expires_at', { useTz: true }).notNullable();
    // anti-forgery token of the phone page's Pay and Cancel forms
    t.string('phone_token', 64).notNullable();
    t.string('trade_state', 16).notNullable().defaultTo('NOTPAY');
    t.string('transaction_id', 32).unique();
    t.timestamp('time_end', { useTz: true });
    t.string('openid', 128);
    t.string('bank_type', 32);
    t.string('is_subscribe', 1);
    t.bigInteger('cash_fee');
    t.bigInteger('refunded_fee').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('closed_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.unique(['mch_id', 'out_trade_no'], { indexName: 'sim_trades_mch_out_trade_no_uq' });
    t.check("out_trade_no ~ '^[0-9A-Za-z_|*-]{6,32}$'", [], 'sim_trades_out_trade_no_format');
    t.check('total_fee > 0', [], 'sim_trades_total_fee_positive');
    t.check('refunded_fee >= 0 AND refunded_fee <= total_fee', [], 'sim_trades_refunded_within_total');
    t.check("trade_state IN ('NOTPAY', 'SUCCESS', 'REFUND', 'CLOSED')", [], 'sim_trades_state_known');
    t.check(
      "trade_state NOT IN ('SUCCESS', 'REFUND') OR (transaction_id IS NOT NULL AND time_end IS NOT NULL AND cash_fee IS NOT NULL)",
      [],
      'sim_trades_paid_has_transaction',
    );
    t.index(['mch_id', 'time_end'], 'sim_trades_paid_idx');
  });

  await knex.schema.createTable('sim_refunds', (t) => {
    t.bigIncrements('id').primary();
    t.string('mch_id', 32).notNullable().references('mch_id').inTable('sim_merchants');
    t.bigInteger('trade_id').notNullable().references('id').inTable('sim_trades');
    t.string('out_refund_no', 64).notNullable();
    t.string('refund_id', 32).notNullable().unique();
    t.bigInteger('total_fee').notNullable();
    t.bigInteger('refund_fee').notNullable();
    t.string('refund_desc', 80);
    t.string('notify_url', 256);
    t.string('status', 16).notNullable().defaultTo('PROCESSING');
    t.string('refund_channel', 16).notNullable().defaultTo('ORIGINAL');
    t.string('refund_account', 64).notNullable();
    t.string('refund_recv_accout', 64).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    // when the PROCESSING refund turns SUCCESS (created_at + the scaled refund delay)
    t.timestamp('complete_at', { useTz: true }).notNullable();
    t.timestamp('success_time', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.unique(['mch_id', 'out_refund_no'], { indexName: 'sim_refunds_mch_out_refund_no_uq' });
    t.check('refund_fee > 0', [], 'sim_refunds_fee_positive');
    t.check('refund_fee <= total_fee', [], 'sim_refunds_within_total');
    t.check("status IN ('PROCESSING', 'SUCCESS', 'REFUNDCLOSE', 'CHANGE')", [], 'sim_refunds_status_known');
    t.check("status <> 'SUCCESS' OR success_time IS NOT NULL", [], 'sim_refunds_success_has_time');
    t.index(['trade_id', 'created_at'], 'sim_refunds_trade_idx');
    t.index(['status', 'complete_at'], 'sim_refunds_due_idx');
  });

  await knex.schema.createTable('sim_notifications', (t) => {
    t.bigIncrements('id').primary();
    t.string('kind', 16).notNullable();
    t.string('mch_id', 32).notNullable().references('mch_id').inTable('sim_merchants');
    t.bigInteger('trade_id').notNullable().references('id').inTable('sim_trades');
    t.bigInteger('refund_id').references('id').inTable('sim_refunds');
    t.string('url', 256).notNullable();
    // the XML fields sent on every attempt (a payment notify's are signed already)
    t.jsonb('payload').notNullable();
    // pending: due at next_attempt_at; delivered: answered SUCCESS; failed: schedule exhausted;
    // dropped: a "never sent" fault swallowed it
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('last_attempt_at', { useTz: true });
    t.timestamp('delivered_at', { useTz: true });
    // an attempt in flight: other instances leave the row alone until then (a crash frees it)
    t.timestamp('claimed_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.check("kind IN ('pay', 'refund')", [], 'sim_notifications_kind_known');
    t.check("status IN ('pending', 'delivered', 'failed', 'dropped')", [], 'sim_notifications_status_known');
    t.check("status <> 'pending' OR next_attempt_at IS NOT NULL", [], 'sim_notifications_pending_is_due');
    t.check('attempts >= 0', [], 'sim_notifications_attempts_not_negative');
    t.index(['status', 'next_attempt_at'], 'sim_notifications_due_idx');
    t.index(['trade_id'], 'sim_notifications_trade_idx');
  });

  await knex.schema.createTable('sim_faults', (t) => {
    t.bigIncrements('id').primary();
    t.string('mch_id', 32).notNullable();
    // null: every trade of the merchant
    t.string('out_trade_no', 32);
    t.string('kind', 32).notNullable();
    // for kind systemerror: the API call it hits; null: any call
    t.string('api', 16);
    t.integer('remaining').notNullable();
    t.integer('used').notNullable().defaultTo(0);
    t.integer('delay_seconds');
    t.integer('copies');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.check(
      "kind IN ('systemerror', 'notify_duplicate', 'notify_delay', 'notify_drop', 'notify_bad_signature')",
      [],
      'sim_faults_kind_known',
    );
    t.check(
      "api IS NULL OR api IN ('unifiedorder', 'orderquery', 'closeorder', 'refund', 'refundquery', 'downloadbill')",
      [],
      'sim_faults_api_known',
    );
    t.check('remaining >= 0 AND used >= 0', [], 'sim_faults_counts_not_negative');
    t.check("kind <> 'notify_delay' OR delay_seconds > 0", [], 'sim_faults_delay_positive');
    t.check("kind <> 'notify_duplicate' OR copies >= 2", [], 'sim_faults_copies_at_least_two');
    t.index(['mch_id', 'kind'], 'sim_faults_mch_kind_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['sim_faults', 'sim_notifications', 'sim_refunds', 'sim_trades', 'sim_merchants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
