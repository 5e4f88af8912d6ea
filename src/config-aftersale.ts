import { z } from 'zod';
import { parseWith } from './config-parse';

/** The after-sales settings (README "After-sales"), read by config.ts's loadConfig through its `get`. */

export type AftersaleConfig = {
  /**
   * a paid order cancelled before it ships: `auto` refunds it in full at once (the default, as
   * Chinese shoppers expect); `merchant` waits for the merchant's approval in /admin/aftersales
   */
  cancelApproval: 'auto' | 'merchant';
};

/** AFTERSALE_CANCEL_APPROVAL (auto | merchant). */
export function loadAftersaleConfig(get: (name: string) => string | undefined): AftersaleConfig {
  const cancelApproval = parseWith('AFTERSALE_CANCEL_APPROVAL', z.enum(['auto', 'merchant']), get('AFTERSALE_CANCEL_APPROVAL') ?? 'auto', 'must be auto or merchant');
  return { cancelApproval };
}
