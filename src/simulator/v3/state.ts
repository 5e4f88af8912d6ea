import crypto from 'node:crypto';

/**
 * What the simulator needs to speak APIv3: its own signing key, published as a WeChat Pay public
 * key under a PUB_KEY_ID (public-key mode), and each v3 merchant's APIv3 key and certificate
 * serial with the public key that checks its requests. In memory only, like the v2 keys.
 */
export interface SimV3Merchant {
  apiV3Key: string;
  /** the merchant certificate's serial its requests name */
  serial: string;
  publicKey: crypto.KeyObject;
}

export interface SimV3State {
  /** the serial answers and notifies are signed under (PUB_KEY_ID_…) */
  publicKeyId: string;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  merchants: Map<string, SimV3Merchant>;
  /**
   * associated_data of a refund notify's resource: WeChat's documents do not pin it ("refund" in
   * most samples, empty in some); the shop decrypts with whatever the resource names
   */
  refundAssociatedData: string;
}

export interface SimV3Options {
  /** the simulator's WeChat Pay key pair (PEM private key) and its id; generated at start when unset */
  privateKeyPem?: string | undefined;
  publicKeyId?: string | undefined;
  refundAssociatedData?: string | undefined;
}

export function createSimV3State(options: SimV3Options = {}): SimV3State {
  const privateKey = options.privateKeyPem ? crypto.createPrivateKey(options.privateKeyPem) : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const publicKeyId = options.publicKeyId ?? `PUB_KEY_ID_${crypto.randomInt(1e9, 1e10 - 1)}${crypto.randomInt(1e9, 1e10 - 1)}`;
  return { publicKeyId, privateKey, publicKey: crypto.createPublicKey(privateKey), merchants: new Map(), refundAssociatedData: options.refundAssociatedData ?? 'refund' };
}
