import type { Response } from 'express';

/**
 * CSV as spreadsheet programs read it (RFC 4180): UTF-8 with a BOM so that Excel shows Chinese,
 * CRLF line ends, a cell quoted when it holds a comma, a quote, a line break or edge spaces.
 * A text cell that a spreadsheet would run as a formula (= + - @, tab, CR) is prefixed with an
 * apostrophe (OWASP "CSV injection"); numbers are written as they are.
 */

export const UTF8_BOM = '\uFEFF';

export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
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
