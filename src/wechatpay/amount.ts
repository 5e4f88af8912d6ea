/**
 * Amounts: WeChat's XML carries integer fen as strings ("1234"); its bills carry yuan ("12.34").
 * Both are converted with string arithmetic only: a float never touches money.
 */

/** A non-negative integer fen amount from WeChat's text, or undefined when it is not one. */
export function parseFen(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A positive integer fen amount, as every request needs. */
export function isPositiveFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * '12.34' -> 1234, '0.01' -> 1, '5' -> 500, '0.0' -> 0, '-0.27' -> -27, '0.01000' -> 1.
 * Digits beyond the second decimal must be zeros: a bill's fee column (手续费, e.g. '0.00600') can
 * hold fractions of a fen and is not an amount this function converts. Throws RangeError otherwise.
 */
export function yuanToFen(yuan: string): number {
  const m = typeof yuan === 'string' ? /^(-?)(\d+)(?:\.(\d+))?$/.exec(yuan.trim()) : null;
  if (m === null) throw new RangeError(`not a yuan amount: ${JSON.stringify(yuan)}`);
  const [, sign = '', whole = '', decimals = ''] = m;
  if (!/^0*$/.test(decimals.slice(2))) throw new RangeError(`not a whole number of fen: ${yuan}`);
  const fen = Number(whole + decimals.slice(0, 2).padEnd(2, '0'));
  if (!Number.isSafeInteger(fen)) throw new RangeError(`yuan amount out of range: ${yuan}`);
  return sign === '-' && fen !== 0 ? -fen : fen;
}

/** 1234 -> '12.34', 1 -> '0.01', -27 -> '-0.27', as bills write yuan (the shop's one formatter). */
export { fenToYuanString as fenToYuan } from '../money';
