import crypto from 'node:crypto';
import { encryptResource, signWechatAnswer } from '../../wechatpay/v3';
import type { SimContext } from '../context';
import type { NotificationRow } from '../notifier';
import { rfc3339 } from './answers';

/**
 * A v3 notify as WeChat sends it: {id, create_time, resource_type, event_type, summary, resource}
 * with the resource's plaintext encrypted under the merchant's APIv3 key (a fresh 12-character
 * nonce), the body signed with the simulator's key under its PUB_KEY_ID, all made again at each
 * attempt. A notify_bad_signature fault signs it with a key WeChat never published.
 */

/** What sim_notifications keeps of a v3 notify: the plaintext and how to wrap it. */
export interface V3NotifyPayload extends Record<string, string> {
  /** for the faults that name a trade */
  out_trade_no: string;
  event_type: string;
  summary: string;
  original_type: string;
  associated_data: string;
  plaintext: string;
}

let forger: crypto.KeyObject | undefined;

export function buildV3Notify(ctx: SimContext, row: Pick<NotificationRow, 'id' | 'mch_id' | 'payload' | 'created_at'>, options: { badSignature: boolean }): { body: string; headers: Record<string, string> } {
  const p = row.payload as V3NotifyPayload;
  const merchant = ctx.v3.merchants.get(row.mch_id);
  if (!merchant) throw new Error(`no APIv3 key for merchant ${row.mch_id} in this simulator`);
  const nonce = crypto.randomBytes(9).toString('base64url').slice(0, 12);
  const body = JSON.stringify({
    id: `${crypto.createHash('md5').update(`sim-notify-${row.id}`).digest('hex').slice(0, 8)}-${row.id}`,
    create_time: rfc3339(row.created_at),
    resource_type: 'encrypt-resource',
    event_type: p.event_type,
    summary: p.summary,
    resource: {
      original_type: p.original_type,
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext: encryptResource(p.plaintext, merchant.apiV3Key, { nonce, associatedData: p.associated_data }),
      associated_data: p.associated_data,
      nonce,
    },
  });
  const privateKey = options.badSignature ? (forger ??= crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey) : ctx.v3.privateKey;
  const headers = signWechatAnswer(body, { serial: ctx.v3.publicKeyId, privateKey }, { timestamp: Math.floor(ctx.clock().getTime() / 1000), nonce: crypto.randomBytes(16).toString('hex') });
  return { body, headers };
}
