import { deliveryAfter } from './delivery-rules';
import type { DeliveryStatus, OrderStatus, PayType } from './model';

/**
 * After "paid": the goods leave (shipped, with a courier and a tracking number), a wrong tracking
 * number is corrected, and the order is completed (the shopper confirms receipt, or the clock
 * does a set number of days after shipment). Pure and table-tested
 * (tests/helpers/fulfilment-cases.ts, run without a database in tests/unit/ledger/ and on one in
 * tests/integration/ledger/). Cash on delivery follows the same path and is completed when the
 * merchant takes the cash (delivery-rules.ts, decideCod 'paid').
 */

/** A shipment as the rules read it (the shipments row of an order). */
export interface ShipmentState {
  courier: string;
  courier_name: string | null;
  tracking_no: string;
  shipped_at: Date;
  completed_at: Date | null;
}

/** An order as the fulfilment rules read it, locked. */
export interface FulfilmentOrder {
  pay_type: PayType;
  status: OrderStatus;
  delivery_status: DeliveryStatus;
  /** refunds that may still move money for it (PENDING or PROCESSING): nothing leaves until they are decided */
  refunds_in_progress: number;
}

/** Who acts: the merchant (ship, correct), the shopper (confirm receipt), the clock (complete after N days). */
export type FulfilmentActor = 'merchant' | 'shopper' | 'clock';

export interface Parcel {
  /** a courier code of the list, or `other` */
  courier: string;
  /** `other`'s name (null for a courier of the list) */
  courierName: string | null;
  trackingNo: string;
}

export type ShipOutcome =
  | 'shipped'
  /** shipped already with this very parcel (a double submit, a batch line uploaded twice) */
  | 'already'
  | 'unknown_order'
  /** WeChat Pay, not paid (unpaid, or closed): nothing is sent before the money is in */
  | 'not_paid'
  /** its money went back in full: its goods are never sent */
  | 'refunded'
  /** a refund naming it is still undecided: it waits until WeChat has decided it */
  | 'refund_in_progress'
  /** shipped already with another parcel: correct the tracking number instead */
  | 'shipped_other'
  /** completed or cancelled: nothing to send */
  | 'not_shippable';

export type ShipDecision = { outcome: Exclude<ShipOutcome, 'shipped'> } | { outcome: 'shipped'; delivery: DeliveryStatus };

const sameParcel = (a: ShipmentState, b: Parcel) => a.courier === b.courier && (a.courier_name ?? null) === (b.courierName ?? null) && a.tracking_no === b.trackingNo;

/**
 * The merchant ships an order: WeChat Pay once it is paid (a partial refund settled does not stop
 * it), cash on delivery while it is open (pending or accepted: shipping it takes it on). Never an
 * order refunded in full, nor one with a refund still undecided (it may yet come back in full).
 * Idempotent: the same parcel again is `already`.
 */
export function decideShip(order: FulfilmentOrder | undefined, shipment: ShipmentState | undefined, parcel: Parcel): ShipDecision {
  if (!order) return { outcome: 'unknown_order' };
  if (order.delivery_status === 'shipped' || order.delivery_status === 'completed') {
    if (shipment && sameParcel(shipment, parcel)) return { outcome: 'already' };
    return { outcome: order.delivery_status === 'shipped' ? 'shipped_other' : 'not_shippable' };
  }
  if (order.delivery_status === 'cancelled') return { outcome: order.status === 'refunded' ? 'refunded' : 'not_shippable' };
  if (order.status === 'refunded') return { outcome: 'refunded' };
  if (order.pay_type === 'wxpay' && order.status !== 'paid') return { outcome: 'not_paid' };
  if (order.pay_type === 'cod' && order.status !== 'unpaid') return { outcome: 'not_shippable' };
  if (order.refunds_in_progress > 0) return { outcome: 'refund_in_progress' };
  return { outcome: 'shipped', delivery: deliveryAfter(order.delivery_status, 'shipped') };
}

