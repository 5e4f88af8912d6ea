import fs from 'node:fs';
import path from 'node:path';
import { dictionaryOf } from '../../src/i18n';
import { adminZh } from '../../src/i18n/admin-zh';
import { catalogEn } from '../../src/i18n/catalog-en';
import { catalogZh } from '../../src/i18n/catalog-zh';
import { zh } from '../../src/i18n/zh';

const VIEWS = path.resolve(__dirname, '../../views');
const CATALOG_VIEWS = ['catalog', 'products', 'shop', 'layout'].map((d) => path.join(VIEWS, d));
const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));

describe('the catalog dictionaries (catalog-zh.ts, catalog-en.ts)', () => {
  // every room's sentences (the layout's nav names the team's pages too)
  const zhAll: Record<string, string> = { ...dictionaryOf('zh') };
  const enAll: Record<string, string> = { ...dictionaryOf('en') };

  test('Chinese and English have exactly the same keys, and none of them redefines an older dictionary\'s key', () => {
    expect(Object.keys(catalogEn).sort()).toEqual(Object.keys(catalogZh).sort());
    const older = new Set([...Object.keys(zh), ...Object.keys(adminZh)]);
    expect(Object.keys(catalogZh).filter((k) => older.has(k))).toEqual([]);
  });

  test('no sentence is empty, and each English one keeps its Chinese twin\'s placeholders', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(catalogZh)) {
      const english = (catalogEn as Record<string, string>)[key] ?? '';
      expect([key, text.trim() !== '', english.trim() !== '']).toEqual([key, true, true]);
      expect([key, names(english)]).toEqual([key, names(text)]);
    }
  });

  test('every literal key the catalog, product, settings and layout views ask for exists in both languages', () => {
    const keys = new Set<string>();
    for (const file of CATALOG_VIEWS.flatMap(files)) for (const m of fs.readFileSync(file, 'utf8').matchAll(/\bt\('([\w.]+)'/g)) keys.add(m[1] as string);
    expect(keys.size).toBeGreaterThan(60);
    expect([...keys].filter((k) => !(k in zhAll) && !k.endsWith('.'))).toEqual([]);
    expect([...keys].filter((k) => !(k in enAll) && !k.endsWith('.'))).toEqual([]);
  });

  test('every message key the new code throws or renders exists in both languages', () => {
    const src = ['catalog', 'products', 'images', 'shop', 'cart'].flatMap((d) => files(path.resolve(__dirname, '../../src', d)));
    const keys = new Set<string>();
    for (const file of src) for (const m of fs.readFileSync(file, 'utf8').matchAll(/'((?:products|import|media|settings|stock|catalog|cart|search)\.[\w.]+)'/g)) keys.add(m[1] as string);
    expect(keys.size).toBeGreaterThan(30);
    // a flash message's key is looked up under flash.
    const known = (k: string, dict: Record<string, string>) => k in dict || `flash.${k}` in dict;
    expect([...keys].filter((k) => !k.endsWith('.') && (!known(k, zhAll) || !known(k, enAll)))).toEqual([]);
  });
});
