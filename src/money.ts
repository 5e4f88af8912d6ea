/**
 * Money is integer fen from the price column to the QR code. This is the one place a price is
 * turned into text for people, and the one place yuan text is read back into fen (no floats).
 */

export function assertFen(fen: number): number {
  if (!Number.isSafeInteger(fen)) throw new TypeError(`amount must be an integer number of fen, got ${fen}`);
  return fen;
}

/** 1234 -> "12.34"; -5 -> "-0.05" */
export function fenToYuanString(fen: number): string {
  assertFen(fen);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.floor(abs / 100);
  const cents = abs % 100;
  return `${sign}${yuan}.${cents.toString().padStart(2, '0')}`;
}

/** 1234 -> "¥12.34", with thousands separators for the yuan part: 123456789 -> "¥1,234,567.89" */
export function formatFen(fen: number): string {
  const plain = fenToYuanString(fen);
  const negative = plain.startsWith('-');
  const [yuan = '0', cents = '00'] = (negative ? plain.slice(1) : plain).split('.');
  const grouped = yuan.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}¥${grouped}.${cents}`;
}

/** "12.34" / "12.3" / "12" -> fen; anything else (more than 2 decimals, signs, spaces) -> undefined */
export function yuanStringToFen(text: string): number | undefined {
  const match = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, yuan = '0', cents = ''] = match;
  return Number(yuan) * 100 + Number(cents.padEnd(2, '0'));
}
