import { aftersaleEn } from '../../src/i18n/aftersale-en';
import { aftersaleZh } from '../../src/i18n/aftersale-zh';
import { adminZh } from '../../src/i18n/admin-zh';
import { zh } from '../../src/i18n/zh';
import { AFTERSALE_KINDS, AFTERSALE_STATUSES, REFUND_STATUSES } from '../../src/ledger';

/** The after-sales dictionaries (issue 24) are a pair of their own: same keys and placeholders, all translated, every code the pages show in words. */
describe('the after-sales dictionaries', () => {
  test('Chinese and English have the same keys with the same placeholders, and no English sentence is left in Chinese', () => {
    expect(Object.keys(aftersaleEn).sort()).toEqual(Object.keys(aftersaleZh).sort());
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(aftersaleZh)) {
      const english = (aftersaleEn as Record<string, string>)[key] ?? '';
      expect([key, names(english)]).toEqual([key, names(text)]);
      expect([key, /[\u4e00-\u9fff]/.test(english)]).toEqual([key, false]);
    }
  });

  test('no key of the shop or the admin dictionaries is redefined', () => {
    expect(Object.keys(aftersaleZh).filter((k) => k in zh || k in adminZh)).toEqual([]);
  });

  test('every kind, request state and refund state has its words', () => {
    const keys = new Set(Object.keys(aftersaleZh));
    const wanted = [
      ...AFTERSALE_KINDS.map((k) => `aftersale.kind.${k}`),
      ...AFTERSALE_STATUSES.flatMap((s) => [`aftersale.request.${s}`, `admin.aftersales.status.${s}`]),
      ...REFUND_STATUSES.map((s) => `aftersale.refund.${s}`),
    ];
    expect(wanted.filter((k) => !keys.has(k))).toEqual([]);
  });
});
