import type { Knex } from 'knex';

/**
 * Cash on delivery: the merchant accepts an order for delivery, marks it delivered and paid, or
 * cancels it. COD orders hold stock from checkout on; one the merchant has not accepted within
 * COD_ACCEPT_HOURS is cancelled by the sweeper (expireUnacceptedCod), so anonymous COD checkouts
 * cannot hold goods for long.
 */

export type CodAction = 'accept' | 'paid' | 'cancel';
export const COD_ACTIONS: readonly CodAction[] = ['accept', 'paid', 'cancel'];

export type CodOutcome =
  /** the change was made */
  | 'done'
  /** accepted already (accept twice): nothing to do */
  | 'already'
  /** no such order */
  | 'unknown_order'
  /** a WeChat Pay order: its money moves only through WeChat (paylog), never by hand */
  | 'not_cod'
  /** paid, closed or refunded already: it cannot change this way any more */
  | 'not_open';

/**
 * A cash-on-delivery order's one state change, in ONE transaction with its order_log line: the
 * order row locked first; `accept` stamps accepted_at (it stays unpaid and keeps its stock);
 * `paid` (delivered, cash taken) makes it paid; `cancel` closes it and gives its stock back.
 * Idempotent: acting on an order that is no longer open changes nothing and says so.
 */
export async function changeCodOrder(knex: Knex, input: { orderId: number; action: CodAction; operator: string; now: Date; remark?: string }): Promise<CodOutcome> {
  return knex.transaction(async (trx) => {
    const order = (await trx('orders').where({ id: input.orderId }).forUpdate().first('id', 'pay_type', 'status', 'accepted_at')) as
      | { id: number; pay_type: string; status: string; accepted_at: Date | null }
      | undefined;
    if (!order) return 'unknown_order';
    if (order.pay_type !== 'cod') return 'not_cod';
    if (order.status !== 'unpaid') return 'not_open';
    const log = (to: string, remark: string) =>
      trx('order_log').insert({ order_id: order.id, from_status: 'unpaid', to_status: to, operator: input.operator, remark: input.remark ?? remark, at: input.now });
    if (input.action === 'accept') {
      if (order.accepted_at) return 'already';
      await trx('orders').where({ id: order.id }).update({ accepted_at: input.now, updated_at: input.now });
      await log('unpaid', 'cash on delivery: accepted for delivery');
      return 'done';
    }
    if (input.action === 'paid') {
      await trx('orders').where({ id: order.id }).update({ status: 'paid', paid_at: input.now, updated_at: input.now });
      await log('paid', 'cash on delivery: delivered and paid');
      return 'done';
    }
    const items = (await trx('order_items').where({ order_id: order.id }).orderBy('product_id').select('product_id', 'quantity')) as { product_id: number; quantity: number }[];
    for (const item of items) await trx('products').where({ id: item.product_id }).increment('stock', item.quantity);
    await trx('orders').where({ id: order.id }).update({ status: 'closed', closed_at: input.now, updated_at: input.now });
    await log('closed', 'cash on delivery: cancelled, stock returned');
    return 'done';
  });
}

/**
 * The rule for unconfirmed COD orders: one the merchant has not accepted within `acceptHours` of
 * checkout is cancelled (stock returned, order_log by `system`), each in its own transaction.
 * Returns how many were cancelled (at most `limit` per call).
 */
export async function expireUnacceptedCod(knex: Knex, now: Date, acceptHours: number, limit: number): Promise<number> {
  const ids = (await knex('orders')
    .where({ pay_type: 'cod', status: 'unpaid' })
    .whereNull('accepted_at')
    .andWhere('created_at', '<=', new Date(now.getTime() - acceptHours * 3600 * 1000))
    .orderBy('id')
    .limit(limit)
    .pluck('id')) as number[];
  let cancelled = 0;
  for (const id of ids) {
    const outcome = await changeCodOrder(knex, { orderId: Number(id), action: 'cancel', operator: 'system', now, remark: `cash on delivery not accepted within ${acceptHours} h: cancelled, stock returned` });
    if (outcome === 'done') cancelled += 1;
  }
  return cancelled;
}
