import crypto from 'node:crypto';

/**
 * AEAD_AES_256_GCM as WeChat uses it for notify resources and platform certificates: key = the
 * APIv3 key (32 UTF-8 bytes), IV = the nonce (UTF-8, 12 characters), AAD = associated_data,
 * ciphertext = base64 of the data followed by the 16-byte tag.
 */

export const AEAD_ALGORITHM = 'AEAD_AES_256_GCM';
const TAG_BYTES = 16;

export interface EncryptedResource {
  algorithm: string;
  ciphertext: string;
  associated_data?: string | undefined;
  nonce: string;
  original_type?: string | undefined;
}

/** A resource that does not open with our key (wrong key, tampered, or not AES-256-GCM). */
export class WxV3DecryptError extends Error {
  override readonly name = 'WxV3DecryptError';
}

function keyBytes(apiV3Key: string): Buffer {
  const key = Buffer.from(apiV3Key, 'utf8');
  if (key.length !== 32) throw new WxV3DecryptError(`the APIv3 key must be 32 bytes (it is ${key.length})`);
  return key;
}

/** The plaintext of a resource, authenticated; throws WxV3DecryptError otherwise. */
export function decryptResource(resource: EncryptedResource, apiV3Key: string): string {
  if (resource.algorithm !== AEAD_ALGORITHM) throw new WxV3DecryptError(`unsupported algorithm ${JSON.stringify(resource.algorithm)}`);
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length <= TAG_BYTES) throw new WxV3DecryptError('the ciphertext is too short to hold its tag');
  const decipher = crypto.createDecipheriv('aes-256-gcm', keyBytes(apiV3Key), Buffer.from(resource.nonce, 'utf8'));
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new WxV3DecryptError('the resource does not decrypt with our APIv3 key (wrong key, or altered on the way)');
  }
}

/** The other side of decryptResource (the simulator's notifies; tests). */
export function encryptResource(plaintext: string, apiV3Key: string, m: { nonce: string; associatedData: string }): string {
  const cipher = crypto.createCipheriv('aes-256-gcm', keyBytes(apiV3Key), Buffer.from(m.nonce, 'utf8'));
  cipher.setAAD(Buffer.from(m.associatedData, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([data, cipher.getAuthTag()]).toString('base64');
}
