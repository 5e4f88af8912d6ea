import { Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unavailable, UpstreamFailed } from '../../src/errors';
import { statusOf } from '../../src/http/errors';

describe('error -> HTTP status table', () => {
  test.each([
    [new Invalid('x'), 400],
    [new Unauthorized(), 401],
    [new Forbidden(), 403],
    [new NotFound(), 404],
    [new Conflict('x'), 409],
    [new UpstreamFailed('x'), 502],
    [new Unavailable('x'), 503],
    [Object.assign(new Error('too large'), { status: 413 }), 413],
    [Object.assign(new Error('weird'), { status: 200 }), 500],
    [new Error('boom'), 500],
    ['a string', 500],
    [null, 500],
  ])('%p -> %d', (err, status) => {
    expect(statusOf(err)).toBe(status);
  });
});
