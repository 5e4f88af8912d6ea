import { DICTIONARY_PAIRS, dictionaryOf, localeFromAcceptLanguage, translator } from '../../src/i18n';

const zh: Record<string, string> = { ...dictionaryOf('zh') };
const en: Record<string, string> = { ...dictionaryOf('en') };

describe('i18n', () => {
  test('both dictionaries have exactly the same keys, room by room', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const pair of DICTIONARY_PAIRS) expect([pair.name, Object.keys(pair.en).sort()]).toEqual([pair.name, Object.keys(pair.zh).sort()]);
  });

  test('no room redefines another\'s keys', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const pair of DICTIONARY_PAIRS) {
      for (const key of Object.keys(pair.zh)) {
        if (seen.has(key)) twice.push(`${key}: ${seen.get(key)} and ${pair.name}`);
        seen.set(key, pair.name);
      }
    }
    expect(twice).toEqual([]);
  });

  test('no sentence is left empty, nor Chinese in English (but for what it quotes as written, such as an ICP number)', () => {
    const unquoted = (s: string) => s.replace(/"[^"]*"/g, '');
    for (const [key, text] of Object.entries(zh)) {
      expect([key, text.trim().length > 0, (en[key] ?? '').trim().length > 0]).toEqual([key, true, true]);
      if (/[\u4e00-\u9fff]/.test(text)) expect([key, /[\u4e00-\u9fff]/.test(unquoted(en[key] ?? ''))]).toEqual([key, false]);
    }
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
