import type { CompleteOutcome, CorrectOutcome, DeliveryStatus, OrderStatus, PayType, ShipOutcome } from '../../src/ledger';

/**
 * The fulfilment rules as one table (who may do what, from which state): run without a database
 * by tests/unit/ledger/fulfilment-rules.test.ts and on a real one, rows and all, by
 * tests/integration/ledger/fulfilment-table.test.ts.
 */

export const PARCEL = { courier: 'sf', courierName: null, trackingNo: 'SF1234567890123' } as const;
export const OTHER_PARCEL = { courier: 'zto', courierName: null, trackingNo: '773012345678' } as const;
export const AUTO_COMPLETE_DAYS = 10;

export interface FulfilmentCase {
  name: string;
  /** undefined: no such order */
  order: { pay_type: PayType; status: OrderStatus; delivery_status: DeliveryStatus; refunds_in_progress?: number; partly_refunded?: boolean } | undefined;
  /** the parcel it left with, when it did: the one the action names, or another */
  shipment?: 'same' | 'other';
  /** for the clock: how long ago it left */
  daysSinceShipment?: number;
  action: 'ship' | 'correct' | 'confirm' | 'clock';
  expect: ShipOutcome | CorrectOutcome | CompleteOutcome;
  /** the goods after (when they move) */
  delivery?: DeliveryStatus;
}

const paid = { pay_type: 'wxpay', status: 'paid' } as const;
const cod = { pay_type: 'cod', status: 'unpaid' } as const;

export const FULFILMENT_CASES: readonly FulfilmentCase[] = [
  // ---- the merchant ships
  { name: 'ship: a paid WeChat Pay order', order: { ...paid, delivery_status: 'pending' }, action: 'ship', expect: 'shipped', delivery: 'shipped' },
  { name: 'ship: paid, partly refunded (the refund settled)', order: { ...paid, delivery_status: 'pending', partly_refunded: true }, action: 'ship', expect: 'shipped', delivery: 'shipped' },
  { name: 'ship: unpaid', order: { pay_type: 'wxpay', status: 'unpaid', delivery_status: 'pending' }, action: 'ship', expect: 'not_paid' },
  { name: 'ship: closed unpaid', order: { pay_type: 'wxpay', status: 'closed', delivery_status: 'cancelled' }, action: 'ship', expect: 'not_shippable' },
  { name: 'ship: refunded in full before it left', order: { pay_type: 'wxpay', status: 'refunded', delivery_status: 'cancelled' }, action: 'ship', expect: 'refunded' },
  { name: 'ship: a refund naming it is undecided', order: { ...paid, delivery_status: 'pending', refunds_in_progress: 1 }, action: 'ship', expect: 'refund_in_progress' },
  { name: 'ship: again with the same parcel', order: { ...paid, delivery_status: 'shipped' }, shipment: 'same', action: 'ship', expect: 'already' },
  { name: 'ship: again with another parcel', order: { ...paid, delivery_status: 'shipped' }, shipment: 'other', action: 'ship', expect: 'shipped_other' },
  { name: 'ship: completed, the same parcel', order: { ...paid, delivery_status: 'completed' }, shipment: 'same', action: 'ship', expect: 'already' },
  { name: 'ship: completed, another parcel', order: { ...paid, delivery_status: 'completed' }, shipment: 'other', action: 'ship', expect: 'not_shippable' },
  { name: 'ship: cash on delivery, not taken on yet', order: { ...cod, delivery_status: 'pending' }, action: 'ship', expect: 'shipped', delivery: 'shipped' },
  { name: 'ship: cash on delivery, accepted', order: { ...cod, delivery_status: 'accepted' }, action: 'ship', expect: 'shipped', delivery: 'shipped' },
  { name: 'ship: cash on delivery, delivered and paid by hand', order: { pay_type: 'cod', status: 'paid', delivery_status: 'completed' }, action: 'ship', expect: 'not_shippable' },
  { name: 'ship: cash on delivery, cancelled', order: { pay_type: 'cod', status: 'closed', delivery_status: 'cancelled' }, action: 'ship', expect: 'not_shippable' },
  { name: 'ship: no such order', order: undefined, action: 'ship', expect: 'unknown_order' },
  // ---- the merchant corrects a tracking number
  { name: 'correct: on its way, another parcel', order: { ...paid, delivery_status: 'shipped' }, shipment: 'other', action: 'correct', expect: 'corrected' },
  { name: 'correct: on its way, the same parcel', order: { ...paid, delivery_status: 'shipped' }, shipment: 'same', action: 'correct', expect: 'unchanged' },
  { name: 'correct: not shipped', order: { ...paid, delivery_status: 'pending' }, action: 'correct', expect: 'not_shipped' },
  { name: 'correct: completed', order: { ...paid, delivery_status: 'completed' }, shipment: 'other', action: 'correct', expect: 'not_shipped' },
  { name: 'correct: cash on delivery on its way', order: { ...cod, delivery_status: 'shipped' }, shipment: 'other', action: 'correct', expect: 'corrected' },
  // ---- the shopper confirms receipt
  { name: 'confirm: shipped and paid', order: { ...paid, delivery_status: 'shipped' }, shipment: 'same', action: 'confirm', expect: 'completed', delivery: 'completed' },
  { name: 'confirm: shipped, a refund undecided (they have the goods)', order: { ...paid, delivery_status: 'shipped', refunds_in_progress: 1 }, shipment: 'same', action: 'confirm', expect: 'completed', delivery: 'completed' },
  { name: 'confirm: not shipped yet', order: { ...paid, delivery_status: 'pending' }, action: 'confirm', expect: 'not_shipped' },
  { name: 'confirm: completed already', order: { ...paid, delivery_status: 'completed' }, shipment: 'same', action: 'confirm', expect: 'already' },
  { name: 'confirm: cash on delivery (the merchant completes it with the cash)', order: { ...cod, delivery_status: 'shipped' }, shipment: 'same', action: 'confirm', expect: 'cash_on_delivery' },
  { name: 'confirm: refunded in full after it left', order: { pay_type: 'wxpay', status: 'refunded', delivery_status: 'shipped' }, shipment: 'same', action: 'confirm', expect: 'refunded' },
  // ---- the clock completes it
  { name: 'clock: shipped 10 days ago', order: { ...paid, delivery_status: 'shipped' }, shipment: 'same', daysSinceShipment: 10, action: 'clock', expect: 'completed', delivery: 'completed' },
  { name: 'clock: shipped 9 days ago', order: { ...paid, delivery_status: 'shipped' }, shipment: 'same', daysSinceShipment: 9, action: 'clock', expect: 'not_due' },
  { name: 'clock: due, but a refund is undecided', order: { ...paid, delivery_status: 'shipped', refunds_in_progress: 1 }, shipment: 'same', daysSinceShipment: 11, action: 'clock', expect: 'refund_in_progress' },
  { name: 'clock: due, but refunded in full', order: { pay_type: 'wxpay', status: 'refunded', delivery_status: 'shipped' }, shipment: 'same', daysSinceShipment: 11, action: 'clock', expect: 'refunded' },
  { name: 'clock: cash on delivery is never completed unpaid', order: { ...cod, delivery_status: 'shipped' }, shipment: 'same', daysSinceShipment: 30, action: 'clock', expect: 'cash_on_delivery' },
];
