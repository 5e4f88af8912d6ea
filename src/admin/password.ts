import crypto from 'node:crypto';
import { sameBytes } from '../timing-safe';

/**
 * Admin passwords: `scrypt$N=<cost>,r=<block>,p=<parallel>$<salt>$<hash>` (salt and hash in
 * base64url), made by `npm run admin:hash`, checked in constant time. The parameters travel with
 * the hash, so a stronger setting later does not invalidate hashes made today.
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 2^15 x 8 = 32 MiB and some tens of milliseconds per check: plenty for one admin login. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

export interface PasswordHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

/** Why a configured hash cannot be used; names the usual cause. */
export class BadPasswordHash extends Error {
  constructor(detail: string) {
    super(`ADMIN_PASSWORD_HASH is not a hash made by \`npm run admin:hash\`: ${detail}`);
    this.name = 'BadPasswordHash';
  }
}

function maxmemOf(params: ScryptParams): number {
  // scrypt needs 128 * N * r * p bytes, plus a margin
  return 128 * params.N * params.r * params.p + 32 * 1024 * 1024;
}

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    crypto.scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...params, maxmem: maxmemOf(params) }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function format(params: ScryptParams, salt: Buffer, hash: Buffer): string {
  return `scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  if (password.length === 0) throw new RangeError('the password must not be empty');
  const salt = crypto.randomBytes(SALT_LENGTH);
  return format(params, salt, await scrypt(password, salt, params));
}

/** The same, synchronously: for the one-time password made while the app is built. */
export function hashPasswordSync(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): string {
  const salt = crypto.randomBytes(SALT_LENGTH);
  return format(params, salt, crypto.scryptSync(password.normalize('NFC'), salt, KEY_LENGTH, { ...params, maxmem: maxmemOf(params) }));
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Reads `scrypt$N=..,r=..,p=..$salt$hash`; throws BadPasswordHash with the reason. */
export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split('$');
  if (parts.length !== 4 || parts[0] !== 'scrypt') throw new BadPasswordHash('expected scrypt$<params>$<salt>$<hash>');
  const [, paramText = '', saltText = '', hashText = ''] = parts;
  const m = /^N=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})$/.exec(paramText);
  if (!m) throw new BadPasswordHash('the parameters must read N=<n>,r=<r>,p=<p>');
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // bounds keep a hostile or mistyped hash from eating the machine at every login
  if (params.N < 2 ** 10 || params.N > 2 ** 20 || (params.N & (params.N - 1)) !== 0) throw new BadPasswordHash('N must be a power of two from 1024 to 1048576');
  if (params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) throw new BadPasswordHash('r must be 1..32 and p 1..16');
  if (!B64URL.test(saltText) || !B64URL.test(hashText)) throw new BadPasswordHash('salt and hash must be base64url');
  const salt = Buffer.from(saltText, 'base64url');
  const hash = Buffer.from(hashText, 'base64url');
  if (salt.length < 8) throw new BadPasswordHash('the salt is too short');
  if (hash.length < 16 || hash.length > 64) throw new BadPasswordHash('the hash has an unexpected length');
  return { params, salt, hash };
}

/** Constant-time check of a password against a parsed hash. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const candidate = await new Promise<Buffer>((resolve, reject) => {
    crypto.scrypt(password.normalize('NFC'), stored.salt, stored.hash.length, { ...stored.params, maxmem: maxmemOf(stored.params) }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
  return sameBytes(candidate, stored.hash);
}

/** A one-time password people can type: 20 characters of an unambiguous alphabet (~100 bits). */
export function randomPassword(length = 20): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[crypto.randomInt(alphabet.length)];
  return out;
}
