import { addressKey } from '../../../src/http/client-ip';
import { attemptAddress } from '../../../src/http/attempt-limit';

describe('addressKey: what a per-address limit counts a client under', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:fffe', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0000:0000:0000:0009', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::203.0.113.7', '64:ff9b:0:0::/64'],
  ])('%s counts as %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });

  test('every address of one /64 is one key; the next /64 is another', () => {
    const keys = new Set(['2001:db8:aa:bb::1', '2001:db8:aa:bb::2', '2001:db8:aa:bb:1234:5678:9abc:def0', '2001:db8:00aa:00bb:0::ffff'].map(addressKey));
    expect([...keys]).toEqual(['2001:db8:aa:bb::/64']);
    expect(addressKey('2001:db8:aa:bc::1')).not.toBe('2001:db8:aa:bb::/64');
  });

  test('the attempt limiter counts an IP by its key, and leaves a key a caller made alone', () => {
    expect(attemptAddress('2001:db8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(attemptAddress('::ffff:198.51.100.1')).toBe('198.51.100.1');
    expect(attemptAddress('lookup:2001:db8:1:2::/64')).toBe('lookup:2001:db8:1:2::/64');
  });
});