export type CorrectOutcome = 'corrected' | 'unchanged' | 'unknown_order' | 'not_shipped';

/** A wrong tracking number (or courier) corrected, while the parcel is on its way; the same parcel again changes nothing. */
export function decideCorrect(order: FulfilmentOrder | undefined, shipment: ShipmentState | undefined, parcel: Parcel): CorrectOutcome {
  if (!order) return 'unknown_order';
  if (order.delivery_status !== 'shipped' || !shipment) return 'not_shipped';
  return sameParcel(shipment, parcel) ? 'unchanged' : 'corrected';
}

export type CompleteOutcome =
  | 'completed'
  /** completed already */
  | 'already'
  | 'unknown_order'
  /** not shipped (yet), or cancelled */
  | 'not_shipped'
  /** cash on delivery: completed when the merchant takes the cash (Delivered and paid) */
  | 'cash_on_delivery'
  /** refunded in full: there is nothing to confirm (its goods come back through after-sales) */
  | 'refunded'
  /** the clock waits while a refund naming it is undecided */
  | 'refund_in_progress'
  /** the clock: not yet `days` days since shipment */
  | 'not_due';

export type CompleteDecision = { outcome: Exclude<CompleteOutcome, 'completed'> } | { outcome: 'completed'; delivery: DeliveryStatus };

export const DAY_MS = 24 * 3600 * 1000;

/**
 * The order is completed: the shopper confirms receipt of a shipped WeChat Pay order, or the clock
 * does `autoCompleteDays` after shipment. Never one refunded in full; the clock also waits while a
 * refund is undecided (the shopper may confirm: they have the goods). Cash on delivery is
 * completed by the merchant's "Delivered and paid". Idempotent.
 */
export function decideComplete(
  order: FulfilmentOrder | undefined,
  shipment: ShipmentState | undefined,
  actor: Exclude<FulfilmentActor, 'merchant'>,
  now: Date,
  autoCompleteDays: number,
): CompleteDecision {
  if (!order) return { outcome: 'unknown_order' };
  if (order.delivery_status === 'completed') return { outcome: 'already' };
  if (order.delivery_status !== 'shipped' || !shipment) return { outcome: 'not_shipped' };
  if (order.pay_type === 'cod') return { outcome: 'cash_on_delivery' };
  if (order.status === 'refunded') return { outcome: 'refunded' };
  if (order.status !== 'paid') return { outcome: 'not_shipped' };
  if (actor === 'clock') {
    if (order.refunds_in_progress > 0) return { outcome: 'refund_in_progress' };
    if (now.getTime() < autoCompleteDueAt(shipment, autoCompleteDays).getTime()) return { outcome: 'not_due' };
  }
  return { outcome: 'completed', delivery: deliveryAfter(order.delivery_status, 'completed') };
}

/** When the clock completes a shipped order: `days` after it left. */
export function autoCompleteDueAt(shipment: Pick<ShipmentState, 'shipped_at'>, days: number): Date {
  return new Date(shipment.shipped_at.getTime() + days * DAY_MS);
}

/** What the shopper may do with an order's goods now: confirm receipt of a shipped, paid WeChat Pay order. */
export function canConfirmReceipt(order: Pick<FulfilmentOrder, 'pay_type' | 'status' | 'delivery_status'>): boolean {
  return order.pay_type === 'wxpay' && order.status === 'paid' && order.delivery_status === 'shipped';
}

/** The merchant may ship it now, as far as the order alone says (the queue; decideShip decides under lock). */
export function awaitsShipment(order: Pick<FulfilmentOrder, 'pay_type' | 'status' | 'delivery_status'>): boolean {
  if (order.pay_type === 'wxpay') return order.status === 'paid' && order.delivery_status === 'pending';
  return order.status === 'unpaid' && (order.delivery_status === 'pending' || order.delivery_status === 'accepted');
}
