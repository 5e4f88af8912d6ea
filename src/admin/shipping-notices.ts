import type { CorrectOutcome, ShipOutcome } from '../ledger';
import type { AdminNotice } from './auth';

/** What the admin is told after shipping or correcting a parcel: a sentence per outcome (records over every outcome). */

const SHIP_TONES: Record<ShipOutcome, AdminNotice['tone']> = {
  shipped: 'ok',
  already: 'ok',
  unknown_order: 'error',
  not_paid: 'error',
  refunded: 'error',
  refund_in_progress: 'warn',
  shipped_other: 'warn',
  not_shippable: 'error',
};

export function shipNotice(outcome: ShipOutcome, orderId: number): AdminNotice {
  return { tone: SHIP_TONES[outcome], key: `ship.outcome.${outcome}`, params: { id: orderId } };
}

const CORRECT_TONES: Record<CorrectOutcome, AdminNotice['tone']> = {
  corrected: 'ok',
  unchanged: 'ok',
  unknown_order: 'error',
  not_shipped: 'error',
};

export function correctNotice(outcome: CorrectOutcome, orderId: number): AdminNotice {
  return { tone: CORRECT_TONES[outcome], key: `ship.correct.${outcome}`, params: { id: orderId } };
}
