import type { Knex } from 'knex';
import { orderCompletedAlert, orderShippedAlert } from './alerts';
import { orderEvent, type OrderEvent } from './events';
import * as shipments from './fulfilment-repo';
import { decideComplete, decideCorrect, decideShip, type CompleteOutcome, type CorrectOutcome, type FulfilmentOrder, type Parcel, type ShipOutcome } from './fulfilment-rules';
import type { Order } from './model';
import { insertAlerts } from './outbox-repo';
import * as repo from './repo';

/**
 * The goods after "paid", each change one function in ONE transaction (fulfilment-rules.ts
 * decides): the payment attempt locked first where there is one (so a refund asked for at the
 * same moment waits, or is seen), then the order, then its shipment; the order_log line and the
 * outbox event written with the change. Idempotent: doing it again changes nothing and says so.
 */

export { readShipments, readFulfilmentStates, type Shipment } from './fulfilment-repo';

/** The order and its shipment locked in the one lock order (payment attempt, order, shipment), with what the rules read. */
async function lockForFulfilment(trx: Knex.Transaction, orderId: number): Promise<{ order: Order | undefined; state: FulfilmentOrder | undefined; shipment: shipments.Shipment | undefined }> {
  const peek = (await trx('orders').where({ id: orderId }).first('out_trade_no')) as { out_trade_no: string | null } | undefined;
  if (!peek) return { order: undefined, state: undefined, shipment: undefined };
  if (peek.out_trade_no) await repo.lockAttempt(trx, peek.out_trade_no);
  const order = await repo.lockOrder(trx, orderId);
  if (!order) return { order: undefined, state: undefined, shipment: undefined };
  const shipment = await shipments.lockShipment(trx, orderId);
  const state = { pay_type: order.pay_type, status: order.status, delivery_status: order.delivery_status, refunds_in_progress: await shipments.refundsInProgress(trx, order) };
  return { order, state, shipment };
}

const eventOf = (parcel: Parcel) => ({ courier: parcel.courier, ...(parcel.courierName ? { courierName: parcel.courierName } : {}), trackingNo: parcel.trackingNo });

/**
 * The merchant ships an order (one parcel): its goods become shipped, the shipment row records
 * courier and tracking number, order_log says so, an order.shipped event is written. Refused
 * while the money is not in (WeChat Pay), once it went back in full, and while a refund naming it
 * is undecided. Idempotent per parcel.
 */
export async function shipOrder(knex: Knex, input: { orderId: number; parcel: Parcel; operator: string; now: Date }): Promise<ShipOutcome> {
  return knex.transaction(async (trx) => {
    const { order, state, shipment } = await lockForFulfilment(trx, input.orderId);
    const decision = decideShip(state, shipment, input.parcel);
    if (decision.outcome !== 'shipped' || !order) return decision.outcome;
    await shipments.insertShipment(trx, order.id, input.parcel, input.operator, input.now);
    await repo.moveGoods(trx, order, decision.delivery, { operator: input.operator, event: orderEvent('shipped', eventOf(input.parcel)), at: input.now });
    await insertAlerts(trx, [orderShippedAlert(order, input.parcel)], input.now);
    return 'shipped';
  });
}

/** A wrong tracking number (or courier) corrected while the parcel is on its way, the old and new written to order_log. */
export async function correctShipment(knex: Knex, input: { orderId: number; parcel: Parcel; operator: string; now: Date }): Promise<CorrectOutcome> {
  return knex.transaction(async (trx) => {
    const { order, state, shipment } = await lockForFulfilment(trx, input.orderId);
    const outcome = decideCorrect(state, shipment, input.parcel);
    if (outcome !== 'corrected' || !order || !shipment) return outcome;
    await shipments.correctShipment(trx, order.id, input.parcel, input.now);
    const event = orderEvent('tracking_corrected', {
      ...eventOf(input.parcel),
      oldCourier: shipment.courier,
      ...(shipment.courier_name ? { oldCourierName: shipment.courier_name } : {}),
      oldTrackingNo: shipment.tracking_no,
    });
    await repo.noteOnOrders(trx, [order.id], { operator: input.operator, event, at: input.now });
    return 'corrected';
  });
}

/**
 * The order is completed: the shopper confirmed receipt (`shopper`), or no word `autoCompleteDays`
 * after shipment (`clock`). Its goods become completed, the shipment says when and by whom,
 * order_log and an order.completed event are written. Idempotent.
 */
export async function completeOrder(
  knex: Knex,
  input: { orderId: number; actor: 'shopper' | 'clock'; operator: string; now: Date; autoCompleteDays: number },
): Promise<CompleteOutcome> {
  return knex.transaction(async (trx) => {
    const { order, state, shipment } = await lockForFulfilment(trx, input.orderId);
    const decision = decideComplete(state, shipment, input.actor, input.now, input.autoCompleteDays);
    if (decision.outcome !== 'completed' || !order) return decision.outcome;
    await shipments.completeShipment(trx, order.id, input.operator, input.now);
    const event: OrderEvent = input.actor === 'clock' ? orderEvent('completed_auto', { days: input.autoCompleteDays }) : orderEvent('completed', {});
    await repo.moveGoods(trx, order, decision.delivery, { operator: input.operator, event, at: input.now });
    await insertAlerts(trx, [orderCompletedAlert(order, input.actor === 'clock' ? 'clock' : 'shopper')], input.now);
    return 'completed';
  });
}

/**
 * The clock's round: shipped WeChat Pay orders with no word `days` after shipment are completed,
 * each in its own transaction (at most `limit`). Returns how many were.
 */
export async function completeDueOrders(knex: Knex, now: Date, autoCompleteDays: number, limit: number): Promise<number> {
  const ids = await shipments.shippedBefore(knex, new Date(now.getTime() - autoCompleteDays * 24 * 3600 * 1000), limit);
  let completed = 0;
  for (const orderId of ids) {
    if ((await completeOrder(knex, { orderId, actor: 'clock', operator: 'system', now, autoCompleteDays })) === 'completed') completed += 1;
  }
  return completed;
}
