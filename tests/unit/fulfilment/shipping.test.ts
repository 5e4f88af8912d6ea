import { COURIERS, courierNamed, normalizeTracking, trackingProblem, trackingUrlOf } from '../../../src/shipping/couriers';
import { cellText, decodeUpload, parseCsv } from '../../../src/shipping/csv-read';
import { lineVerdict, parcelOfForm, readBatch } from '../../../src/shipping/service';
import { Invalid } from '../../../src/errors';
import { MAX_ATTEMPTS, RETRY_DELAYS_SECONDS, nextAttemptAt } from '../../../src/outbox/schedule';

/** Couriers and their tracking numbers, the batch CSV as merchants write it (Excel, GBK, our own export), the retry schedule. */

describe('couriers and tracking numbers', () => {
  test.each([
    ['sf', 'SF1234567890123', undefined],
    ['sf', 'SF123456789012', undefined],
    ['sf', 'YT1234567890123', 'wrong_shape'],
    ['zto', '773012345678', undefined],
    ['yto', 'YT1234567890123', undefined],
    ['yunda', '4312345678901', undefined],
    ['jd', 'JDVA12345678901', undefined],
    ['ems', 'EA123456789CN', undefined],
    ['jtexpress', 'JT1234567890123', undefined],
    ['deppon', 'DPK123456789012', undefined],
    ['other', 'ANY-THING-42', undefined],
    ['zto', '7.73012E+11', 'scientific'],
    ['zto', '', 'missing'],
    ['other', 'ab', 'malformed'],
    ['other', 'A/B<script>', 'malformed'],
  ])('%s %j: %s', (courier, tracking, problem) => {
    expect(trackingProblem(courier, tracking)).toBe(problem);
  });

  test('a number as typed is kept without spaces, upper case; a courier by any of its names', () => {
    expect(normalizeTracking(' sf 1234 5678 9012 3 ')).toBe('SF1234567890123');
    expect(courierNamed('顺丰')?.code).toBe('sf');
    expect(courierNamed('SF Express')?.code).toBe('sf');
    expect(courierNamed('j&t express')?.code).toBe('jtexpress');
    expect(courierNamed('同城闪送')).toBeUndefined();
    expect(new Set(COURIERS.map((c) => c.code)).size).toBe(COURIERS.length);
  });

  test('the courier\'s own tracking page, the number encoded', () => {
    expect(trackingUrlOf('sf', 'SF1234567890123')).toBe('https://www.sf-express.com/chn/sc/waybill/waybill-detail/SF1234567890123');
    expect(trackingUrlOf('other', 'X123456')).toBeUndefined();
  });

  test('the ship form: an unknown courier, "other" without a name, a bad number: Invalid with the reason\'s key', () => {
    const keyOf = (body: Record<string, unknown>) => {
      try {
        parcelOfForm(body);
      } catch (err) {
        return (err as Invalid).messageKey;
      }
      return 'accepted';
    };
    expect(keyOf({ courier: 'ups', tracking_no: 'SF1234567890123' })).toBe('ship.error.courier');
    expect(keyOf({ courier: 'other', tracking_no: 'X1234567' })).toBe('ship.error.courierName');
    expect(keyOf({ courier: 'sf', tracking_no: '1' })).toBe('ship.error.tracking.malformed');
    expect(parcelOfForm({ courier: 'other', courier_name: ' 同城闪送 ', tracking_no: 'tc-20261208' })).toEqual({ courier: 'other', courierName: '同城闪送', trackingNo: 'TC-20261208' });
  });
});

