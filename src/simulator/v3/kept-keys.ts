import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { getOrCreateSetting } from '../../settings';

/**
 * The APIv3 key material of the simulator demo, made once and kept in app_settings (never in the
 * repository), so every instance on the database signs and verifies with the same keys: the
 * simulator's own WeChat Pay key and its PUB_KEY_ID, and the demo merchant's private key, its
 * serial and its APIv3 key (what a merchant downloads from the merchant platform).
 */
export interface KeptV3Keys {
  simulator: { privateKeyPem: string; publicKeyId: string };
  merchant: { privateKeyPem: string; serial: string; apiV3Key: string };
}

const SETTING = 'simulator_v3_keys';

function makeKeys(): string {
  const pem = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const kept: KeptV3Keys = {
    simulator: { privateKeyPem: pem(), publicKeyId: `PUB_KEY_ID_01${crypto.randomInt(1e9, 1e10 - 1)}${crypto.randomInt(1e9, 1e10 - 1)}` },
    merchant: { privateKeyPem: pem(), serial: crypto.randomBytes(20).toString('hex').toUpperCase(), apiV3Key: crypto.randomBytes(24).toString('base64url').slice(0, 32) },
  };
  return JSON.stringify(kept);
}

export async function keptV3Keys(knex: Knex): Promise<KeptV3Keys> {
  // made only when not kept yet (a key pair takes a moment)
  const existing = (await knex('app_settings').where({ key: SETTING }).first('value')) as { value: string } | undefined;
  return JSON.parse(existing?.value ?? (await getOrCreateSetting(knex, SETTING, makeKeys))) as KeptV3Keys;
}
