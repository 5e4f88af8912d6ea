import { adminEn } from '../../src/i18n/admin-en';
import { adminZh } from '../../src/i18n/admin-zh';
import { en as shopEn } from '../../src/i18n/en';
import { localeFromAcceptLanguage, translator } from '../../src/i18n';
import { zh as shopZh } from '../../src/i18n/zh';
import { fulfilmentEn } from '../../src/i18n/fulfilment-en';
import { fulfilmentZh } from '../../src/i18n/fulfilment-zh';

const zh: Record<string, string> = { ...shopZh, ...adminZh, ...fulfilmentZh };
const en: Record<string, string> = { ...shopEn, ...adminEn, ...fulfilmentEn };

describe('i18n', () => {
  test('both dictionaries have exactly the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  });

  test('shop and admin dictionaries do not redefine each other\'s keys', () => {
    expect(Object.keys(adminZh).filter((k) => k in shopZh)).toEqual([]);
  });

  test('every placeholder of a Chinese sentence appears in its English twin', () => {
    for (const [key, text] of Object.entries(zh)) {
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect([key, names(en[key] ?? '')]).toEqual([key, names(text)]);
    }
  });

  test.each([
    [undefined, 'zh'],
    ['', 'zh'],
    ['en-US,en;q=0.9', 'en'],
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh'],
    ['fr-FR,en;q=0.5,zh;q=0.4', 'en'],
    ['fr-FR', 'zh'],
    ['en;q=0.2,zh-TW;q=0.8', 'zh'],
    ['en;q=0', 'zh'],
  ])('Accept-Language %p picks %s', (header, locale) => {
    expect(localeFromAcceptLanguage(header)).toBe(locale);
  });

  test('a translation fills its placeholders and an unknown key is an error', () => {
    expect(translator('en')('catalog.lowStock', { stock: 3 })).toBe('Only 3 left');
    expect(() => translator('zh')('no.such.key')).toThrow(/no "no.such.key"/);
  });
});
