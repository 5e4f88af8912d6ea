import type { Translate } from '../i18n';

/** A courier by its name in the reader's language (`courier.<code>`); "other" by the name the merchant typed. */
export function courierText(code: string, typed: unknown, t: Translate): string {
  return code === 'other' ? String(typed ?? '') : t(`courier.${code}`);
}
