import { adminCredentials, safeNext } from '../../../src/admin/auth';
import { hashPasswordSync, verifyPassword } from '../../../src/admin/password';

describe('where the login sends the admin back to', () => {
  test.each([
    ['/admin', '/admin'],
    ['/admin/paylog?state=SUCCESS&q=42', '/admin/paylog?state=SUCCESS&q=42'],
    ['/admin/paylog/P000001', '/admin/paylog/P000001'],
  ])('%s is kept', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  test.each([
    [undefined],
    [['/admin/paylog']],
    ['https://evil.example/admin'],
    ['//evil.example/admin'],
    ['/\\evil.example'],
    ['/admin\\..\\cart'],
    ['/admin/../cart'],
    ['/adminx'],
    ['/cart'],
    ['/admin/login?next=/admin'],
    ['/admin\n/paylog'],
    ['javascript:alert(1)'],
    ['/admin/' + 'x'.repeat(3000)],
  ])('%j goes to /admin instead', (next) => {
    expect(safeNext(next)).toBe('/admin');
  });
});

describe('the admin credentials', () => {
  test('a configured hash is used, and nothing is logged', async () => {
    const warn = jest.fn();
    const creds = adminCredentials({ user: 'boss', passwordHash: hashPasswordSync('s3cret-long-pass', { N: 1024, r: 8, p: 1 }) }, { warn });
    expect(creds.user).toBe('boss');
    expect(await verifyPassword('s3cret-long-pass', creds.hash)).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  test('without a hash, a random password is made and logged once, and it is the one that verifies', async () => {
    const warn = jest.fn();
    const creds = adminCredentials({ user: 'boss', passwordHash: undefined }, { warn });
    expect(warn).toHaveBeenCalledTimes(1);
    const password = /one-time password (\S+)/.exec(String(warn.mock.calls[0]?.[1]))?.[1] ?? '';
    expect(await verifyPassword(password, creds.hash)).toBe(true);
    for (const guess of ['admin', 'password', 'boss', '']) expect(await verifyPassword(guess, creds.hash)).toBe(false);
  });

  test('a malformed hash stops the start with the reason', () => {
    expect(() => adminCredentials({ user: 'boss', passwordHash: 'scrypt$nope' }, { warn: jest.fn() })).toThrow(/ADMIN_PASSWORD_HASH .*npm run admin:hash/);
  });
});
