import fs from 'node:fs';
import path from 'node:path';
import { adminEn } from '../../../src/i18n/admin-en';
import { adminZh } from '../../../src/i18n/admin-zh';
import { en } from '../../../src/i18n/en';
import { fulfilmentEn } from '../../../src/i18n/fulfilment-en';
import { fulfilmentZh } from '../../../src/i18n/fulfilment-zh';
import { zh } from '../../../src/i18n/zh';

const ALL_VIEWS = path.resolve(__dirname, '../../../views');
/** the admin's pages and the layout they share with the shop and the phone */
const ADMIN_VIEWS = [path.join(ALL_VIEWS, 'admin'), path.join(ALL_VIEWS, 'layout')];

function viewFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? viewFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('admin dictionaries', () => {
  test('Chinese and English have exactly the same keys, all under admin., refund. or event. (the order log)', () => {
    expect(Object.keys(adminEn).sort()).toEqual(Object.keys(adminZh).sort());
    for (const key of Object.keys(adminZh)) expect(key).toMatch(/^(admin|refund|event)\./);
  });

  test('no sentence is left empty or untranslated', () => {
    for (const [key, text] of Object.entries(adminZh)) {
      expect([key, text.trim().length > 0]).toEqual([key, true]);
      const english = (adminEn as Record<string, string>)[key] ?? '';
      expect([key, english.trim().length > 0]).toEqual([key, true]);
      if (/[\u4e00-\u9fff]/.test(text)) expect([key, /[\u4e00-\u9fff]/.test(english)]).toEqual([key, false]);
    }
  });

  test('every literal key an admin view asks for exists in both languages', () => {
    const all = { zh: { ...zh, ...adminZh, ...fulfilmentZh } as Record<string, string>, en: { ...en, ...adminEn, ...fulfilmentEn } as Record<string, string> };
    const keys = new Set<string>();
    for (const file of ADMIN_VIEWS.flatMap(viewFiles)) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/\bt\('([\w.]+)'/g)) keys.add(m[1] as string);
    }
    expect(keys.size).toBeGreaterThan(50);
    for (const key of keys) {
      // t('admin.state.' + s): a prefix of keys made at run time
      const known = (dict: Record<string, string>) => (key.endsWith('.') ? Object.keys(dict).some((k) => k.startsWith(key)) : key in dict);
      expect([key, known(all.zh), known(all.en)]).toEqual([key, true, true]);
    }
  });

  test('no view prints unescaped data: <%- only for includes and the QR code the server draws', () => {
    /** markup we generate ourselves, by file: the pay page's inline SVG QR code */
    const generated: Record<string, string[]> = { [path.join('pay', 'index.ejs')]: ['qr'] };
    const files = viewFiles(ALL_VIEWS);
    expect(files.length).toBeGreaterThan(30);
    for (const file of files) {
      const rel = path.relative(ALL_VIEWS, file);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/<%-\s*([^%]*)%>/g)) {
        const expr = (m[1] as string).trim();
        expect([rel, expr.startsWith('include(') || (generated[rel] ?? []).includes(expr)]).toEqual([rel, true]);
      }
      // scripts only from our own files (CSP: script-src 'self'; the simulator's bridge in simulator mode), never inline, no on* handlers
      for (const tag of text.match(/<script\b[^>]*>/gi) ?? []) expect([rel, tag]).toEqual([rel, expect.stringMatching(/^<script src="\/(js|wxsim)\/[\w.-]+\.js"( defer)?>$/)]);
      expect([rel, /\son\w+=/i.test(text)]).toEqual([rel, false]);
    }
  });
});
