import busboy from 'busboy';
import type { Request, RequestHandler } from 'express';
import { Invalid } from '../errors';
import { MAX_CSV_BYTES } from '../shipping/csv-read';

/**
 * The batch shipment's file upload (multipart/form-data), read before the CSRF check so that the
 * form's `_csrf` field is seen (app.ts mounts it on that one path, after the session): only for
 * an admin's session, one file of at most MAX_CSV_BYTES and a few small fields. Anyone else's
 * request is left unread and is refused further on (no CSRF token, no login).
 */

const uploads = new WeakMap<Request, { bytes: Buffer; tooLarge: boolean }>();

export function uploadedCsv(req: Request): { bytes: Buffer; tooLarge: boolean } | undefined {
  return uploads.get(req);
}

export const csvUpload: RequestHandler = (req, _res, next) => {
  if (req.method !== 'POST' || !req.is('multipart/form-data') || !req.session?.adminUser) return next();
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: MAX_CSV_BYTES, fields: 8, fieldSize: 1024, parts: 10 } });
  } catch {
    return next(new Invalid('bad multipart body', 'ship.batch.badUpload'));
  }
  const fields: Record<string, string> = {};
  const chunks: Buffer[] = [];
  let tooLarge = false;
  let sawFile = false;
  parser.on('field', (name, value) => {
    fields[name] = value;
  });
  parser.on('file', (_name, stream) => {
    sawFile = true;
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('limit', () => {
      tooLarge = true;
    });
  });
  parser.on('error', () => next(new Invalid('bad multipart body', 'ship.batch.badUpload')));
  parser.on('close', () => {
    req.body = fields;
    if (sawFile) uploads.set(req, { bytes: Buffer.concat(chunks), tooLarge });
    next();
  });
  req.pipe(parser);
};
