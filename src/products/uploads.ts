import type { RequestHandler } from 'express';
import { fileUpload } from '../http/uploads';

/**
 * multipart/form-data for the admin's two uploads (a product image, a CSV import), in memory and
 * bounded: one file, a size limit, few fields. app.ts mounts it on those paths only, after the
 * admin check and BEFORE the CSRF check, which then finds the form's `_csrf` field in the body.
 */

export const IMAGE_UPLOAD_PATH = '/admin/products/:id/image';
export const CSV_UPLOAD_PATHS = ['/admin/products/import', '/admin/products/import/preview'];
/** a CSV of 10,000 lines is about 1-2 MB */
export const CSV_MAX_BYTES = 10 * 1024 * 1024;

export const imageUpload = (maxBytes: number): RequestHandler => fileUpload(maxBytes, 'media.error.tooLarge');
export const csvUpload: RequestHandler = fileUpload(CSV_MAX_BYTES, 'import.error.tooLarge');
