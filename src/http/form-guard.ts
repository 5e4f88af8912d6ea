import type { RequestHandler } from 'express';
import { Invalid } from '../errors';

/**
 * C0 controls other than tab, line feed and carriage return, DEL, and the C1 controls. NUL in
 * particular cannot be stored in a PostgreSQL text column: without this check it became a 500.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

function hasControl(value: unknown): boolean {
  if (typeof value === 'string') return CONTROL_CHARACTER.test(value);
  if (Array.isArray(value)) return value.some(hasControl);
  return false;
}

/**
 * Refuses a form whose fields (or names) carry control characters, with a 400 and a sentence in
 * the shopper's language, before any route or service sees it: nothing is stored or changed.
 */
export const refuseControlCharacters: RequestHandler = (req, _res, next) => {
  // a GET form (the admin's filters) sends its fields in the query string
  for (const fields of [req.body as Record<string, unknown> | undefined, req.query as Record<string, unknown>]) {
    if (!fields || typeof fields !== 'object') continue;
    for (const [name, value] of Object.entries(fields)) {
      if (CONTROL_CHARACTER.test(name) || hasControl(value)) {
        return next(new Invalid(`form field ${JSON.stringify(name.replace(CONTROL_CHARACTER, '?'))} holds control characters`, 'error.controlChars'));
      }
    }
  }
  next();
};

/**
 * Pages that show a receiver's name, phone or address (checkout, pay pages, the admin) must not be
 * kept by the browser or a shared proxy: `Cache-Control: no-store`.
 */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};
