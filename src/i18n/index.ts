import { adminEn } from './admin-en';
import { aftersaleEn } from './aftersale-en';
import { aftersaleZh } from './aftersale-zh';
import { adminZh } from './admin-zh';
import { catalogEn } from './catalog-en';
import { catalogZh } from './catalog-zh';
import { en } from './en';
import { teamEn } from './team-en';
import { teamZh } from './team-zh';
import { fulfilmentEn } from './fulfilment-en';
import { fulfilmentZh } from './fulfilment-zh';
import { zh } from './zh';

/** Simplified Chinese by default; English when asked for (?lang=en, or the browser prefers it). */
export type Locale = 'zh' | 'en';
export type MessageKey = keyof typeof zh | keyof typeof adminZh | keyof typeof teamZh | keyof typeof catalogZh | keyof typeof fulfilmentZh | keyof typeof aftersaleZh;
export type Translate = (key: MessageKey | string, params?: Record<string, string | number>) => string;

/**
 * The dictionaries, a Chinese and English pair per room (the shop, the admin, the team...): each
 * pair has the same keys, no key is in two pairs (tests/unit/i18n.test.ts), and the translator
 * reads them as one. A new room adds its pair here.
 */
export const DICTIONARY_PAIRS: readonly { name: string; zh: Readonly<Record<string, string>>; en: Readonly<Record<string, string>> }[] = [
  { name: 'shop', zh, en },
  { name: 'admin', zh: adminZh, en: adminEn },
  { name: 'team', zh: teamZh, en: teamEn },
  { name: 'catalog', zh: catalogZh, en: catalogEn },
  { name: 'fulfilment', zh: fulfilmentZh, en: fulfilmentEn },
  { name: 'aftersale', zh: aftersaleZh, en: aftersaleEn },
];

const dictionaries: Record<Locale, Record<string, string>> = {
  zh: Object.assign({}, ...DICTIONARY_PAIRS.map((p) => p.zh)) as Record<string, string>,
  en: Object.assign({}, ...DICTIONARY_PAIRS.map((p) => p.en)) as Record<string, string>,
};

/** Every sentence of a language, all rooms together. */
export function dictionaryOf(locale: Locale): Readonly<Record<string, string>> {
  return dictionaries[locale];
}


export function isLocale(value: unknown): value is Locale {
  return value === 'zh' || value === 'en';
}

/** The browser's Accept-Language: the first of zh / en it names, by q-value; else Chinese. */
export function localeFromAcceptLanguage(header: string | undefined): Locale {
  if (!header) return 'zh';
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag, q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag.startsWith('zh')) return 'zh';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh';
}

export function translator(locale: Locale): Translate {
  const dictionary = dictionaries[locale];
  return (key, params = {}) => {
    const template = dictionary[key];
    if (template === undefined) throw new Error(`i18n: no "${key}" in the ${locale} dictionary`);
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
  };
}

export { formatDateTime } from '../beijing-time';
