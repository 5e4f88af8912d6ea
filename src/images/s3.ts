import crypto from 'node:crypto';

/**
 * The two calls the image store needs from an S3-compatible store (AWS S3, MinIO, Aliyun OSS and
 * Tencent COS in S3 mode...): PutObject and GetObject, path-style (`<endpoint>/<bucket>/<key>`),
 * signed with AWS Signature Version 4. About 100 lines of our own instead of the AWS SDK (dozens of
 * packages) for two calls; `signV4` is checked against AWS's published example signature.
 */

export interface S3Options {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  fetch?: typeof fetch;
  now?: () => Date;
}

export interface S3Client {
  putObject(key: string, body: Buffer, headers: { contentType: string; cacheControl?: string }): Promise<void>;
  getObject(key: string): Promise<{ bytes: Buffer; contentType: string | undefined } | undefined>;
}

const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => crypto.createHmac('sha256', key).update(data).digest();

/** RFC 3986 escaping as SigV4 wants it ('/' kept in a path). */
const encodePath = (path: string) => path.split('/').map((part) => encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');

export interface SignInput {
  method: string;
  /** the path, unescaped */
  path: string;
  /** lower-case names; host and x-amz-date included */
  headers: Record<string, string>;
  payloadHash: string;
  region: string;
  service?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** yyyyMMddTHHmmssZ */
  amzDate: string;
}

/** The Authorization header of a SigV4 request (no query string). */
export function signV4(input: SignInput): string {
  const service = input.service ?? 's3';
  const names = Object.keys(input.headers).map((n) => n.toLowerCase()).sort();
  const canonicalHeaders = names.map((n) => `${n}:${String(input.headers[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [input.method, encodePath(input.path), '', canonicalHeaders, signedHeaders, input.payloadHash].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, day), input.region), service), 'aws4_request');
  const signature = crypto.createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

export function createS3Client(options: S3Options): S3Client {
  const base = new URL(options.endpoint);
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  const request = async (method: 'GET' | 'PUT', key: string, body?: Buffer, extra: Record<string, string> = {}) => {
    const path = `${base.pathname.replace(/\/+$/, '')}/${options.bucket}/${key}`;
    const amzDate = now().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const payloadHash = sha256(body ?? '');
    const headers: Record<string, string> = { host: base.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash, ...extra };
    const authorization = signV4({ method, path, headers, payloadHash, region: options.region, accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, amzDate });
    const { host: _host, ...sent } = headers;
    return doFetch(`${base.origin}${encodePath(path)}`, { method, headers: { ...sent, authorization }, ...(body ? { body: new Uint8Array(body) } : {}) });
  };
  return {
    async putObject(key, body, headers) {
      const res = await request('PUT', key, body, { 'content-type': headers.contentType, ...(headers.cacheControl ? { 'cache-control': headers.cacheControl } : {}) });
      if (!res.ok) throw new Error(`S3 PUT ${key}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    },
    async getObject(key) {
      const res = await request('GET', key);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`S3 GET ${key}: HTTP ${res.status}`);
      return { bytes: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? undefined };
    },
  };
}
