import type { RequestHandler } from 'express';
import { fileUpload } from '../http/uploads';
import { MAX_CSV_BYTES } from '../shipping/csv-read';

/**
 * The batch shipment's file (multipart/form-data, in req.file): read before the CSRF check so that
 * the form's `_csrf` field is seen; app.ts mounts it on this one path after the member's check.
 */
export const BATCH_UPLOAD_PATH = '/admin/shipping/batch';
export const batchUpload: RequestHandler = fileUpload(MAX_CSV_BYTES, 'ship.batch.tooLarge');
