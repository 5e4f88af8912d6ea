import type { Knex } from 'knex';

// Shoppers on phones (issue 15): a payment attempt is paid one way, its trade_type, chosen by the
// shopper's device: NATIVE (a QR code), MWEB (H5 payment in a phone browser), JSAPI (inside
// WeChat's own browser). paylog.pay_type (always 'wxpay_native' so far) becomes trade_type.
// paylog.prepay_id: WeChat has the trade (every trade type gets one; NATIVE's code_url too).
// paylog.openid: the payer of a JSAPI attempt (WeChat refuses a re-sent unifiedorder with another).
// sim_oauth_codes, sim_openids: the simulator's Official Account web authorization: single-use
// codes that live 5 minutes, and the openid it issued each of its users for an AppID.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('paylog', (t) => {
    t.string('trade_type', 8).notNullable().defaultTo('NATIVE');
    t.string('prepay_id', 64);
    t.string('openid', 128);
    t.check("trade_type IN ('NATIVE', 'MWEB', 'JSAPI')", [], 'paylog_trade_type_known');
  });
  await knex.schema.alterTable('paylog', (t) => {
    t.dropColumn('pay_type');
  });

  await knex.schema.createTable('sim_openids', (t) => {
    t.string('appid', 32).notNullable();
    // the simulated WeChat user (a browser cookie of the simulator's)
    t.string('user_key', 64).notNullable();
    t.string('openid', 128).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['appid', 'user_key']);
    t.unique(['appid', 'openid'], { indexName: 'sim_openids_appid_openid_uq' });
  });

  await knex.schema.createTable('sim_oauth_codes', (t) => {
    t.string('code', 64).primary();
    t.string('appid', 32).notNullable();
    t.string('openid', 128).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['expires_at'], 'sim_oauth_codes_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sim_oauth_codes');
  await knex.schema.dropTableIfExists('sim_openids');
  await knex.schema.alterTable('paylog', (t) => {
    t.string('pay_type', 16).notNullable().defaultTo('wxpay_native');
  });
  await knex.schema.alterTable('paylog', (t) => {
    t.dropChecks(['paylog_trade_type_known']);
    t.dropColumn('openid');
    t.dropColumn('prepay_id');
    t.dropColumn('trade_type');
  });
}
