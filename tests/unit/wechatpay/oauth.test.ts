import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WxOauthError, WxTransportError, exchangeOauthCode, oauthAuthorizeUrl } from '../../../src/wechatpay';

/**
 * The web authorization's code exchange over real HTTP against a local stand-in for
 * api.weixin.qq.com: WeChat's JSON answers, and each way the wire can fail (bounded like the
 * payment API's calls, through the same transport).
 */
type Answer = { status?: number; body: string } | 'hang' | 'destroy';
let answer: () => Answer;
let lastUrl = '';
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    lastUrl = req.url ?? '';
    const a = answer();
    if (a === 'hang') return;
    if (a === 'destroy') return req.socket.destroy();
    res.writeHead(a.status ?? 200, { 'Content-Type': 'application/json' }).end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const input = { appId: 'wxd930ea5d5a258f4f', secret: 'a'.repeat(32), code: '061Abc' };
const failure = (p: Promise<unknown>) => p.then(() => new Error('resolved'), (err: unknown) => err as Error);

describe('exchangeOauthCode', () => {
  test("sends appid, secret, code and grant_type to sns/oauth2/access_token and returns WeChat's openid", async () => {
    answer = () => ({ body: JSON.stringify({ access_token: 't', expires_in: 7200, refresh_token: 'r', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', scope: 'snsapi_base' }) });
    expect(await exchangeOauthCode({ base, ...input })).toEqual({ openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', scope: 'snsapi_base' });
    const url = new URL(lastUrl, base);
    expect(url.pathname).toBe('/sns/oauth2/access_token');
    expect(Object.fromEntries(url.searchParams)).toEqual({ appid: input.appId, secret: input.secret, code: input.code, grant_type: 'authorization_code' });
  });

  test("WeChat's errcode is a WxOauthError naming it", async () => {
    answer = () => ({ body: JSON.stringify({ errcode: 40163, errmsg: 'code been used' }) });
    const err = await failure(exchangeOauthCode({ base, ...input }));
    expect(err).toBeInstanceOf(WxOauthError);
    expect((err as WxOauthError).errcode).toBe(40163);
    expect(err.message).toMatch(/single use/);
  });

  const wireFailures: [string, Answer, RegExp][] = [
    ['an HTTP 502', { status: 502, body: 'Bad Gateway' }, /answered HTTP 502/],
    ['an answer that is not JSON', { body: '<html>' }, /did not answer JSON/],
    ['an answer without an openid', { body: '{"scope":"snsapi_base"}' }, /without an openid/],
    ['an answer larger than 16 KiB', { body: JSON.stringify({ openid: 'o', pad: 'x'.repeat(17 * 1024) }) }, /larger than 16384 bytes/],
    ['a dropped connection', 'destroy', /could not reach|broke off/],
  ];
  test.each(wireFailures)('%s is a WxTransportError', async (_name, given, message) => {
    answer = () => given;
    const err = await failure(exchangeOauthCode({ base, ...input }));
    expect(err).toBeInstanceOf(WxTransportError);
    expect(err.message).toMatch(message);
  });

  test('no answer within timeoutMs is a WxTransportError (timed out)', async () => {
    answer = () => 'hang';
    const err = await failure(exchangeOauthCode({ base, ...input, timeoutMs: 200 }));
    expect(err).toBeInstanceOf(WxTransportError);
    expect(err.message).toMatch(/timed out/);
  });

  test('a code that cannot be one is refused without a call (40029)', async () => {
    lastUrl = '';
    const err = await failure(exchangeOauthCode({ base, ...input, code: 'a b' }));
    expect((err as WxOauthError).errcode).toBe(40029);
    expect(lastUrl).toBe('');
  });
});

describe('oauthAuthorizeUrl', () => {
  test("WeChat's parameter order and #wechat_redirect at the end; a state WeChat would mangle is refused", () => {
    expect(oauthAuthorizeUrl({ appId: 'wxd930ea5d5a258f4f', redirectUri: 'https://shop.example.com/pay/oauth', state: 'abc123' })).toBe(
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxd930ea5d5a258f4f&redirect_uri=https%3A%2F%2Fshop.example.com%2Fpay%2Foauth&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect',
    );
    expect(() => oauthAuthorizeUrl({ appId: 'wx1', redirectUri: 'https://x/', state: 'a-b' })).toThrow(TypeError);
  });
});
