import crypto from 'node:crypto';

/**
 * Reading the v3 key material a merchant downloads: the merchant private key (apiclient_key.pem),
 * its certificate (apiclient_cert.pem, for its serial), the WeChat Pay public key (pub_key.pem).
 * Each throws a KeyMaterialError naming what is wrong, for the config to put in one line.
 */

export class KeyMaterialError extends Error {
  override readonly name = 'KeyMaterialError';
}

export function readPrivateKey(pem: string | Buffer): crypto.KeyObject {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pem);
  } catch (err) {
    throw new KeyMaterialError(`is not a PEM private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new KeyMaterialError(`is a ${key.asymmetricKeyType ?? 'non-RSA'} key, not RSA`);
  return key;
}

export function readPublicKey(pem: string | Buffer): crypto.KeyObject {
  const text = Buffer.isBuffer(pem) ? pem.toString('utf8') : pem;
  if (/PRIVATE KEY-----/.test(text)) throw new KeyMaterialError('holds a private key, not the WeChat Pay public key (pub_key.pem)');
  if (/BEGIN CERTIFICATE-----/.test(text)) throw new KeyMaterialError('holds a certificate, not the WeChat Pay public key (pub_key.pem)');
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey(text);
  } catch (err) {
    throw new KeyMaterialError(`is not a PEM public key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new KeyMaterialError(`is a ${key.asymmetricKeyType ?? 'non-RSA'} key, not RSA`);
  return key;
}

/** A certificate's serial as WeChat writes it (upper-case hex), and its public key. */
export function readCertificate(pem: string | Buffer): { serial: string; publicKey: crypto.KeyObject; validTo: Date } {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(pem);
  } catch (err) {
    throw new KeyMaterialError(`is not a PEM certificate (${(err as Error).message})`);
  }
  return { serial: cert.serialNumber.toUpperCase(), publicKey: cert.publicKey, validTo: new Date(cert.validTo) };
}

/** Whether a private key is the one behind a public key (same RSA modulus and exponent). */
export function keysMatch(privateKey: crypto.KeyObject, publicKey: crypto.KeyObject): boolean {
  const mine = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  const theirs = publicKey.export({ format: 'jwk' });
  return mine.n === theirs.n && mine.e === theirs.e;
}
