import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { Invalid } from '../errors';

/**
 * multipart/form-data for the admin's uploads (a product image, a CSV import, a batch of
 * shipments), in memory and bounded: one file (`file`, then in req.file), a size limit, few
 * fields. app.ts mounts each on its path only, after the admin check and BEFORE the CSRF check,
 * which then finds the form's `_csrf` field in the body. Too large a file is a 400 naming the
 * limit in the admin's language (`tooLargeKey`, with {mb}).
 */
export function fileUpload(maxBytes: number, tooLargeKey: string): RequestHandler {
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
