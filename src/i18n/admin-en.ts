import type { adminZh } from './admin-zh';

export const adminEn: Record<keyof typeof adminZh, string> = {
  'admin.title': 'Merchant admin',
};
