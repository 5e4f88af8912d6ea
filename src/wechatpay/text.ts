/**
 * WeChat measures its String(n) text fields in UTF-8 bytes, not characters: unifiedorder refuses a
 * body of 44 Chinese characters (132 bytes) with return_msg "body参数长度有误", and its newer gateway
 * says "字节数 144,大于最大值 127" for `body`. So body and attach are held to 127 bytes here, on
 * both sides of the wire.
 */
export const BODY_MAX_BYTES = 127;
export const ATTACH_MAX_BYTES = 127;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary (never half a character),
 * ending in `ellipsis` when it was cut. Whole code points are kept; `maxBytes` must leave room for
 * the ellipsis.
 */
export function truncateUtf8(text: string, maxBytes: number, ellipsis = '…'): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const budget = maxBytes - utf8Bytes(ellipsis);
  if (budget < 0) throw new RangeError(`maxBytes ${maxBytes} leaves no room for the ellipsis`);
  let used = 0;
  let out = '';
  for (const char of text) {
    const size = utf8Bytes(char);
    if (used + size > budget) break;
    used += size;
    out += char;
  }
  return out + ellipsis;
}
