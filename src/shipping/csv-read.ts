/**
 * Reading a CSV a merchant uploads (the batch shipment, 批量发货): UTF-8 with or without a BOM, or
 * GB18030 (what Excel saves on a Chinese Windows), RFC 4180 quoting, a cell Excel or our own export
 * guarded (`="123"`, `'=...`) read back as its text.
 */

export const MAX_CSV_BYTES = 512 * 1024;

/** The text of an uploaded file: UTF-8 when it is valid UTF-8, else GB18030. */
export function decodeUpload(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return new TextDecoder('gb18030').decode(bytes);
  }
}

/** RFC 4180 rows (quotes, doubled quotes, CRLF or LF); blank lines dropped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => r.some((c) => c.trim() !== ''));
}

/** A cell as its text: `="123"` (a guarded long number), a leading apostrophe (a guarded formula) and edge spaces removed. */
export function cellText(raw: string | undefined): string {
  const text = (raw ?? '').trim();
  const formula = /^="(.*)"$/.exec(text);
  if (formula) return (formula[1] as string).replace(/""/g, '"').trim();
  return text.startsWith("'") ? text.slice(1).trim() : text;
}
