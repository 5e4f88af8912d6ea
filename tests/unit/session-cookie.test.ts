// express-session signs its cookie with cookie-signature; the status poll reads it on its own
// eslint-disable-next-line @typescript-eslint/no-require-imports
const signature = require('cookie-signature') as { sign(value: string, secret: string): string };
import { SESSION_COOKIE_NAME, sessionIdFromCookieHeader } from '../../src/http/session-cookie';

const SECRET = 'a-session-secret-of-some-length-0123456789';
const cookieFor = (sid: string, secret = SECRET) => `${SESSION_COOKIE_NAME}=${encodeURIComponent(`s:${signature.sign(sid, secret)}`)}`;

describe('reading the session cookie as express-session signs it', () => {
  test('a cookie signed by express-session\'s own signer gives its session id', () => {
    expect(sessionIdFromCookieHeader(`lang=en; ${cookieFor('Abc_123-xyz')}; other=1`, SECRET)).toBe('Abc_123-xyz');
  });

  test.each([
    ['no header', undefined],
    ['no session cookie', 'lang=en'],
    ['signed with another secret', cookieFor('Abc_123-xyz', 'another-secret-entirely-0123456789abcdef')],
    ['a tampered session id', cookieFor('Abc_123-xyz').replace('Abc', 'Abd')],
    ['unsigned', `${SESSION_COOKIE_NAME}=Abc_123-xyz`],
    ['bad percent-encoding', `${SESSION_COOKIE_NAME}=s%3A%E0%A4%A`],
  ])('%s gives none', (_name, header) => {
    expect(sessionIdFromCookieHeader(header, SECRET)).toBeUndefined();
  });
});
