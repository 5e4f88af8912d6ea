import http from 'node:http';
import https from 'node:https';
import { WxV3TransportError } from './errors';
import { authorizationHeader, newNonce, type RequestSigner } from './sign';
import { verifyWechatSignature, WxV3SignatureError, type WechatKeyring } from './verify';

/**
 * The APIv3 HTTP client: JSON bodies signed with the merchant private key, `Wechatpay-Serial`
 * always sent, every 2xx answer verified over its raw bytes before it is parsed. A non-2xx answer
 * is a WxV3ApiError with WeChat's code and message (unverified: error answers may come unsigned).
 */

export interface WxV3ClientOptions extends RequestSigner {
  /** https://api.mch.weixin.qq.com, or the simulator's <origin>/wxsim (its path is signed as sent) */
  baseUrl: string;
  keyring: WechatKeyring;
  /** the serial (PUB_KEY_ID_… or a platform certificate's) we expect WeChat to sign with */
  wechatpaySerial: () => string;
  clock: () => Date;
  timeoutMs?: number;
  maxBytes?: number;
}

/** WeChat answered, with an error status: its `code` (e.g. ORDER_NOT_EXIST) and message, as it said them. */
export class WxV3ApiError extends Error {
  override readonly name = 'WxV3ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`WeChat Pay answered HTTP ${status} ${code}: ${detail}`);
  }
}

export interface V3Answer {
  status: number;
  /** the parsed JSON body (undefined for 204) */
  json: unknown;
}

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export const V3_USER_AGENT = 'wxpay-checkout (node)';

function send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, maxBytes: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const where = `${url.origin}${url.pathname}`;
    let done = false;
    const finish = (err: Error | undefined, answer?: RawAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        request.destroy();
        reject(err);
      } else resolve(answer as RawAnswer);
    };
    const timer = setTimeout(() => finish(new WxV3TransportError(`no answer from ${where} within ${timeoutMs} ms (timed out)`)), timeoutMs);
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, { method, headers: payload ? { ...headers, 'Content-Length': String(payload.length) } : headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return finish(new WxV3TransportError(`the answer from ${where} is larger than ${maxBytes} bytes`));
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (cause) => finish(new WxV3TransportError(`the answer from ${where} broke off: ${cause.message}`, { cause })));
    });
    request.on('error', (cause) => finish(new WxV3TransportError(`could not reach WeChat Pay at ${where}: ${cause.message}`, { cause })));
    request.end(payload);
  });
}

export interface WxV3Client {
  /** one signed call; `path` from /v3/... with its query; `body` is sent as compact JSON */
  call(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<V3Answer>;
  /** a signed GET of a download_url WeChat gave (a bill): its bytes, unsigned (the caller checks the digest WeChat gave) */
  download(url: string): Promise<Buffer>;
  readonly signer: RequestSigner;
}

export function createWxV3Client(options: WxV3ClientOptions): WxV3Client {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const signedHeaders = (method: string, url: URL, text: string): Record<string, string> => ({
    Authorization: authorizationHeader(options, { method, pathWithQuery: `${url.pathname}${url.search}`, timestamp: Math.floor(options.clock().getTime() / 1000), nonce: newNonce(), body: text }),
    Accept: 'application/json',
    'User-Agent': V3_USER_AGENT,
    'Wechatpay-Serial': options.wechatpaySerial(),
  });
  return {
    signer: { mchId: options.mchId, serial: options.serial, privateKey: options.privateKey },
    async download(link) {
      const url = new URL(link);
      if (url.origin !== base.origin) throw new WxV3TransportError(`the download_url ${url.origin} is not WeChat Pay's host ${base.origin}`);
      const answer = await send(url, 'GET', signedHeaders('GET', url, ''), undefined, timeoutMs, 64 * 1024 * 1024);
      if (answer.status !== 200) throw new WxV3ApiError(answer.status, `HTTP_${answer.status}`, answer.body.toString('utf8').slice(0, 200));
      return answer.body;
    },
    async call(method, path, body) {
      const url = new URL(path.replace(/^\//, ''), base);
      const text = body === undefined ? '' : JSON.stringify(body);
      const headers = signedHeaders(method, url, text);
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const answer = await send(url, method, headers, body === undefined ? undefined : text, timeoutMs, maxBytes);
      if (answer.status < 200 || answer.status > 299) {
        let code = 'HTTP_' + answer.status;
        let message = '';
        try {
          const error = JSON.parse(answer.body.toString('utf8')) as { code?: unknown; message?: unknown };
          if (typeof error.code === 'string') code = error.code;
          if (typeof error.message === 'string') message = error.message;
        } catch {
          message = answer.body.toString('utf8').slice(0, 200);
        }
        throw new WxV3ApiError(answer.status, code, message);
      }
      try {
        verifyWechatSignature(answer.headers, answer.body, options.keyring, options.clock());
      } catch (err) {
        if (err instanceof WxV3SignatureError) throw new WxV3TransportError(`the answer of ${method} ${url.pathname} does not prove itself: ${err.message}`, { cause: err });
        throw err;
      }
      if (answer.status === 204 || answer.body.length === 0) return { status: answer.status, json: undefined };
      try {
        return { status: answer.status, json: JSON.parse(answer.body.toString('utf8')) as unknown };
      } catch (cause) {
        throw new WxV3TransportError(`the answer of ${method} ${url.pathname} is not JSON`, { cause });
      }
    },
  };
}

