import { z } from 'zod';
import { ConfigError, isHttpUrl, parseWith } from './config-parse';

/** The settings of product images (README "Products"), read by config.ts's loadConfig through its `get`. */

export type ImageConfig = {
  maxBytes: number;
  store: { kind: 'database' } | { kind: 's3'; endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string; prefix: string };
};

/** IMAGE_MAX_MB, IMAGE_STORE (database | s3) and, for s3, S3_ENDPOINT, S3_BUCKET, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_PREFIX. */
export function loadImageConfig(get: (name: string) => string | undefined): ImageConfig {
  const maxMb = parseWith('IMAGE_MAX_MB', z.coerce.number().int().min(1).max(20), get('IMAGE_MAX_MB') ?? '5', 'must be a whole number of megabytes from 1 to 20');
  const kind = parseWith('IMAGE_STORE', z.enum(['database', 's3']), get('IMAGE_STORE') ?? 'database', 'must be database or s3');
  if (kind === 'database') return { maxBytes: maxMb * 1024 * 1024, store: { kind } };
  const need = (name: string) => {
    const value = get(name);
    if (value === undefined) throw new ConfigError(name, 'is required when IMAGE_STORE=s3');
    return value;
  };
  const endpoint = need('S3_ENDPOINT');
  if (!isHttpUrl(endpoint, ['http:', 'https:'])) throw new ConfigError('S3_ENDPOINT', `must be an http(s):// URL (got ${JSON.stringify(endpoint)})`);
  const bucket = need('S3_BUCKET');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError('S3_BUCKET', `must be a bucket name: 3-63 lower-case letters, digits, dots or dashes (got ${JSON.stringify(bucket)})`);
  const region = get('S3_REGION') ?? 'us-east-1';
  if (!/^[a-z0-9-]{2,32}$/.test(region)) throw new ConfigError('S3_REGION', `must be a region name such as us-east-1 or cn-north-1 (got ${JSON.stringify(region)})`);
  const prefix = get('S3_PREFIX') ?? 'products/';
  if (!/^[\w./-]{0,100}$/.test(prefix)) throw new ConfigError('S3_PREFIX', 'must be letters, digits and . _ / - (at most 100)');
  // never echo a secret back into the log
  const secretAccessKey = need('S3_SECRET_ACCESS_KEY');
  return { maxBytes: maxMb * 1024 * 1024, store: { kind, endpoint: endpoint.replace(/\/+$/, ''), bucket, region, accessKeyId: need('S3_ACCESS_KEY_ID'), secretAccessKey, prefix } };
}
