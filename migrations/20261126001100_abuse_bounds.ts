import type { Knex } from 'knex';

// Abuse bounds (issue 11).
// notify_log: a webhook call that did not prove itself (bad XML, no or a wrong signature, a
// req_info that does not decrypt) is `verified = false`; anyone can post those, so repeats are
// counted on one row per (kind, source, verdict, claimed out_trade_no) instead of a row each, and
// each source gets at most a fixed number of such rows naming a trade (see src/pay/notify-log.ts).
// orders.client_ip: the address a checkout came from, so open checkouts can be limited per address.
// orders.accepted_at: a cash-on-delivery order the merchant accepted for delivery.
// sim_merchants.api_key: a fingerprint of the key from now on, never the key (the simulator keeps
// keys in memory); keys stored before are replaced by theirs.
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notify_log', (t) => {
    t.boolean('verified').notNullable().defaultTo(true);
    t.string('source', 64);
    t.integer('repeats').notNullable().defaultTo(1);
    t.timestamp('last_received_at', { useTz: true });
    t.check('repeats >= 1', [], 'notify_log_repeats_positive');
  });
  await knex.raw(
    "UPDATE notify_log SET verified = false WHERE verdict IN ('bad_xml', 'missing_signature', 'bad_signature', 'bad_req_info', 'bad_request', 'too_large')",
  );
  await knex.raw('CREATE INDEX notify_log_unverified_idx ON notify_log (source, kind, verdict, out_trade_no) WHERE NOT verified');

  await knex.raw("UPDATE sim_merchants SET api_key = 'sha256:' || substr(encode(sha256(convert_to(api_key, 'UTF8')), 'hex'), 1, 16) WHERE api_key NOT LIKE 'sha256:%'");

  await knex.schema.alterTable('orders', (t) => {
    t.string('client_ip', 64);
    t.timestamp('accepted_at', { useTz: true });
  });
  // open (unpaid) orders of one shopper or one address are counted at every checkout
  await knex.raw("CREATE INDEX orders_open_by_shopper_idx ON orders (shopper_id) WHERE status = 'unpaid'");
  await knex.raw("CREATE INDEX orders_open_by_ip_idx ON orders (client_ip) WHERE status = 'unpaid'");
  // the admin's orders view, newest first, by pay type and status
  await knex.raw('CREATE INDEX orders_created_idx ON orders (created_at, id)');
  // the fair sweeper: NOTPAY trades, least recently asked first
  await knex.raw("CREATE INDEX paylog_notpay_queried_idx ON paylog (last_queried_at NULLS FIRST, create_time) WHERE trade_state = 'NOTPAY'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS paylog_notpay_queried_idx');
  await knex.raw('DROP INDEX IF EXISTS orders_created_idx');
  await knex.raw('DROP INDEX IF EXISTS orders_open_by_ip_idx');
  await knex.raw('DROP INDEX IF EXISTS orders_open_by_shopper_idx');
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('accepted_at');
    t.dropColumn('client_ip');
  });
  await knex.raw('DROP INDEX IF EXISTS notify_log_unverified_idx');
  await knex.schema.alterTable('notify_log', (t) => {
    t.dropChecks(['notify_log_repeats_positive']);
    t.dropColumn('last_received_at');
    t.dropColumn('repeats');
    t.dropColumn('source');
    t.dropColumn('verified');
  });
}
