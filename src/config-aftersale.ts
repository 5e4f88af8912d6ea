import { z } from 'zod';
import { parseWith } from './config-parse';

/** The after-sales settings (README "After-sales"), read by config.ts's loadConfig through its `get`. */

export type AftersaleConfig = {
  /**
   * a paid order cancelled before it ships: `auto` refunds it in full at once (the default, as
   * Chinese shoppers expect); `merchant` waits for the merchant's approval in /admin/aftersales
   */
  cancelApproval: 'auto' | 'merchant';
  /** "refund only" and "return and refund" may be asked for from shipment until this many days after completion (7: China's no-reason return period for online purchases) */
  returnDays: number;
  /** a cancel or "refund only" request the merchant leaves undecided is approved by the sweeper this many hours after it was made (48, as Taobao's refund-only rule) */
  approveAfterHours: number;
};

/** AFTERSALE_CANCEL_APPROVAL (auto | merchant), AFTERSALE_RETURN_DAYS (1..30), AFTERSALE_APPROVE_AFTER_HOURS (1..720). */
export function loadAftersaleConfig(get: (name: string) => string | undefined): AftersaleConfig {
  const cancelApproval = parseWith('AFTERSALE_CANCEL_APPROVAL', z.enum(['auto', 'merchant']), get('AFTERSALE_CANCEL_APPROVAL') ?? 'auto', 'must be auto or merchant');
  const returnDays = parseWith('AFTERSALE_RETURN_DAYS', z.coerce.number().int().min(1).max(30), get('AFTERSALE_RETURN_DAYS') ?? '7', 'must be a whole number of days from 1 to 30');
  const approveAfterHours = parseWith('AFTERSALE_APPROVE_AFTER_HOURS', z.coerce.number().int().min(1).max(720), get('AFTERSALE_APPROVE_AFTER_HOURS') ?? '48', 'must be a whole number of hours from 1 to 720');
  return { cancelApproval, returnDays, approveAfterHours };
}
