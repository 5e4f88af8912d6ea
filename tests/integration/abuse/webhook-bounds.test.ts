import request from 'supertest';
import { UNVERIFIED_ROWS_PER_SOURCE } from '../../../src/webhooks/notify-log';
import { NOTIFY_MAX_BYTES } from '../../../src/wechatpay';
import { type TestShop } from '../../helpers/app';
import { shopOnClock, signedNotify, tradeWithQr } from '../../helpers/settlement';
import { loggedIn } from '../admin/helpers';
import { adminPasswordHash, ADMIN_USER } from '../admin/helpers';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

describe('webhooks do bounded work and keep bounded records before a call is trusted', () => {
  let shop: TestShop;

  beforeAll(async () => {
    ({ shop } = await shopOnClock({ TRUST_PROXY: 'loopback', ADMIN_USER, ADMIN_PASSWORD_HASH: await adminPasswordHash() }));
  });
  afterAll(async () => {
    await shop.close();
  });

  const post = (body: string, from = '203.0.113.7', path = '/wxpay/notify') => request(shop.url).post(path).set('Content-Type', 'text/xml').set('X-Forwarded-For', from).send(body);
  const forged = (outTradeNo: string, totalFee: number) => signedNotify(shop, { out_trade_no: outTradeNo, total_fee: totalFee }).replace(/<sign>[^<]*<\/sign>|<sign><!\[CDATA\[[^\]]*\]\]><\/sign>/, '<sign><![CDATA[0123456789ABCDEF0123456789ABCDEF]]></sign>');
  const rowsOf = (outTradeNo: string) => shop.db.knex('notify_log').where({ out_trade_no: outTradeNo }).orderBy('id').select('verified', 'verdict', 'repeats', 'source');

  test('a body over NOTIFY_MAX_BYTES (8 KiB) is refused with WeChat\'s FAIL XML and 413, before it is parsed or stored', async () => {
    const before = Number((await shop.db.knex('notify_log').count({ n: '*' }).first())?.n);
    for (const path of ['/wxpay/notify', '/wxpay/refund-notify']) {
      const res = await post(`<xml><attach>${'x'.repeat(NOTIFY_MAX_BYTES)}</attach></xml>`, '203.0.113.7', path);
      expect(res.status).toBe(413);
      expect(res.text).toBe('<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[body too large]]></return_msg></xml>');
    }
    expect(Number((await shop.db.knex('notify_log').count({ n: '*' }).first())?.n)).toBe(before);
  });

  test('a deeply nested body is refused at once as bad XML', async () => {
    const res = await post(`<xml>${'<a>'.repeat(2000)}</xml>`);
    expect(res.status).toBe(400);
    expect(res.text).toContain('FAIL');
  });

  test('200 forged notifies for one trade leave one counted row, and the admin sees the genuine notify apart from them', async () => {
    const { outTradeNo, paylog } = await tradeWithQr(shop, [['FARM-PIN-01', 1]]);
    for (let i = 0; i < 200; i += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(forged(outTradeNo, paylog.total_fee))));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(401));
    }
    const rows = await rowsOf(outTradeNo);
    // concurrent first arrivals may each insert before one sees the other's row: a few rows, never 200
    expect(rows.length).toBeLessThanOrEqual(3);
    expect(rows.every((r) => r.verified === false && r.verdict === 'bad_signature' && r.source === '203.0.113.7')).toBe(true);
    expect(rows.reduce((sum, r) => sum + r.repeats, 0)).toBe(200);

    const genuine = await post(signedNotify(shop, { out_trade_no: outTradeNo, total_fee: paylog.total_fee }), '198.51.100.1');
    expect(genuine.status).toBe(200);
    expect((await rowsOf(outTradeNo)).filter((r) => r.verified)).toEqual([{ verified: true, verdict: 'paid', repeats: 1, source: '198.51.100.1' }]);

    const admin = await loggedIn(shop);
    const page = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    const [verifiedPart = '', unverifiedPart = ''] = page.text.split('id="unverified-notifies"');
    expect(verifiedPart.split('id="notifies"')[1]).toContain('<strong>paid</strong>');
    expect(verifiedPart.split('id="notifies"')[1]).not.toContain('bad_signature');
    expect(unverifiedPart).toContain('<strong>bad_signature</strong>');
    expect(unverifiedPart).toContain(rows.length === 1 ? '200 次，来自 203.0.113.7' : '次，来自 203.0.113.7');
  });

  test(`one source names at most ${UNVERIFIED_ROWS_PER_SOURCE} trades in the record; the rest is counted on a row that names none`, async () => {
    const source = '192.0.2.99';
    const claims = UNVERIFIED_ROWS_PER_SOURCE + 30;
    for (let i = 0; i < claims; i += 1) {
      const res = await post(forged(`2099010100000000000${String(i).padStart(5, '0')}`, 1), source);
      expect(res.status).toBe(401);
    }
    const rows = (await shop.db.knex('notify_log').where({ source }).select('out_trade_no', 'repeats')) as { out_trade_no: string | null; repeats: number }[];
    expect(rows.filter((r) => r.out_trade_no !== null)).toHaveLength(UNVERIFIED_ROWS_PER_SOURCE);
    expect(rows.filter((r) => r.out_trade_no === null)).toEqual([{ out_trade_no: null, repeats: 30 }]);
    // another source still names its own claims
    expect((await post(forged('20990101000000000000ZZZZ', 1), '192.0.2.100')).status).toBe(401);
    expect(await shop.db.knex('notify_log').where({ source: '192.0.2.100' }).pluck('out_trade_no')).toEqual(['20990101000000000000ZZZZ']);
  });

  test('an IPv6 sender is counted by its /64', async () => {
    await post(forged('20990101000000000000V6V6', 1), '2001:db8:1:2::1');
    await post(forged('20990101000000000000V6V6', 1), '2001:db8:1:2:ffff::9');
    expect(await shop.db.knex('notify_log').where({ out_trade_no: '20990101000000000000V6V6' }).select('source', 'repeats')).toEqual([{ source: '2001:db8:1:2::/64', repeats: 2 }]);
  });
});
