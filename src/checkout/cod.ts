import type { Knex } from 'knex';
import { changeCodOrder, orderEvent, unacceptedCodOrders } from '../ledger';

/**
 * Cash on delivery: the merchant accepts an order for delivery, marks it delivered and paid, or
 * cancels it (the ledger's changeCodOrder). COD orders hold stock from checkout on; one the
 * merchant has not accepted within COD_ACCEPT_HOURS is cancelled by the sweeper
 * (expireUnacceptedCod), so anonymous COD checkouts cannot hold goods for long.
 */

/**
 * The rule for unconfirmed COD orders: one the merchant has not accepted within `acceptHours` of
 * checkout is cancelled (stock returned, order_log by `system`), each in its own transaction.
 * Returns how many were cancelled (at most `limit` per call).
 */
export async function expireUnacceptedCod(knex: Knex, now: Date, acceptHours: number, limit: number): Promise<number> {
  const ids = await unacceptedCodOrders(knex, new Date(now.getTime() - acceptHours * 3600 * 1000), limit);
  let cancelled = 0;
  for (const id of ids) {
    const outcome = await changeCodOrder(knex, { orderId: id, action: 'cancel', operator: 'system', now, event: orderEvent('cod_expired', { hours: acceptHours }) });
    if (outcome === 'done') cancelled += 1;
  }
  return cancelled;
}
