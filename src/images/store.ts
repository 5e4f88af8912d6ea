import type { Knex } from 'knex';
import type { S3Client } from './s3';

/**
 * Where the resized images live, so that every instance serves the same files: the shop's own
 * PostgreSQL (`images`, bytea; the default, nothing to set up), or an S3-compatible bucket when
 * IMAGE_STORE=s3. Files are written once under their content key and never change.
 */
export interface ImageStore {
  readonly kind: 'database' | 's3';
  put(key: string, size: string, contentType: string, bytes: Buffer, dims: { width: number; height: number }): Promise<void>;
  get(key: string, size: string): Promise<{ contentType: string; bytes: Buffer } | undefined>;
}

type Row = Record<string, unknown>;

export function databaseImageStore(knex: Knex): ImageStore {
  return {
    kind: 'database',
    async put(key, size, contentType, bytes, dims) {
      await knex('images').insert({ key, size, content_type: contentType, bytes, width: dims.width, height: dims.height }).onConflict(['key', 'size']).ignore();
    },
    async get(key, size) {
      const row = (await knex('images').where({ key, size }).first('content_type', 'bytes')) as Row | undefined;
      if (!row) return undefined;
      const bytes = row.bytes instanceof Uint8Array ? Buffer.from(row.bytes) : Buffer.from(String(row.bytes));
      return { contentType: String(row.content_type), bytes };
    },
  };
}

export function s3ImageStore(client: S3Client, prefix: string): ImageStore {
  const objectKey = (key: string, size: string) => `${prefix}${key}/${size}.webp`;
  return {
    kind: 's3',
    async put(key, size, contentType, bytes) {
      await client.putObject(objectKey(key, size), bytes, { contentType, cacheControl: 'public, max-age=31536000, immutable' });
    },
    async get(key, size) {
      const object = await client.getObject(objectKey(key, size));
      return object ? { contentType: object.contentType ?? 'image/webp', bytes: object.bytes } : undefined;
    },
  };
}
