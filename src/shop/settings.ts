import type { Knex } from 'knex';
import type { RequestHandler } from 'express';

/**
 * The shop's own face, set by the merchant in the admin (/admin/settings): its name, how shoppers
 * reach it (phone, WeChat, hours), the footer text and the ICP filing number (备案号) that a
 * Chinese site shows in its footer. Kept in app_settings (every instance reads the same), read
 * through a short per-instance cache so a page costs no extra query: a change shows on every
 * instance within CACHE_MS.
 */

export interface ShopSettings {
  name: string;
  phone: string;
  wechat: string;
  hours: string;
  footer: string;
  icp: string;
}

export const EMPTY_SETTINGS: ShopSettings = { name: '', phone: '', wechat: '', hours: '', footer: '', icp: '' };
const FIELDS = Object.keys(EMPTY_SETTINGS) as (keyof ShopSettings)[];
const LIMITS: Record<keyof ShopSettings, number> = { name: 40, phone: 30, wechat: 40, hours: 60, footer: 200, icp: 40 };
const KEY_PREFIX = 'shop.';
export const CACHE_MS = 5000;

type Row = Record<string, unknown>;
const cache = new WeakMap<Knex, { at: number; value: Promise<ShopSettings> }>();

async function load(knex: Knex): Promise<ShopSettings> {
  const rows = (await knex('app_settings').where('key', 'like', `${KEY_PREFIX}%`).select('key', 'value')) as Row[];
  const settings = { ...EMPTY_SETTINGS };
  for (const r of rows) {
    const field = String(r.key).slice(KEY_PREFIX.length) as keyof ShopSettings;
    if (FIELDS.includes(field)) settings[field] = String(r.value);
  }
  return settings;
}

export function readShopSettings(knex: Knex, now = Date.now()): Promise<ShopSettings> {
  const hit = cache.get(knex);
  if (hit && now - hit.at < CACHE_MS) return hit.value;
  const value = load(knex).catch((err: unknown) => {
    cache.delete(knex);
    throw err;
  });
  cache.set(knex, { at: now, value });
  return value;
}

export type SettingsErrors = Partial<Record<keyof ShopSettings, string>>;

/** The form, tidied and checked: each field has a length limit; the ICP number looks like one (京ICP备12345678号-1). */
export function parseSettingsForm(body: Record<string, unknown>): { settings: ShopSettings; errors: SettingsErrors } {
  const settings = { ...EMPTY_SETTINGS };
  const errors: SettingsErrors = {};
  for (const field of FIELDS) {
    const raw = typeof body[field] === 'string' ? (body[field] as string).trim().replace(/\s+/g, ' ') : '';
    settings[field] = raw;
    if ([...raw].length > LIMITS[field]) errors[field] = 'settings.error.tooLong';
  }
  if (settings.icp !== '' && !/^[\u4e00-\u9fa5]{1,2}ICP[备证]\d{4,12}号(-\d{1,3})?$/.test(settings.icp)) errors.icp = 'settings.error.icp';
  if (settings.phone !== '' && !/^[\d\s+()-]{5,30}$/.test(settings.phone)) errors.phone = 'settings.error.phone';
  return { settings, errors };
}

/** Saves every field (an empty one falls back to the default), in one transaction; this instance's cache forgets at once. */
export async function saveShopSettings(knex: Knex, settings: ShopSettings): Promise<void> {
  await knex.transaction(async (trx) => {
    for (const field of FIELDS) {
      await trx('app_settings')
        .insert({ key: `${KEY_PREFIX}${field}`, value: settings[field] })
        .onConflict('key')
        .merge(['value']);
    }
  });
  cache.delete(knex);
}

/**
 * For every page: the shop's name as the merchant set it (else SHOP_NAME), its footer, contact and
 * ICP number, as res.locals.shopName and res.locals.shopFace. A database hiccup keeps the defaults.
 */
export function shopFace(knex: Knex): RequestHandler {
  return (_req, res, next) => {
    readShopSettings(knex).then(
      (face) => {
        if (face.name) res.locals.shopName = face.name;
        res.locals.shopFace = face;
        next();
      },
      () => {
        res.locals.shopFace = EMPTY_SETTINGS;
        next();
      },
    );
  };
}
