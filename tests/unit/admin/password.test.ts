import { BadPasswordHash, hashPassword, hashPasswordSync, parsePasswordHash, randomPassword, verifyPassword } from '../../../src/admin/password';
import { sameText } from '../../../src/timing-safe';

const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('admin password hashing', () => {
  test('a hash reads scrypt$N=..,r=..,p=..$salt$hash and verifies only its own password', async () => {
    const hash = await hashPassword('correct horse', FAST);
    expect(hash).toMatch(/^scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    const parsed = parsePasswordHash(hash);
    expect(await verifyPassword('correct horse', parsed)).toBe(true);
    expect(await verifyPassword('correct hors', parsed)).toBe(false);
    expect(await verifyPassword('', parsed)).toBe(false);
  });

  test('two hashes of one password differ (a random salt each)', async () => {
    expect(await hashPassword('same', FAST)).not.toBe(await hashPassword('same', FAST));
  });

  test('the synchronous variant makes hashes the async check accepts', async () => {
    expect(await verifyPassword('pw-sync', parsePasswordHash(hashPasswordSync('pw-sync', FAST)))).toBe(true);
  });

  test('unicode passwords are normalised (NFC) before hashing', async () => {
    const parsed = parsePasswordHash(await hashPassword('caf\u00e9', FAST));
    expect(await verifyPassword('cafe\u0301', parsed)).toBe(true);
  });

  test.each([
    ['bcrypt$x$y$z', /expected scrypt/],
    ['scrypt$N=1024,r=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /parameters/],
    ['scrypt$N=1000,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /power of two/],
    ['scrypt$N=4194304,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /power of two/],
    ['scrypt$N=1024,r=99,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /r must be/],
    ['scrypt$N=1024,r=8,p=1$salt!$aGFzaGhhc2hoYXNoaGFzaA', /base64url/],
    ['scrypt$N=1024,r=8,p=1$c2Fs$aGFzaGhhc2hoYXNoaGFzaA', /salt is too short/],
    ['scrypt$N=1024,r=8,p=1$c2FsdHNhbHQ$aGFzaA', /unexpected length/],
  ])('a malformed hash %s is refused with the reason', (text, reason) => {
    expect(() => parsePasswordHash(text)).toThrow(BadPasswordHash);
    expect(() => parsePasswordHash(text)).toThrow(reason);
  });

  test('sameText compares texts of any length', () => {
    expect(sameText('boss', 'boss')).toBe(true);
    expect(sameText('boss', 'Boss')).toBe(false);
    expect(sameText('boss', 'boss ')).toBe(false);
    expect(sameText('', '')).toBe(true);
  });

  test('one-time passwords are 20 characters of an unambiguous alphabet and never repeat', () => {
    const seen = new Set(Array.from({ length: 200 }, () => randomPassword()));
    expect(seen.size).toBe(200);
    for (const pw of seen) expect(pw).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{20}$/);
  });
});
