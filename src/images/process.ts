import crypto from 'node:crypto';
import sharp from 'sharp';
import { Invalid } from '../errors';

/**
 * An uploaded product image made safe and ready to serve, with sharp (libvips): the type judged by
 * the file's own bytes (JPEG, PNG or WebP, whatever its name or the browser said), decoded with a
 * pixel limit (no decompression bomb), turned upright by its EXIF orientation, then re-encoded as
 * WebP at each width the pages use. Re-encoding keeps no metadata: EXIF (GPS, camera, owner) is gone.
 */

export const IMAGE_WIDTHS = [240, 480, 960] as const;
export type ImageWidth = (typeof IMAGE_WIDTHS)[number];
/** the pages show product images at 4:3 (240 x 180 in a list) */
const RATIO = 3 / 4;
export const MAX_MEGAPIXELS = 40;

export type ImageKind = 'jpeg' | 'png' | 'webp';

/** The kind the bytes themselves say, by their signature; undefined for anything else. */
export function sniffImage(bytes: Buffer): ImageKind | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

export interface ProcessedImage {
  /** sha-256 of the upload (hex, 32 characters): the same file uploaded twice is one image */
  key: string;
  files: { size: `w${ImageWidth}`; contentType: 'image/webp'; bytes: Buffer; width: number; height: number }[];
}

export async function processImage(upload: Buffer): Promise<ProcessedImage> {
  const kind = sniffImage(upload);
  if (!kind) throw new Invalid('not a JPEG, PNG or WebP by its content', 'media.error.type');
  let meta: sharp.Metadata;
  try {
    meta = await sharp(upload, { limitInputPixels: MAX_MEGAPIXELS * 1_000_000 }).metadata();
  } catch {
    throw new Invalid('the image does not decode', 'media.error.type');
  }
  // the signature and the decoder must agree (a PNG header on a GIF, say, is refused)
  if (meta.format !== kind) throw new Invalid(`signature ${kind}, decoded as ${meta.format}`, 'media.error.type');
  if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_MEGAPIXELS * 1_000_000) throw new Invalid('too many pixels', 'media.error.tooManyPixels', { mp: MAX_MEGAPIXELS });
  const key = crypto.createHash('sha256').update(upload).digest('hex').slice(0, 32);
  const files: ProcessedImage['files'] = [];
  try {
    for (const width of IMAGE_WIDTHS) {
      const height = Math.round(width * RATIO);
      const { data, info } = await sharp(upload, { limitInputPixels: MAX_MEGAPIXELS * 1_000_000 })
        .rotate()
        .resize({ width, height, fit: 'cover', withoutEnlargement: false })
        .webp({ quality: 80 })
        .toBuffer({ resolveWithObject: true });
      files.push({ size: `w${width}`, contentType: 'image/webp', bytes: data, width: info.width, height: info.height });
    }
  } catch {
    throw new Invalid('the image does not decode', 'media.error.type');
  }
  return { key, files };
}
