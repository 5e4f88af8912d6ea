import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { Invalid } from '../errors';

/**
 * multipart/form-data for the admin's two uploads (a product image, a CSV import), in memory and
 * bounded: one file, a size limit, few fields. app.ts mounts it on those paths only, after the
 * admin check and BEFORE the CSRF check, which then finds the form's `_csrf` field in the body.
 */

export const IMAGE_UPLOAD_PATH = '/admin/products/:id/image';
export const CSV_UPLOAD_PATHS = ['/admin/products/import', '/admin/products/import/preview'];
/** a CSV of 10,000 lines is about 1-2 MB */
export const CSV_MAX_BYTES = 10 * 1024 * 1024;

function bounded(maxBytes: number, tooLargeKey: string): RequestHandler {
  const parse = multer({ storage: multer.memoryStorage(), limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 4096, parts: 30 } }).single('file');
  const translate: ErrorRequestHandler = (err, _req, _res, next) => {
    if (err instanceof multer.MulterError) {
      if (err.code === 'LIMIT_FILE_SIZE') return next(new Invalid(`upload over ${maxBytes} bytes`, tooLargeKey, { mb: Math.round(maxBytes / 1024 / 1024) }));
      return next(new Invalid(`bad upload: ${err.code}`, 'media.error.missing'));
    }
    next(err);
  };
  return (req, res, next) => parse(req, res, (err?: unknown) => (err ? translate(err, req, res, next) : next()));
}

export const imageUpload = (maxBytes: number): RequestHandler => bounded(maxBytes, 'media.error.tooLarge');
export const csvUpload: RequestHandler = bounded(CSV_MAX_BYTES, 'import.error.tooLarge');
