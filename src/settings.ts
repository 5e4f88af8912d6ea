import crypto from 'node:crypto';
import type { Knex } from 'knex';

/**
 * A value kept in `app_settings`, made once by whichever instance gets there first; every
 * instance then reads the same value (e.g. the session secret when SESSION_SECRET is unset).
 */
export async function getOrCreateSetting(knex: Knex, key: string, make: () => string): Promise<string> {
  await knex('app_settings').insert({ key, value: make() }).onConflict('key').ignore();
  const row = (await knex('app_settings').where({ key }).first('value')) as { value: string } | undefined;
  if (!row) throw new Error(`app_settings: ${key} vanished right after it was written`);
  return row.value;
}

export function randomSecret(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}
