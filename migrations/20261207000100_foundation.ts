import type { Knex } from 'knex';

// The foundation of the next floors (issue 21):
// - delivery apart from payment: orders.status keeps meaning money (unpaid, paid, closed,
//   refunded); orders.delivery_status is the goods (pending, accepted for cash on delivery,
//   shipped, completed, cancelled), with delivery_at when it last changed. Cash on delivery's
//   accepted_at becomes delivery_status 'accepted'.
// - refunds belong to orders: refunds.order_id names the order a refund returns money for (old
//   refunds of a one-order payment are given that order; of a payment for several orders, none),
//   and orders.refunded_fen is what came back of the order's own payment.
// - a late payment for goods that are gone: order_items.stock_short is how many of the line could
//   not be taken from stock again.
// - structured order events: order_log.event is a code, order_log.params its parameters; old rows
//   keep their remark text and have no event.
// - flags an admin resolves: who, when, a note, on paylog (late, double, conflict) and on refunds
//   (a refund WeChat completed after we had closed it).
// Landed migrations are never edited: change the schema with a new file.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.string('delivery_status', 16).notNullable().defaultTo('pending');
    t.timestamp('delivery_at', { useTz: true });
    t.bigInteger('refunded_fen').notNullable().defaultTo(0);
    t.check("delivery_status IN ('pending', 'accepted', 'shipped', 'completed', 'cancelled')", [], 'orders_delivery_status_known');
    t.check('refunded_fen >= 0 AND refunded_fen <= total_fen', [], 'orders_refunded_within_total');
  });
  await knex.raw("UPDATE orders SET delivery_status = 'accepted', delivery_at = accepted_at WHERE pay_type = 'cod' AND status = 'unpaid' AND accepted_at IS NOT NULL");
  await knex.raw("UPDATE orders SET delivery_status = 'completed', delivery_at = paid_at WHERE pay_type = 'cod' AND status = 'paid'");
  await knex.raw("UPDATE orders SET delivery_status = 'cancelled', delivery_at = closed_at WHERE status = 'closed'");
  // refunded in full before anything could be shipped (the shop shipped nothing until now): never sent
  await knex.raw("UPDATE orders SET delivery_status = 'cancelled', delivery_at = updated_at WHERE status = 'refunded'");
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('accepted_at');
    t.index(['delivery_status', 'id'], 'orders_delivery_idx');
  });

  await knex.schema.alterTable('order_items', (t) => {
    t.integer('stock_short').notNullable().defaultTo(0);
    t.check('stock_short >= 0 AND stock_short <= quantity', [], 'order_items_stock_short_range');
  });

  await knex.schema.alterTable('order_log', (t) => {
    t.string('event', 48);
    t.jsonb('params');
  });

  await knex.schema.alterTable('refunds', (t) => {
    t.bigInteger('order_id').references('id').inTable('orders');
    t.string('flag', 32);
    t.timestamp('flag_resolved_at', { useTz: true });
    t.string('flag_resolved_by', 64);
    t.text('flag_note');
    t.check("flag IS NULL OR flag IN ('succeeded_after_close')", [], 'refunds_flag_known');
    t.index(['order_id'], 'refunds_order_idx');
  });
  // a refund of a payment for one order is for that order
  await knex.raw(
    `UPDATE refunds r SET order_id = po.order_id
       FROM paylog_orders po
      WHERE po.out_trade_no = r.out_trade_no
        AND (SELECT count(*) FROM paylog_orders x WHERE x.out_trade_no = r.out_trade_no) = 1`,
  );
  await knex.raw(
    `UPDATE orders o SET refunded_fen = LEAST(o.total_fen, s.fen)
       FROM (SELECT order_id, out_trade_no, sum(refund_fee) AS fen FROM refunds WHERE status = 'SUCCESS' AND order_id IS NOT NULL GROUP BY order_id, out_trade_no) s
      WHERE s.order_id = o.id AND s.out_trade_no = o.out_trade_no`,
  );
  await knex.raw("UPDATE orders SET refunded_fen = total_fen WHERE status = 'refunded'");

  await knex.schema.alterTable('paylog', (t) => {
    t.timestamp('flag_resolved_at', { useTz: true });
    t.string('flag_resolved_by', 64);
    t.text('flag_note');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('paylog', (t) => {
    t.dropColumn('flag_note');
    t.dropColumn('flag_resolved_by');
    t.dropColumn('flag_resolved_at');
  });
  await knex.schema.alterTable('refunds', (t) => {
    t.dropIndex(['order_id'], 'refunds_order_idx');
    t.dropChecks(['refunds_flag_known']);
    t.dropColumn('flag_note');
    t.dropColumn('flag_resolved_by');
    t.dropColumn('flag_resolved_at');
    t.dropColumn('flag');
    t.dropColumn('order_id');
  });
  // the events written since become text, so that no order's history is lost going back
  await knex.raw("UPDATE order_log SET remark = event || ': ' || coalesce(params::text, '{}') WHERE event IS NOT NULL AND remark IS NULL");
  await knex.schema.alterTable('order_log', (t) => {
    t.dropColumn('params');
    t.dropColumn('event');
  });
  // what a late payment could not take from stock again, kept as a line of its order's history
  await knex.raw(
    `INSERT INTO order_log (order_id, from_status, to_status, operator, remark, at)
     SELECT i.order_id, o.status, o.status, 'system', 'stock short: ' || i.stock_short || ' of ' || i.title, now()
       FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.stock_short > 0`,
  );
  await knex.schema.alterTable('order_items', (t) => {
    t.dropChecks(['order_items_stock_short_range']);
    t.dropColumn('stock_short');
  });
  await knex.schema.alterTable('orders', (t) => {
    t.timestamp('accepted_at', { useTz: true });
  });
  await knex.raw("UPDATE orders SET accepted_at = delivery_at WHERE pay_type = 'cod' AND delivery_status = 'accepted'");
  await knex.schema.alterTable('orders', (t) => {
    t.dropIndex(['delivery_status', 'id'], 'orders_delivery_idx');
    t.dropChecks(['orders_delivery_status_known', 'orders_refunded_within_total']);
    t.dropColumn('refunded_fen');
    t.dropColumn('delivery_at');
    t.dropColumn('delivery_status');
  });
}
