import { headingOf, wayBackFrom } from '../../src/http/errors';

describe('the error page (issue 16)', () => {
  test.each([
    [404, 'error.title.notFound'],
    [403, 'error.title.forbidden'],
    [401, 'error.title.forbidden'],
    [400, 'error.title.invalid'],
    [409, 'error.title.invalid'],
    [500, 'error.title'],
    [502, 'error.title'],
  ])('a %i is headed %s, never with the code', (status, key) => {
    expect(headingOf(status)).toBe(key);
  });

  test.each([
    ['/admin', '/admin'],
    ['/admin/paylog/123456/refund', '/admin'],
    ['/admin?lang=en', '/admin'],
    ['/administrator', '/'],
    ['/checkout', '/cart'],
    ['/cart/update', '/cart'],
    ['/pay/123456789012/renew', '/orders'],
    ['/orders/find', '/orders'],
    ['/nowhere', '/'],
  ])('from %s the way back is %s', (url, href) => {
    expect(wayBackFrom(url).href).toBe(href);
  });
});