describe('the batch CSV', () => {
  test('RFC 4180 quoting, CRLF or LF, blank lines dropped; Excel\'s guards read back as the text', () => {
    expect(parseCsv('a,"b,c","say ""hi"""\r\n\r\nx,y\nz')).toEqual([['a', 'b,c', 'say "hi"'], ['x', 'y'], ['z']]);
    expect(cellText('="202612080257211234567890"')).toBe('202612080257211234567890');
    expect(cellText("'=SUM(A1)")).toBe('=SUM(A1)');
    expect(cellText('  12 ')).toBe('12');
  });

  test('a file Excel saved on a Chinese Windows (GBK) is read as such; UTF-8 with or without its BOM too', () => {
    // "订单号,快递公司,快递单号\r\n1,顺丰,SF1234567890123" in GBK
    const gbk = Buffer.concat([Buffer.from([0xb6, 0xa9, 0xb5, 0xa5, 0xba, 0xc5, 0x2c, 0xbf, 0xec, 0xb5, 0xdd, 0xb9, 0xab, 0xcb, 0xbe, 0x2c, 0xbf, 0xec, 0xb5, 0xdd, 0xb5, 0xa5, 0xba, 0xc5]), Buffer.from('\r\n1,'), Buffer.from([0xcb, 0xb3, 0xb7, 0xe1]), Buffer.from(',SF1234567890123')]);
    expect(decodeUpload(gbk)).toBe('订单号,快递公司,快递单号\r\n1,顺丰,SF1234567890123');
    expect(decodeUpload(Buffer.from('\uFEFF订单号', 'utf8'))).toBe('订单号');
    expect(readBatch(decodeUpload(gbk))).toEqual([
      { line: 2, orderText: '1', courierText: '顺丰', trackingText: 'SF1234567890123', orderId: 1, parcel: { courier: 'sf', courierName: null, trackingNo: 'SF1234567890123' }, problem: undefined, outcome: undefined },
    ]);
  });

  test('columns found by the header\'s names (our packing list filled in), else the first three; every problem named per line', () => {
    const exported = ['订单号,下单时间,卖家,付款方式,金额（元）,收货人,电话,地址,商品,快递公司,快递单号', '12,2026-12-08 10:00,茶,微信支付,1.00,张三,13800138000,上海,茶 × 1,中通,773012345678'].join('\r\n');
    expect(readBatch(exported)[0]).toMatchObject({ line: 2, orderId: 12, parcel: { courier: 'zto', trackingNo: '773012345678' } });
    const lines = readBatch(['12,sf,SF1234567890123', '#13,同城闪送,TC123456', 'abc,sf,SF1', '12,sf,SF1234567890123', '14,,SF1234567890123', '15,sf,7.7E+12'].join('\n'));
    expect(lines.map((l) => [l.line, l.problem ?? l.parcel?.courier])).toEqual([
      [1, 'sf'],
      [2, 'other'],
      [3, 'bad_order'],
      [4, 'duplicate_line'],
      [5, 'courier'],
      [6, 'tracking.scientific'],
    ]);
    expect(lineVerdict(lines[2]!)).toEqual({ tone: 'error', key: 'ship.batch.problem.bad_order' });
    expect(() => readBatch('订单号,快递公司,快递单号\n')).toThrow(Invalid);
    expect(() => readBatch(Array.from({ length: 1001 }, (_, i) => `${i + 1},sf,SF1234567890123`).join('\n'))).toThrow(/too long/);
  });
});

describe('the retry schedule', () => {
  test('the first retry within a minute, growing, over at least 24 hours, then given up', () => {
    expect(RETRY_DELAYS_SECONDS[0]).toBeLessThanOrEqual(60);
    for (let i = 1; i < RETRY_DELAYS_SECONDS.length; i += 1) expect(RETRY_DELAYS_SECONDS[i]).toBeGreaterThanOrEqual(RETRY_DELAYS_SECONDS[i - 1] as number);
    expect(RETRY_DELAYS_SECONDS.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600);
    const now = new Date('2026-12-08T00:00:00Z');
    expect(nextAttemptAt(1, now)).toEqual(new Date(now.getTime() + 15_000));
    expect(nextAttemptAt(MAX_ATTEMPTS, now)).toBeUndefined();
  });
});
