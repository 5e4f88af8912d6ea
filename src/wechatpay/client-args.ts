import { isPositiveFen } from './amount';
import { WxArgumentError } from './errors';
import { OUT_REFUND_NO, OUT_TRADE_NO } from './ids';
import { utf8Bytes } from './text';

/**
 * The client's argument checks (client.ts): cheap, and only for programmer mistakes. Each throws
 * WxArgumentError naming the argument and the rule, before anything is sent.
 */

export function text(value: unknown, name: string, max: number, { optional = false, min = 1 } = {}): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string') throw new WxArgumentError(`${name} must be a string`);
  if (value.length < min || value.length > max) {
    throw new WxArgumentError(`${name} must be ${min}..${max} characters, got ${value.length}`);
  }
  return value;
}

/** A text field WeChat measures in UTF-8 bytes (body, attach). */
export function bytesText(value: unknown, name: string, maxBytes: number, { optional = false } = {}): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string' || value === '') throw new WxArgumentError(`${name} must be a non-empty string`);
  const bytes = utf8Bytes(value);
  if (bytes > maxBytes) throw new WxArgumentError(`${name} must be at most ${maxBytes} UTF-8 bytes (WeChat counts bytes: a Chinese character is 3), got ${bytes}`);
  return value;
}

export function pattern(value: unknown, name: string, re: RegExp, rule: string): string {
  if (typeof value !== 'string' || !re.test(value)) throw new WxArgumentError(`${name} must be ${rule}, got ${JSON.stringify(value)}`);
  return value;
}

export const outTradeNoOf = (v: unknown): string => pattern(v, 'outTradeNo', OUT_TRADE_NO, '6..32 of [0-9A-Za-z_-|*]');
export const outRefundNoOf = (v: unknown): string => pattern(v, 'outRefundNo', OUT_REFUND_NO, '1..64 of [0-9A-Za-z_-|*@]');

export function fenOf(value: unknown, name: string): number {
  if (!isPositiveFen(value)) throw new WxArgumentError(`${name} must be a positive integer number of fen, got ${String(value)}`);
  return value;
}

export function notifyUrlOf(value: unknown): string {
  const url = text(value, 'notifyUrl', 256) as string;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WxArgumentError(`notifyUrl is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new WxArgumentError('notifyUrl must be http(s)');
  if (url.includes('?') || url.includes('#')) throw new WxArgumentError('notifyUrl must not carry a query string or fragment');
  return url;
}

export function dateOf(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new WxArgumentError(`${name} must be a valid Date`);
  return value;
}

/** Exactly one of `names` must be a string in `args`. */
export function oneOf<K extends string>(args: object, names: readonly K[], what: string): [K, string] {
  const given = names.filter((name) => (args as Record<string, unknown>)[name] !== undefined);
  const [name] = given;
  if (given.length !== 1 || name === undefined) throw new WxArgumentError(`${what} needs exactly one of ${names.join(', ')}`);
  const value = (args as Record<string, unknown>)[name];
  if (typeof value !== 'string' || value === '' || value.length > 64) throw new WxArgumentError(`${name} must be a non-empty string`);
  return [name, value];
}
