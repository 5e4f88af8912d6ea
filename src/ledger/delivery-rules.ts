import type { DeliveryStatus, OrderStatus, PayType } from './model';

/**
 * The goods' side of an order, apart from its money (Medusa keeps payment and fulfilment apart):
 * orders.delivery_status and the decisions that move it, pure and table-tested
 * (tests/unit/ledger/delivery-rules.test.ts). The money's side is orders.status (rules.ts,
 * refund-rules.ts); a change of money that touches the goods asks deliveryAfter.
 */

/** What happens to an order that the goods must follow. */
export type DeliveryEvent =
  /** its money came (WeChat Pay; a late payment revives an order closed unpaid) */
  | 'paid'
  /** closed unpaid: its stock went back, nothing will be sent */
  | 'closed'
  /** all of its own money went back */
  | 'refunded_in_full'
  /** cash on delivery: the merchant took it on, delivered it and took the cash, or cancelled it */
  | 'cod_accept'
  | 'cod_delivered'
  | 'cod_cancel'
  /** the parcel left with a courier (fulfilment-rules.ts decides when it may) */
  | 'shipped'
  /** the shopper (or the clock) confirmed receipt */
  | 'completed';

/**
 * The delivery status after an event. Goods that have left (shipped, completed) stay where they
 * are whatever the money does (their return is after-sales); goods that have not left follow the
 * money: closed or refunded in full means never sent, paid late means to be sent after all.
 */
export function deliveryAfter(current: DeliveryStatus, event: DeliveryEvent): DeliveryStatus {
  const left = current === 'shipped' || current === 'completed';
  switch (event) {
    case 'paid':
      return current === 'cancelled' ? 'pending' : current;
    case 'closed':
    case 'refunded_in_full':
    case 'cod_cancel':
      return left ? current : 'cancelled';
    case 'cod_accept':
      return current === 'pending' ? 'accepted' : current;
    case 'cod_delivered':
      return 'completed';
    case 'shipped':
      return current === 'pending' || current === 'accepted' ? 'shipped' : current;
    case 'completed':
      return current === 'shipped' ? 'completed' : current;
  }
}

// ---- cash on delivery ----------------------------------------------------------------------

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

export type CodDecision =
  | { outcome: Exclude<CodOutcome, 'done'> }
  | {
      outcome: 'done';
      /** the money after (unpaid while it is only accepted) */
      to: OrderStatus;
      delivery: DeliveryStatus;
      /** its units go back on the shelf */
      returnStock: boolean;
      event: 'cod_accepted' | 'cod_delivered_paid' | 'cod_cancelled';
    };

interface CodOrder {
  pay_type: PayType;
  status: OrderStatus;
  delivery_status: DeliveryStatus;
}

/** A cash-on-delivery order still to be settled: unpaid, not cancelled (shipped: on its way, the cash taken at the door). */
function codOpen(order: CodOrder): boolean {
  return order.pay_type === 'cod' && order.status === 'unpaid' && (order.delivery_status === 'pending' || order.delivery_status === 'accepted' || order.delivery_status === 'shipped');
}

/** The cash-on-delivery actions an order offers the merchant now (none for a WeChat Pay order or a settled one). */
export function codActionsOf(order: CodOrder): CodAction[] {
  if (!codOpen(order)) return [];
  // goods on their way are not cancelled by hand (a parcel refused at the door is after-sales)
  if (order.delivery_status === 'shipped') return ['paid'];
  return order.delivery_status === 'accepted' ? ['paid', 'cancel'] : ['accept', 'paid', 'cancel'];
}

/** A cash-on-delivery order the merchant has still to deliver (unpaid is its normal state until then). */
export function awaitsDelivery(order: CodOrder): boolean {
  return codOpen(order);
}

/**
 * The merchant's hand on a cash-on-delivery order: accept it for delivery (the goods' side only:
 * it stays unpaid and keeps its stock), mark it delivered and paid in cash (both sides), or
 * cancel it (closed, never sent, stock back).
 */
export function decideCod(order: CodOrder | undefined, action: CodAction): CodDecision {
  if (!order) return { outcome: 'unknown_order' };
  if (order.pay_type !== 'cod') return { outcome: 'not_cod' };
  if (!codOpen(order)) return { outcome: 'not_open' };
  if (order.delivery_status === 'shipped' && action === 'cancel') return { outcome: 'not_open' };
  if (action === 'accept') {
    if (order.delivery_status === 'accepted' || order.delivery_status === 'shipped') return { outcome: 'already' };
    return { outcome: 'done', to: 'unpaid', delivery: deliveryAfter(order.delivery_status, 'cod_accept'), returnStock: false, event: 'cod_accepted' };
  }
  if (action === 'paid') return { outcome: 'done', to: 'paid', delivery: deliveryAfter(order.delivery_status, 'cod_delivered'), returnStock: false, event: 'cod_delivered_paid' };
  return { outcome: 'done', to: 'closed', delivery: deliveryAfter(order.delivery_status, 'cod_cancel'), returnStock: true, event: 'cod_cancelled' };
}
