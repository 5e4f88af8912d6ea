import { DAY_MS, autoCompleteDueAt, awaitsShipment, canConfirmReceipt, codActionsOf, decideCod, decideComplete, decideCorrect, decideShip, deliveryAfter, type ShipmentState } from '../../../src/ledger';
import { AUTO_COMPLETE_DAYS, FULFILMENT_CASES, OTHER_PARCEL, PARCEL } from '../../helpers/fulfilment-cases';

const NOW = new Date('2026-12-08T08:00:00Z');

function shipmentOf(c: (typeof FULFILMENT_CASES)[number]): ShipmentState | undefined {
  if (!c.shipment) return undefined;
  const parcel = c.shipment === 'same' ? PARCEL : OTHER_PARCEL;
  return { courier: parcel.courier, courier_name: parcel.courierName, tracking_no: parcel.trackingNo, shipped_at: new Date(NOW.getTime() - (c.daysSinceShipment ?? 1) * DAY_MS), completed_at: c.order?.delivery_status === 'completed' ? NOW : null };
}

describe('fulfilment, decided without a database (the table of tests/helpers/fulfilment-cases.ts)', () => {
  test.each(FULFILMENT_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const order = c.order && { ...c.order, refunds_in_progress: c.order.refunds_in_progress ?? 0 };
    const shipment = shipmentOf(c);
    if (c.action === 'ship') {
      const d = decideShip(order, shipment, PARCEL);
      expect(d.outcome).toBe(c.expect);
      if (d.outcome === 'shipped') expect(d.delivery).toBe(c.delivery);
    } else if (c.action === 'correct') {
      expect(decideCorrect(order, shipment, PARCEL)).toBe(c.expect);
    } else {
      const d = decideComplete(order, shipment, c.action === 'clock' ? 'clock' : 'shopper', NOW, AUTO_COMPLETE_DAYS);
      expect(d.outcome).toBe(c.expect);
      if (d.outcome === 'completed') expect(d.delivery).toBe(c.delivery);
    }
  });

  test('goods that left stay where they are whatever the money does; shipped and completed move only forward', () => {
    expect(deliveryAfter('shipped', 'refunded_in_full')).toBe('shipped');
    expect(deliveryAfter('completed', 'closed')).toBe('completed');
    expect(deliveryAfter('pending', 'shipped')).toBe('shipped');
    expect(deliveryAfter('accepted', 'shipped')).toBe('shipped');
    expect(deliveryAfter('cancelled', 'shipped')).toBe('cancelled');
    expect(deliveryAfter('shipped', 'completed')).toBe('completed');
    expect(deliveryAfter('pending', 'completed')).toBe('pending');
  });

  test('cash on delivery on its way: only "delivered and paid" (a parcel refused at the door is after-sales)', () => {
    const shipped = { pay_type: 'cod' as const, status: 'unpaid' as const, delivery_status: 'shipped' as const };
    expect(codActionsOf(shipped)).toEqual(['paid']);
    expect(decideCod(shipped, 'cancel')).toEqual({ outcome: 'not_open' });
    expect(decideCod(shipped, 'accept')).toEqual({ outcome: 'already' });
    expect(decideCod(shipped, 'paid')).toMatchObject({ outcome: 'done', to: 'paid', delivery: 'completed' });
  });

  test('the queue, the shopper\'s button and the clock\'s date', () => {
    expect(awaitsShipment({ pay_type: 'wxpay', status: 'paid', delivery_status: 'pending' })).toBe(true);
    expect(awaitsShipment({ pay_type: 'wxpay', status: 'unpaid', delivery_status: 'pending' })).toBe(false);
    expect(awaitsShipment({ pay_type: 'cod', status: 'unpaid', delivery_status: 'accepted' })).toBe(true);
    expect(awaitsShipment({ pay_type: 'cod', status: 'unpaid', delivery_status: 'shipped' })).toBe(false);
    expect(canConfirmReceipt({ pay_type: 'wxpay', status: 'paid', delivery_status: 'shipped' })).toBe(true);
    expect(canConfirmReceipt({ pay_type: 'cod', status: 'unpaid', delivery_status: 'shipped' })).toBe(false);
    expect(autoCompleteDueAt({ shipped_at: NOW }, 10)).toEqual(new Date(NOW.getTime() + 10 * DAY_MS));
  });
});
