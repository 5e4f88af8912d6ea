/**
 * Beijing time (UTC+8, no daylight saving), whatever the server's TZ: the shop's days, the times
 * people read, and the stamp at the head of our payment numbers. The one place the offset lives.
 */
export const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
/** A Beijing day: 24 hours (China keeps no daylight saving). */
export const DAY_MS = 24 * 60 * 60 * 1000;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export interface BeijingParts {
  y: string;
  mo: string;
  day: string;
  h: string;
  mi: string;
  s: string;
}

/** The Beijing calendar fields of an instant, zero-padded. Throws on an invalid Date or a year that is not four digits. */
export function beijingParts(d: Date): BeijingParts {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError('expected a valid Date');
  const b = new Date(d.getTime() + BEIJING_OFFSET_MS);
  const year = b.getUTCFullYear();
  if (year < 1000 || year > 9999) throw new RangeError(`year ${year} cannot be written with four digits`);
  return { y: pad(year, 4), mo: pad(b.getUTCMonth() + 1), day: pad(b.getUTCDate()), h: pad(b.getUTCHours()), mi: pad(b.getUTCMinutes()), s: pad(b.getUTCSeconds()) };
}

/** The instant of a Beijing wall-clock time; undefined when the fields do not name a real one (Feb 30). */
export function fromBeijingParts(y: number, mo: number, day: number, h = 0, mi = 0, s = 0): Date | undefined {
  const utc = Date.UTC(y, mo - 1, day, h, mi, s);
  const check = new Date(utc);
  if (
    Number.isNaN(utc) ||
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi ||
    check.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  return new Date(utc - BEIJING_OFFSET_MS);
}

/** Our compact stamp of an instant: fourteen digits, Beijing date then time (the head of our payment numbers). */
export function beijingStamp(d: Date): string {
  const p = beijingParts(d);
  return `${p.y}${p.mo}${p.day}${p.h}${p.mi}${p.s}`;
}

/** The Beijing calendar date of an instant, 'yyyy-MM-dd'. */
export function beijingDateOf(instant: Date): string {
  const p = beijingParts(instant);
  return `${p.y}-${p.mo}-${p.day}`;
}

/** A real Beijing calendar date 'yyyy-MM-dd' (from 2000) -> the instant its day starts; undefined otherwise. */
export function beijingDayStart(date: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const y = Number(m[1]);
  if (y < 2000) return undefined;
  return fromBeijingParts(y, Number(m[2]), Number(m[3]));
}

/** A moment as people in China read it: Beijing time, "2026-11-25 16:05" (seconds optional). */
export function formatDateTime(d: Date, withSeconds = false): string {
  const p = beijingParts(d);
  return `${p.y}-${p.mo}-${p.day} ${p.h}:${p.mi}${withSeconds ? `:${p.s}` : ''}`;
}
