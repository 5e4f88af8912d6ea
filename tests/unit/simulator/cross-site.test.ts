import type { Request } from 'express';
import { isCrossSite } from '../../../src/simulator/routes';

function requestWith(headers: Record<string, string>): Request {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower[name.toLowerCase()] } as unknown as Request;
}

describe('telling a cross-site POST from the phone\'s own', () => {
  test.each([
    [{}, false],
    [{ 'Sec-Fetch-Site': 'same-origin', Host: 'shop.example' }, false],
    [{ 'Sec-Fetch-Site': 'none' }, false],
    [{ 'Sec-Fetch-Site': 'same-site' }, true],
    [{ 'Sec-Fetch-Site': 'cross-site', Origin: 'https://shop.example', Host: 'shop.example' }, true],
    [{ Origin: 'https://shop.example', Host: 'shop.example' }, false],
    [{ Origin: 'https://evil.example', Host: 'shop.example' }, true],
    [{ Origin: 'null', Host: 'shop.example' }, true],
    [{ Origin: 'https://shop.example', Host: 'internal:3000', 'X-Forwarded-Host': 'shop.example' }, false],
  ])('%j -> cross-site %s', (headers, expected) => {
    expect(isCrossSite(requestWith(headers))).toBe(expected);
  });
});
