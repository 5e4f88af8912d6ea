import { BEIJING_OFFSET_MS, beijingParts } from '../beijing-time';

/** WeChat Pay's times are Beijing time (UTC+8, no daylight saving), whatever the server's TZ: written here in WeChat's v2 formats. */

/** `yyyyMMddHHmmss` in Beijing time, as time_start, time_expire and time_end use. */
export function formatBeijingTime(d: Date): string {
  const p = beijingParts(d);
  return `${p.y}${p.mo}${p.day}${p.h}${p.mi}${p.s}`;
}

/** `yyyy-MM-dd HH:mm:ss` in Beijing time: the same moment written for people (the phone's pages). */
export function formatBeijingForPeople(d: Date): string {
  const p = beijingParts(d);
  return `${p.y}-${p.mo}-${p.day} ${p.h}:${p.mi}:${p.s}`;
}

/** `yyyyMMdd` in Beijing time, as bill_date uses. */
export function formatBeijingDate(d: Date): string {
  const p = beijingParts(d);
  return `${p.y}${p.mo}${p.day}`;
}

/** The instant that a Beijing `yyyyMMddHHmmss` names. Throws RangeError on anything else (e.g. Feb 30). */
export function parseBeijingTime(s: string): Date {
  const m = typeof s === 'string' ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s) : null;
  if (m === null) throw new RangeError(`not a yyyyMMddHHmmss time: ${JSON.stringify(s)}`);
  const [y, mo, day, h, mi, sec] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const d = new Date(Date.UTC(y, mo - 1, day, h, mi, sec) - BEIJING_OFFSET_MS);
  // Date.UTC rolls over (Feb 30 -> Mar 2): a round trip that changes the text means a bad date.
  if (Number.isNaN(d.getTime()) || formatBeijingTime(d) !== s) throw new RangeError(`not a real date and time: ${s}`);
  return d;
}

/** True for a real `yyyyMMdd` date (bill_date). */
export function isBeijingDate(s: string): boolean {
  try {
    parseBeijingTime(`${s}000000`);
    return /^\d{8}$/.test(s);
  } catch {
    return false;
  }
}

/** WeChat's `yyyy-MM-dd HH:mm:ss` (Beijing: a refund's success_time) as an instant; undefined when it is not one. */
export function parseBeijingForPeople(text: string | undefined): Date | undefined {
  if (!text || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  try {
    return parseBeijingTime(text.replace(/[- :]/g, ''));
  } catch {
    return undefined;
  }
}
