import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { SimContext, SimMerchant } from './context';

/**
 * The merchants the simulator accepts (sim_merchants). Their API keys and the Official Accounts'
 * AppSecrets stay in this process's memory (ctx.keys, ctx.oaSecrets); the table keeps a fingerprint.
 */

/** What the simulator needs of a merchant to take its v3 requests and notify it on v3. */
export interface V3MerchantKeys {
  apiV3Key: string;
  merchantSerial: string;
  /** the merchant certificate's public key (or the certificate itself), PEM */
  merchantPublicKeyPem: string;
}

export interface MerchantRow {
  mch_id: string;
  appid: string;
  api_key: string;
  name: string;
  /** the refund notify URL configured on the merchant platform: used when a refund names none */
  refund_notify_url: string | null;
}

export function toMerchant(row: MerchantRow, keys: Map<string, string>): SimMerchant {
  // the key lives in this process's memory only (ensureMerchant); the row holds a fingerprint
  return { mchId: row.mch_id, appId: row.appid, apiKey: keys.get(row.mch_id) ?? '', name: row.name };
}

/** What sim_merchants keeps instead of the key: enough to tell keys apart, nothing to sign with. */
export function keyFingerprint(apiKey: string): string {
  return `sha256:${crypto.createHash('sha256').update(apiKey, 'utf8').digest('hex').slice(0, 16)}`;
}

/**
 * Upserts a merchant by mch_id: the simulator accepts whatever the shop is configured with. The
 * key is kept in memory (ctx.keys); the table gets its fingerprint, never the key itself.
 * `refundNotifyUrl` stands for the refund notify URL a merchant configures on the merchant
 * platform (申请退款, notify_url: "如果参数中传了notify_url，则商户平台上配置的回调地址将不会生效").
 */
export async function ensureMerchant(
  ctx: SimContext,
  m: { appId: string; mchId: string; apiKey: string; name?: string; refundNotifyUrl?: string; oaSecret?: string | undefined; v3?: V3MerchantKeys | undefined },
): Promise<void> {
  const knex = ctx.knex;
  const now = ctx.clock();
  if (!/^\d{1,32}$/.test(m.mchId)) throw new TypeError(`mchId must be digits, got ${JSON.stringify(m.mchId)}`);
  if (typeof m.appId !== 'string' || m.appId === '' || m.appId.length > 32) throw new TypeError('appId must be 1..32 characters');
  if (typeof m.apiKey !== 'string' || m.apiKey === '' || m.apiKey.length > 64) throw new TypeError('apiKey must be 1..64 characters');
  const name = (m.name ?? '').trim().slice(0, 64) || '模拟商户';
  const refundNotifyUrl = m.refundNotifyUrl ?? null;
  const fingerprint = keyFingerprint(m.apiKey);
  ctx.keys.set(m.mchId, m.apiKey);
  // the Official Account of this AppID, for its web authorization (JSAPI): in memory only, like the key
  if (m.oaSecret !== undefined) ctx.oaSecrets.set(m.appId, m.oaSecret);
  // APIv3: the merchant's APIv3 key and the certificate that checks its requests, in memory like the v2 key
  if (m.v3 !== undefined) {
    if (Buffer.byteLength(m.v3.apiV3Key, 'utf8') !== 32) throw new TypeError('v3.apiV3Key must be 32 bytes');
    ctx.v3.merchants.set(m.mchId, { apiV3Key: m.v3.apiV3Key, serial: m.v3.merchantSerial.toUpperCase(), publicKey: crypto.createPublicKey(m.v3.merchantPublicKeyPem) });
  }
  await knex('sim_merchants')
    .insert({ mch_id: m.mchId, appid: m.appId, api_key: fingerprint, name, refund_notify_url: refundNotifyUrl, created_at: now, updated_at: now })
    .onConflict('mch_id')
    .merge({ appid: m.appId, api_key: fingerprint, name, refund_notify_url: refundNotifyUrl, updated_at: now });
}

/** A merchant this simulator holds the key of (one another process registered is unknown here). */
export async function findMerchant(ctx: SimContext, mchId: string): Promise<SimMerchant | undefined> {
  if (!ctx.keys.has(mchId)) return undefined;
  const row = (await ctx.knex('sim_merchants').where({ mch_id: mchId }).first()) as MerchantRow | undefined;
  return row ? toMerchant(row, ctx.keys) : undefined;
}

/** The row of a merchant a trade or refund belongs to (so it exists: the trade was made for it). */
export async function merchantRowOf(db: Knex | Knex.Transaction, mchId: string): Promise<MerchantRow> {
  return (await db('sim_merchants').where({ mch_id: mchId }).first()) as MerchantRow;
}

export async function appIdKnown(knex: Knex, appId: string): Promise<boolean> {
  return (await knex('sim_merchants').where({ appid: appId }).first('mch_id')) !== undefined;
}

/** The name the payer's screen shows for a merchant (its mch_id when the row is gone). */
export async function merchantName(knex: Knex, mchId: string): Promise<string> {
  const row = (await knex('sim_merchants').where({ mch_id: mchId }).first('name')) as { name: string } | undefined;
  return row?.name ?? mchId;
}
