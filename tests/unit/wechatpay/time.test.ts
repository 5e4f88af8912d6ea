import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { formatBeijingDate, formatBeijingTime, isBeijingDate, parseBeijingTime } from '../../../src/wechatpay';
import { scaled } from '../../helpers/timeouts';

// Jest gives each test file its own copy of process.env, so changing TZ here would not reach the
// process's clock. Each time zone therefore runs in a child process with its own TZ.
const ROOT = path.resolve(__dirname, '../../..');
const PROBE = `
  import { formatBeijingDate, formatBeijingTime, parseBeijingTime } from './src/wechatpay/time';
  const instant = new Date('2023-12-31T16:30:05.789Z');
  console.log(JSON.stringify({
    time: formatBeijingTime(instant),
    date: formatBeijingDate(instant),
    parsed: parseBeijingTime('20240101003005').toISOString(),
    localHours: instant.getHours(),
  }));
`;

function probe(tz: string): { time: string; date: string; parsed: string; localHours: number } {
  const out = execFileSync(process.execPath, [require.resolve('tsx/cli'), '-e', PROBE], {
    cwd: ROOT,
    env: { ...process.env, TZ: tz },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { time: string; date: string; parsed: string; localHours: number };
}

describe('Beijing time', () => {
  // 16:30:05 UTC on New Year's Eve is already 00:30:05 on New Year's Day in Beijing.
  const instant = new Date('2023-12-31T16:30:05.789Z');

  it('when formatting, it writes yyyyMMddHHmmss at UTC+8, rolling the date over', () => {
    expect(formatBeijingTime(instant)).toBe('20240101003005');
    expect(formatBeijingDate(instant)).toBe('20240101');
  });

  it('when the machine runs in other time zones, the texts and the parsed instant are the same', () => {
    const zones = ['UTC', 'America/Los_Angeles', 'Asia/Shanghai', 'Pacific/Kiritimati'];
    const results = zones.map(probe);
    // The zones really differ in local time, so a TZ-dependent formatter could not pass.
    expect(new Set(results.map((r) => r.localHours)).size).toBe(zones.length);
    for (const r of results) {
      expect(r).toMatchObject({ time: '20240101003005', date: '20240101', parsed: '2023-12-31T16:30:05.000Z' });
    }
  }, scaled(30_000));

  it('when parsing, it gives the instant back to the second', () => {
    const d = parseBeijingTime('20240229235959');
    expect(d.toISOString()).toBe('2024-02-29T15:59:59.000Z');
    expect(formatBeijingTime(d)).toBe('20240229235959');
  });

  it.each(['', '2024010100000', '202401010000000', '2024-01-01 00:00:00', '20240230120000', '20231301000000', '20240101240000', '20240101006000', 'abcdefghijklmn', '00000101000000'])(
    'when the text is %j, parsing throws',
    (text) => {
      expect(() => parseBeijingTime(text)).toThrow(RangeError);
    },
  );

  it('when formatting an invalid Date, it throws', () => {
    expect(() => formatBeijingTime(new Date(Number.NaN))).toThrow(TypeError);
  });

  it('when checking bill dates, only real yyyyMMdd dates pass', () => {
    expect(isBeijingDate('20240229')).toBe(true);
    expect(isBeijingDate('20230229')).toBe(false);
    expect(isBeijingDate('2024-02-01')).toBe(false);
    expect(isBeijingDate('2024020')).toBe(false);
  });
});
