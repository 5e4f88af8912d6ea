import type { Response } from 'express';

/**
 * CSV as spreadsheet programs read it (RFC 4180): UTF-8 with a BOM so that Excel shows Chinese,
 * CRLF line ends, a cell quoted when it holds a comma, a quote, a line break or edge spaces.
 * A text cell that a spreadsheet would run as a formula (= + - @, tab, CR) is prefixed with an
 * apostrophe (OWASP "CSV injection"); numbers are written as they are. A text of 12 digits or more
 * (a payment number, a WeChat transaction id, a tracking number) is written `="..."`, which Excel
 * reads as that text: as a number it would show 2.02612E+23 and lose its last digits for good
 * (Excel keeps 15 significant digits). Only digits go inside, so this formula is never a
 * spreadsheet's injection; our own batch upload reads it back as the text (src/shipping/csv-read).
 */

export const UTF8_BOM = '\uFEFF';

/** digits a spreadsheet would read as a number and show in scientific notation (Excel: more than 11) */
const LONG_NUMBER = /^\d{12,}$/;

export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  if (LONG_NUMBER.test(value)) return `="${value}"`;
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly (string | number | null | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * Writes a chunk and, when the socket's buffer is full, waits until it drains (backpressure), so
 * a slow client holds at most one batch in our memory. Resolves false once the client is gone.
 */
export async function writeChunk(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk, 'utf8')) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}
