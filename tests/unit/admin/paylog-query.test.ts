import { beijingDateOf, beijingDayStart } from '../../../src/beijing-time';
import { decodeCursor, encodeCursor, filterQueryString, parsePaylogQuery } from '../../../src/admin/paylog-query';
import { Invalid } from '../../../src/errors';

function refusal(query: Record<string, unknown>): { key: string; params: Record<string, string | number> } {
  try {
    parsePaylogQuery(query);
  } catch (err) {
    if (err instanceof Invalid) return { key: err.messageKey, params: err.params };
    throw err;
  }
  throw new Error('accepted');
}

describe('paylog query parameters', () => {
  test('an empty query is the first page of everything', () => {
    expect(parsePaylogQuery({})).toEqual({ filter: {}, size: 50 });
  });

  test('every filter is read and trimmed; lang is allowed and ignored', () => {
    expect(parsePaylogQuery({ state: 'SUCCESS', flag: 'any', from: '2026-11-01', to: ' 2026-11-30 ', q: '4200', size: '20', lang: 'en' })).toEqual({
      filter: { state: 'SUCCESS', flag: 'any', from: '2026-11-01', to: '2026-11-30', q: '4200' },
      size: 20,
    });
    expect(parsePaylogQuery({ state: '', q: '  ' })).toEqual({ filter: {}, size: 50 });
  });

  test.each([
    [{ state: 'PAID' }, 'state'],
    [{ state: ['SUCCESS', 'NOTPAY'] }, 'state'],
    [{ flag: 'yes' }, 'flag'],
    [{ from: '2026-13-01' }, 'from'],
    [{ to: '2026-02-29' }, 'to'],
    [{ from: '20261101' }, 'from'],
    [{ q: "x' OR 1=1" }, 'q'],
    [{ q: 'a'.repeat(65) }, 'q'],
    [{ q: '%' }, 'q'],
    [{ size: '0' }, 'size'],
    [{ size: '201' }, 'size'],
    [{ size: '1.5' }, 'size'],
    [{ after: 'not-a-cursor!' }, 'after'],
    [{ after: Buffer.from('2026-11-01T00:00:00Z|X').toString('base64url') }, 'after'],
    [{ before: encodeCursor({ time: '2026-11-01T00:00:00.000000Z', outTradeNo: 'P000000001' }), after: encodeCursor({ time: '2026-11-01T00:00:00.000000Z', outTradeNo: 'P000000001' }) }, 'before'],
    [{ sort: 'asc' }, 'sort'],
    [{ __proto__x: '1' }, '__proto__x'],
  ])('%j is refused, naming %s', (query, name) => {
    expect(refusal(query as Record<string, unknown>)).toEqual({ key: 'admin.error.badParam', params: { name } });
  });

  test('a range that ends before it starts is refused', () => {
    expect(refusal({ from: '2026-11-30', to: '2026-11-01' }).key).toBe('admin.error.badRange');
  });

  test('a cursor survives the round trip, to the microsecond', () => {
    const cursor = { time: '2026-11-20T02:00:00.123456Z', outTradeNo: 'P202611200001' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(parsePaylogQuery({ after: encodeCursor(cursor) }).after).toEqual(cursor);
  });

  test('links keep the filters and drop empty ones', () => {
    expect(filterQueryString({ state: 'SUCCESS', q: 'a b' }, { after: 'xyz', size: undefined })).toBe('?state=SUCCESS&q=a+b&after=xyz');
    expect(filterQueryString({})).toBe('');
  });

  test('Beijing days start at 16:00 UTC the day before, and impossible dates are none', () => {
    expect(beijingDayStart('2026-11-25')?.toISOString()).toBe('2026-11-24T16:00:00.000Z');
    expect(beijingDayStart('2026-02-29')).toBeUndefined();
    expect(beijingDayStart('2024-02-29')?.toISOString()).toBe('2024-02-28T16:00:00.000Z');
    expect(beijingDateOf(new Date('2026-11-24T15:59:59Z'))).toBe('2026-11-24');
    expect(beijingDateOf(new Date('2026-11-24T16:00:00Z'))).toBe('2026-11-25');
  });
});
