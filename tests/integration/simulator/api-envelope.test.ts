import { WxReturnError, buildXml, parseXml, signFields, verifySignature } from '../../../src/wechatpay';
import { HMAC_MERCHANT, MD5_MERCHANT, MERCHANTS, newOutTradeNo, orderArgs, startHarness, type Harness } from './harness';
import { keyFingerprint } from '../../../src/simulator/merchants';

const NOTIFY_URL = 'http://127.0.0.1:9/wxpay/notify';

function unifiedOrderFields(outTradeNo: string) {
  return {
    body: '茶叶',
    out_trade_no: outTradeNo,
    total_fee: '100',
    spbill_create_ip: '127.0.0.1',
    notify_url: NOTIFY_URL,
    trade_type: 'NATIVE',
    product_id: 'P1',
  };
}

describe('simulator API envelope: requests WeChat cannot take are return_code=FAIL', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const tradeCount = async () => Number(((await h.knex('sim_trades').count('* as n')) as { n: string | number }[])[0]?.n);

  async function failOf(text: string): Promise<Record<string, string>> {
    const fields = await parseXml(text);
    expect(fields.return_code).toBe('FAIL');
    expect(fields.sign).toBeUndefined();
    expect(fields.result_code).toBeUndefined();
    return fields;
  }

  test('an empty body is POST_DATA_EMPTY: "post数据为空", as text/xml', async () => {
    const res = await h.postRaw('/pay/unifiedorder', '');
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/xml/);
    expect((await failOf(res.text)).return_msg).toBe('post数据为空');
  });

  test('malformed XML is XML_FORMAT_ERROR: "XML格式错误"', async () => {
    const res = await h.postRaw('/pay/unifiedorder', '<xml><appid>wx</appid>');
    expect((await failOf(res.text)).return_msg).toBe('XML格式错误');
  });

  test('a DOCTYPE (XXE) is refused as XML_FORMAT_ERROR and nothing is stored', async () => {
    const before = await tradeCount();
    const xxe = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><appid>&e;</appid></xml>`;
    const res = await h.postRaw('/pay/unifiedorder', xxe);
    expect((await failOf(res.text)).return_msg).toBe('XML格式错误');
    expect(res.text).not.toContain('root:');
    expect(await tradeCount()).toBe(before);
  });

  test('a body that is not UTF-8 is NOT_UTF8: "编码格式错误"', async () => {
    const res = await h.postRaw('/pay/orderquery', Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e]));
    expect((await failOf(res.text)).return_msg).toBe('编码格式错误');
  });

  test('a body over 64 KiB gets WeChat XML, never an error page or a stack trace', async () => {
    const res = await h.postRaw('/pay/unifiedorder', `<xml><body>${'x'.repeat(70 * 1024)}</body></xml>`);
    expect(res.contentType).toMatch(/^text\/xml/);
    expect((await failOf(res.text)).return_msg).toBe('XML格式错误');
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  test.each(['appid', 'mch_id', 'nonce_str', 'sign'])('a request without %s is LACK_PARAMS naming it', async (missing) => {
    const xml = h.signedXml(MD5_MERCHANT, 'MD5', unifiedOrderFields(newOutTradeNo()));
    const without = xml.replace(new RegExp(`<${missing}>.*?</${missing}>`), '');
    expect(without).not.toContain(`<${missing}>`);
    const res = await h.postRaw('/pay/unifiedorder', without);
    expect((await failOf(res.text)).return_msg).toBe(`缺少参数: ${missing}`);
  });

  test.each(['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'notify_url', 'trade_type', 'product_id'])(
    'unifiedorder without %s is LACK_PARAMS naming it, and creates no trade',
    async (missing) => {
      const before = await tradeCount();
      const fields: Record<string, string> = unifiedOrderFields(newOutTradeNo());
      delete fields[missing];
      const res = await h.postRaw('/pay/unifiedorder', h.signedXml(MD5_MERCHANT, 'MD5', fields));
      expect((await failOf(res.text)).return_msg).toBe(`缺少参数: ${missing}`);
      expect(await tradeCount()).toBe(before);
    },
  );

  test.each([
    ['total_fee', '0'],
    ['total_fee', '12.34'],
    ['total_fee', '-1'],
    ['out_trade_no', 'abc'],
    ['out_trade_no', 'has space 123'],
    ['notify_url', `${NOTIFY_URL}?order=1`],
    ['notify_url', 'ftp://example.com/notify'],
    ['spbill_create_ip', 'localhost'],
    ['time_expire', '2026-11-25 12:00:00'],
    ['time_expire', '20260230120000'],
    ['fee_type', 'USD'],
    ['trade_type', 'CARD'],
    ['product_id', 'p'.repeat(33)],
  ])('unifiedorder with %s=%j is return_code=FAIL "invalid <name>"', async (name, value) => {
    const before = await tradeCount();
    const fields = { ...unifiedOrderFields(newOutTradeNo()), [name]: value };
    const res = await h.postRaw('/pay/unifiedorder', h.signedXml(MD5_MERCHANT, 'MD5', fields));
    expect((await failOf(res.text)).return_msg).toBe(`invalid ${name}`);
    expect(await tradeCount()).toBe(before);
  });

  test('an unknown mch_id is MCHID_NOT_EXIST, which the client reports as WxReturnError', async () => {
    const client = h.client({ ...MD5_MERCHANT, mchId: '1999999999' }, 'MD5');
    const err = await client.orderQuery({ outTradeNo: 'ORDER000001' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WxReturnError);
    expect((err as WxReturnError).returnMsg).toBe('MCHID不存在');
  });

  test('an unknown appid is APPID_NOT_EXIST; another merchant\'s appid is APPID_MCHID_NOT_MATCH', async () => {
    const unknown = await h.client({ ...MD5_MERCHANT, appId: 'wx9999999999999999' }, 'MD5').orderQuery({ outTradeNo: 'ORDER000001' }).catch((e: unknown) => e);
    expect((unknown as WxReturnError).returnMsg).toBe('APPID不存在');
    const mismatch = await h.client({ ...MD5_MERCHANT, appId: HMAC_MERCHANT.appId }, 'MD5').orderQuery({ outTradeNo: 'ORDER000001' }).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(WxReturnError);
    expect((mismatch as WxReturnError).returnMsg).toBe('appid和mch_id不匹配');
  });

  test.each(MERCHANTS)('a %s request signed with another key is SIGNERROR "签名错误" and creates nothing', async (_name, merchant, signType) => {
    const before = await tradeCount();
    const client = h.client({ ...merchant, apiKey: 'wrongkey0000000000000000000000zz' }, signType);
    const err = await client.unifiedOrder(orderArgs(newOutTradeNo(), NOTIFY_URL)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WxReturnError);
    expect((err as WxReturnError).returnMsg).toBe('签名错误');
    expect(await tradeCount()).toBe(before);
  });

  test('an HMAC-SHA256 signature without a sign_type field is checked as MD5 and refused, as WeChat does', async () => {
    const xml = h.signedXml(HMAC_MERCHANT, 'HMAC-SHA256', unifiedOrderFields(newOutTradeNo()));
    // drop sign_type and re-sign without it, still with HMAC: WeChat then verifies as MD5
    const fields = await parseXml(xml);
    delete fields.sign_type;
    const body = buildXml(signFields({ ...fields }, HMAC_MERCHANT.apiKey, 'HMAC-SHA256'));
    const res = await h.postRaw('/pay/unifiedorder', body);
    expect((await failOf(res.text)).return_msg).toBe('签名错误');
  });

  test('an unknown sign_type is refused with "sign_type参数格式错误"', async () => {
    const xml = h.signedXml(MD5_MERCHANT, 'MD5', { ...unifiedOrderFields(newOutTradeNo()), sign_type: 'SHA1' });
    const res = await h.postRaw('/pay/unifiedorder', xml);
    expect((await failOf(res.text)).return_msg).toBe('sign_type参数格式错误');
  });

  test('fields unknown to the simulator are covered by the signature: accepted when signed, SIGNERROR when changed', async () => {
    const outTradeNo = newOutTradeNo();
    const xml = h.signedXml(MD5_MERCHANT, 'MD5', { ...unifiedOrderFields(outTradeNo), brand_new_field: 'v1' });
    const tampered = xml.replace('v1', 'v2');
    expect((await failOf((await h.postRaw('/pay/unifiedorder', tampered)).text)).return_msg).toBe('签名错误');
    const accepted = await parseXml((await h.postRaw('/pay/unifiedorder', xml)).text);
    expect(accepted.return_code).toBe('SUCCESS');
    expect(accepted.result_code).toBe('SUCCESS');
    expect(await h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first()).toBeDefined();
  });

  test('any content type is read as XML (WeChat reads the raw body)', async () => {
    const xml = h.signedXml(MD5_MERCHANT, 'MD5', { out_trade_no: 'NOSUCHORDER1' });
    for (const type of ['application/xml', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      const fields = await parseXml((await h.postRaw('/pay/orderquery', xml, type)).text);
      expect(fields.return_code).toBe('SUCCESS');
      expect(fields.err_code).toBe('ORDERNOTEXIST');
    }
  });

  test.each(MERCHANTS)('%s: a SUCCESS answer is signed with the request\'s sign type and the merchant\'s key, without sign_type', async (_name, merchant, signType) => {
    const res = await h.postRaw('/pay/unifiedorder', h.signedXml(merchant, signType, unifiedOrderFields(newOutTradeNo())));
    expect(res.contentType).toMatch(/^text\/xml/);
    const fields = await parseXml(res.text);
    expect(fields.return_code).toBe('SUCCESS');
    expect(fields.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
    expect(fields.sign_type).toBeUndefined();
    expect(verifySignature(fields, merchant.apiKey, signType)).toBe(true);
    expect(verifySignature(fields, 'another-key', signType)).toBe(false);
    expect(fields.appid).toBe(merchant.appId);
    expect(fields.mch_id).toBe(merchant.mchId);
  });

  test('GET on an API path is REQUIRE_POST_METHOD: "请使用post方法"', async () => {
    const res = await fetch(`${h.baseUrl}/pay/unifiedorder`);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect((await failOf(await res.text())).return_msg).toBe('请使用post方法');
  });

  test('ensureMerchant upserts: a changed key is accepted at once and the old one refused', async () => {
    const mchId = '1900000077';
    await h.sim.ensureMerchant({ appId: 'wx7777777777777777', mchId, apiKey: 'firstkey000000000000000000000077', name: '甲' });
    await h.sim.ensureMerchant({ appId: 'wx7777777777777777', mchId, apiKey: 'secondkey00000000000000000000077', name: '乙' });
    const rows = await h.knex('sim_merchants').where({ mch_id: mchId });
    expect(rows).toHaveLength(1);
    // the table keeps a fingerprint of the key, never the key (src/simulator/merchants.ts keyFingerprint)
    expect(rows[0]).toMatchObject({ api_key: keyFingerprint('secondkey00000000000000000000077'), name: '乙' });
    const merchant = { appId: 'wx7777777777777777', mchId, name: '乙' };
    const old = await h.client({ ...merchant, apiKey: 'firstkey000000000000000000000077' }, 'MD5').orderQuery({ outTradeNo: 'ORDER000001' }).catch((e: unknown) => e);
    expect((old as WxReturnError).returnMsg).toBe('签名错误');
    const current = await h.client({ ...merchant, apiKey: 'secondkey00000000000000000000077' }, 'MD5').orderQuery({ outTradeNo: 'ORDER000001' }).catch((e: unknown) => e);
    expect((current as { errCode?: string }).errCode).toBe('ORDERNOTEXIST');
  });
});
