import http from 'node:http';
import https from 'node:https';
import { WxTransportError } from './errors';

/**
 * One HTTP call to WeChat and its whole answer, bounded: at most `maxBytes` (else `tooLarge()`),
 * within `timeoutMs` for the whole exchange (not per socket read), a non-2xx status or an answer
 * that breaks off a WxTransportError. The payment API (POST XML, src/wechatpay/client.ts) and the
 * web authorization (GET JSON, src/wechatpay/oauth.ts) both call through here.
 */
export interface FetchOptions {
  method: 'GET' | 'POST';
  body?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  agent?: http.Agent;
  tooLarge: () => Error;
  /** who is called, for the messages: "WeChat Pay" */
  service: string;
  /** what to check, appended to the message of a non-2xx status and of an unreachable host */
  statusHint: string;
  reachHint: string;
}

export function fetchBody(url: URL, options: FetchOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const finish = (err: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === undefined) {
        resolve(value ?? Buffer.alloc(0));
      } else {
        request?.destroy();
        reject(err);
      }
    };
    const where = `${url.origin}${url.pathname}`;
    const timer = setTimeout(
      () => finish(new WxTransportError(`no answer from ${where} within ${options.timeoutMs} ms (timed out)`, { cause: new Error('timeout') })),
      options.timeoutMs,
    );
    const payload = options.body === undefined ? undefined : Buffer.from(options.body, 'utf8');
    const transport = url.protocol === 'https:' ? https : http;
    try {
      request = transport.request(
        url,
        {
          method: options.method,
          agent: options.agent,
          headers: payload === undefined ? options.headers : { ...options.headers, 'Content-Length': payload.length },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            res.resume();
            finish(new WxTransportError(`${where} answered HTTP ${status}${options.statusHint}`, { status }));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > options.maxBytes) {
              finish(options.tooLarge());
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => finish(undefined, Buffer.concat(chunks)));
          res.on('error', (cause) => finish(new WxTransportError(`the answer from ${where} broke off: ${cause.message}`, { cause })));
          res.on('close', () => {
            if (!res.complete) finish(new WxTransportError(`the answer from ${where} broke off`));
          });
        },
      );
    } catch (cause) {
      finish(new WxTransportError(`cannot call ${where}: ${(cause as Error).message}`, { cause }));
      return;
    }
    request.on('error', (cause) => finish(new WxTransportError(`could not reach ${options.service} at ${where}: ${cause.message}${options.reachHint}`, { cause })));
    request.end(payload);
  });
}
