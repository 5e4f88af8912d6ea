import type { Request, Response } from 'express';
import { loopbackOnly } from '../../../src/simulator';

/** The standalone simulator (`npm run simulator`) has no users: its fault panel and API answer this machine only. */
function run(remoteAddress: string): { passed: boolean; status?: number; body?: unknown } {
  const result: { passed: boolean; status?: number; body?: unknown } = { passed: false };
  const res = {
    set: () => res,
    status(code: number) {
      result.status = code;
      return res;
    },
    json(body: unknown) {
      result.body = body;
      return res;
    },
  } as unknown as Response;
  loopbackOnly({ socket: { remoteAddress } } as unknown as Request, res, () => {
    result.passed = true;
  });
  return result;
}

describe('the standalone simulator\'s fault door', () => {
  test.each(['127.0.0.1', '::1', '::ffff:127.0.0.1'])('a request from this machine (%s) passes', (address) => {
    expect(run(address).passed).toBe(true);
  });

  test.each(['10.0.0.5', '192.168.1.20', '::ffff:10.0.0.5', '2001:db8::1'])('a request from elsewhere (%s) is 403 with a reason', (address) => {
    const result = run(address);
    expect(result.passed).toBe(false);
    expect(result.status).toBe(403);
    expect(JSON.stringify(result.body)).toContain('only requests from this machine');
  });
});
