import fs from 'node:fs';
import path from 'node:path';
import { adminZh } from '../../../src/i18n/admin-zh';
import { fulfilmentEn } from '../../../src/i18n/fulfilment-en';
import { fulfilmentZh } from '../../../src/i18n/fulfilment-zh';
import { zh } from '../../../src/i18n/zh';
import { ALERT_TYPES, ATTENTION_REASONS, DELIVERY_STATUSES } from '../../../src/ledger';
import { CHANNELS } from '../../../src/outbox';
import { COURIER_CODES } from '../../../src/shipping/couriers';

/**
 * The fulfilment dictionaries (shipping, receipt, alerts) are a file pair of their own, merged
 * into the shop's: the same keys in both languages, nothing left untranslated, no key of another
 * dictionary redefined, and every code the pages and messages translate has its words.
 */

const VIEWS = path.resolve(__dirname, '../../../views');
const NEW_VIEWS = ['orders/order.ejs', 'admin/shipping.ejs', 'admin/shipping-batch.ejs', 'admin/order.ejs', 'admin/alerts.ejs'];

describe('the fulfilment dictionaries', () => {
  test('Chinese and English have exactly the same keys, with the same placeholders', () => {
    expect(Object.keys(fulfilmentEn).sort()).toEqual(Object.keys(fulfilmentZh).sort());
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(fulfilmentZh)) expect([key, names((fulfilmentEn as Record<string, string>)[key] ?? '')]).toEqual([key, names(text)]);
  });

  test('no sentence is empty, and no English one is left in Chinese', () => {
    for (const [key, text] of Object.entries(fulfilmentZh)) {
      const english = (fulfilmentEn as Record<string, string>)[key] ?? '';
      expect([key, text.trim().length > 0, english.trim().length > 0]).toEqual([key, true, true]);
      expect([key, /[\u4e00-\u9fff]/.test(english)]).toEqual([key, false]);
    }
  });

  test('no key of the shop or the admin dictionaries is redefined', () => {
    expect(Object.keys(fulfilmentZh).filter((k) => k in zh || k in adminZh)).toEqual([]);
  });

  test('every courier, delivery state, alert type, reason and channel has its words', () => {
    const keys = new Set(Object.keys(fulfilmentZh));
    const wanted = [
      ...COURIER_CODES.map((c) => `courier.${c}`),
      ...DELIVERY_STATUSES.flatMap((s) => [`ship.delivery.${s}`, `orderPage.state.${s}`]),
      ...ALERT_TYPES.map((a) => `alerts.type.${a}`),
      ...ATTENTION_REASONS.map((r) => `alert.reason.${r}`),
      ...CHANNELS.map((c) => `alerts.channel.${c}`),
    ];
    expect(wanted.filter((k) => !keys.has(k))).toEqual([]);
  });

  test('every literal key the new pages ask for exists', () => {
    const all = { ...zh, ...adminZh, ...fulfilmentZh } as Record<string, string>;
    for (const file of NEW_VIEWS) {
      for (const m of fs.readFileSync(path.join(VIEWS, file), 'utf8').matchAll(/\bt\('([\w.]+)'/g)) {
        const key = m[1] as string;
        const known = key.endsWith('.') ? Object.keys(all).some((k) => k.startsWith(key)) : key in all;
        expect([file, key, known]).toEqual([file, key, true]);
      }
    }
  });
});
