import type { Knex } from 'knex';
import { decideCod, type CodAction, type CodOutcome } from './delivery-rules';
import { orderCompletedAlert, orderPaidAlert } from './alerts';
import { orderEvent, type OrderEvent } from './events';
import { completeShipment } from './fulfilment-repo';
import { insertAlerts } from './outbox-repo';
import * as repo from './repo';
import * as stock from './stock-repo';

/**
 * The goods' state changes (delivery-rules.ts decides): each one function, one transaction, the
 * order row locked first, its order_log line written with it.
 */

/**
 * A cash-on-delivery order's one state change, in ONE transaction with its order_log line: the
 * order row locked first; `accept` takes it on for delivery (it stays unpaid and keeps its stock);
 * `paid` (delivered, cash taken) makes it paid and completed; `cancel` closes it, never to be
 * sent, and gives its stock back; `paid` also writes the order.paid and order.completed outbox
 * events. `event` replaces the decision's own (the sweeper's "not accepted
 * in time"). Idempotent: acting on an order that is no longer open changes nothing and says so.
 */
export async function changeCodOrder(knex: Knex, input: { orderId: number; action: CodAction; operator: string; now: Date; event?: OrderEvent }): Promise<CodOutcome> {
  return knex.transaction(async (trx) => {
    const order = await repo.lockOrder(trx, input.orderId);
    const decision = decideCod(order, input.action);
    if (decision.outcome !== 'done' || !order) return decision.outcome;
    if (decision.returnStock) await stock.returnStock(trx, [order.id], { reason: 'cancel', operator: input.operator, at: input.now });
    await repo.moveOrders(
      trx,
      [{ id: order.id, from: order.status, delivery: decision.delivery }],
      { to: decision.to },
      { operator: input.operator, event: input.event ?? orderEvent(decision.event, {}), at: input.now },
    );
    if (decision.to === 'paid') {
      // delivered and the cash taken: paid and completed at once (a shipped parcel's too)
      await completeShipment(trx, order.id, input.operator, input.now);
      await insertAlerts(trx, [orderPaidAlert(order, { outTradeNo: null, transactionId: null, late: false }), orderCompletedAlert(order, 'cash_on_delivery')], input.now);
    }
    return 'done';
  });
}
