import type { Knex } from 'knex';
import type { ImageConfig } from '../config';
import { processImage } from './process';
import { createS3Client } from './s3';
import { databaseImageStore, s3ImageStore, type ImageStore } from './store';

export { IMAGE_WIDTHS, MAX_MEGAPIXELS, processImage, sniffImage } from './process';
export type { ImageStore } from './store';

/** The store the configuration names: the database (default) or an S3-compatible bucket. */
export function imageStoreFor(config: ImageConfig, knex: Knex): ImageStore {
  if (config.store.kind === 'database') return databaseImageStore(knex);
  const { endpoint, bucket, region, accessKeyId, secretAccessKey, prefix } = config.store;
  return s3ImageStore(createS3Client({ endpoint, bucket, region, accessKeyId, secretAccessKey }), prefix);
}

/** An upload checked, stripped and resized, every size stored; returns its content key. */
export async function storeUpload(store: ImageStore, upload: Buffer): Promise<string> {
  const image = await processImage(upload);
  for (const file of image.files) await store.put(image.key, file.size, file.contentType, file.bytes, { width: file.width, height: file.height });
  return image.key;
}
