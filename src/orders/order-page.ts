import type { Knex } from 'knex';
import { NotFound } from '../errors';
import { canConfirmReceipt, completeOrder, orderOfSession, readShipments, type CompleteOutcome, type OrderWithItems, type Shipment } from '../ledger';
import { trackingUrlOf } from '../shipping/couriers';

/**
 * One order as its shopper follows it (/orders/:id): what it holds, where it goes, and its
 * timeline (placed, paid, shipped with the courier, tracking number and the courier's own
 * tracking page, completed), with "confirm receipt" once it is on its way.
 */

export type TimelineStep =
  | { kind: 'placed'; at: Date }
  | { kind: 'paid'; at: Date | null; payType: 'wxpay' | 'cod' }
  | { kind: 'shipped'; at: Date | null; courier?: string; courierName?: string | null; trackingNo?: string; trackingUrl?: string | undefined }
  | { kind: 'completed'; at: Date | null; by?: string | null };

export interface ShopperOrderPage {
  order: OrderWithItems;
  shipment: Shipment | undefined;
  timeline: { step: TimelineStep; done: boolean }[];
  canConfirm: boolean;
}

/** The steps as they happened, and those still to come (greyed), in the order a shopper expects them. */
export function timelineOf(order: OrderWithItems, shipment: Shipment | undefined): ShopperOrderPage['timeline'] {
  const paid = order.status === 'paid' || order.status === 'refunded';
  const shipped = order.delivery_status === 'shipped' || order.delivery_status === 'completed';
  const steps: ShopperOrderPage['timeline'] = [{ step: { kind: 'placed', at: order.created_at }, done: true }];
  const paidStep = { step: { kind: 'paid' as const, at: order.paid_at, payType: order.pay_type }, done: paid };
  const shippedStep = {
    step: shipment
      ? { kind: 'shipped' as const, at: shipment.shipped_at, courier: shipment.courier, courierName: shipment.courier_name, trackingNo: shipment.tracking_no, trackingUrl: trackingUrlOf(shipment.courier, shipment.tracking_no) }
      : { kind: 'shipped' as const, at: null },
    done: shipped,
  };
  // cash on delivery: the cash is taken at the door, after the parcel left
  if (order.pay_type === 'cod') steps.push(shippedStep, paidStep);
  else steps.push(paidStep, shippedStep);
  steps.push({ step: { kind: 'completed', at: order.delivery_status === 'completed' ? (shipment?.completed_at ?? order.delivery_at) : null, by: shipment?.completed_by ?? null }, done: order.delivery_status === 'completed' });
  return steps;
}

export async function shopperOrderPage(knex: Knex, orderId: number, shopperId: string | undefined, found: readonly number[]): Promise<ShopperOrderPage> {
  const order = await orderOfSession(knex, orderId, shopperId, found);
  if (!order) throw new NotFound(`order ${orderId} is not this session's`, 'orders.notFound');
  const [shipment] = await readShipments(knex, [order.id]);
  return { order, shipment, timeline: timelineOf(order, shipment), canConfirm: canConfirmReceipt(order) };
}

/** The shopper confirms receipt of their own order (the ledger's completeOrder decides). */
export async function confirmReceipt(knex: Knex, input: { orderId: number; shopperId: string | undefined; found: readonly number[]; now: Date; autoCompleteDays: number }): Promise<CompleteOutcome> {
  const order = await orderOfSession(knex, input.orderId, input.shopperId, input.found);
  if (!order) throw new NotFound(`order ${input.orderId} is not this session's`, 'orders.notFound');
  return completeOrder(knex, { orderId: order.id, actor: 'shopper', operator: `shopper:${order.shopper_id}`, now: input.now, autoCompleteDays: input.autoCompleteDays });
}
