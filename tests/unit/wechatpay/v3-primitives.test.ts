import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  WechatKeyring,
  WxV3DecryptError,
  WxV3SignatureError,
  authorizationHeader,
  decryptResource,
  encryptResource,
  jsapiBridgeParams,
  parseAuthorization,
  requestMessage,
  rsaSign,
  signWechatAnswer,
  verifyWechatSignature,
} from '../../../src/wechatpay/v3';

/** The test vectors of ../shared/WECHATPAY-V3.md: WeChat's published test key and what it must sign to, byte for byte. */
const WECHAT_TEST_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCm2mb6q8gMKH/3
CNTbpJAIrbqiBiQGEOtjGcBrDYltsGynWgNscqT7WvfzU14FQbYcQUC5T4Wvva7m
i3fIp3OgX8VqMDNA0qebnr38Pe6kqiLyZgFpJPXlSKDyPyqhRbVTbXssvSMQeVKc
dXeVxoNNeoOlNFHgF/P0io6AmAVnz+hN8SiZKuOsth5/zUTLGvtkgxBcQooQrtXh
RcpLT798OyIb9xeJ2HO3xRtMv2+perEzb4gMibI74UBz+2QEbnkubPE+2jU2rRZu
dnNEz/BPOt3Qj/w2V6/G0VumGDh6+UeMU0jv4aupHztWITC4Akn0l7lBCNy3lgl8
VFaJnkIxAgMBAAECggEAYGL8aESB7NwciDWW2UdoWUsa7GxFtSdjAz2mFXGdeTsY
mVh7b9OOkRGM+Qio4LqEHDBp1mMk5E/cUJwy1zw8pGGO5nfvs7u9TT3XnHaefIs4
YvUgTYAneIuLRkXNN5rQU+CD7mVYczTSz0Vgjqo9wa1LjUz7G0xbBmJgTdMEFGJs
eJjy6AbJo0CGIwp6HJbTm4CmOUgXnnDAIbEGTIRImkZFH/rzneIeR7oZ77FVwxr1
CZB2gfRCov/yRPbw8vnryYkmvQ7D/ze3j5097vRg/MoDGBSdoOwcmo75vyofr0AS
zytMjmHYyifqkf5slPropSiJeGf4p/7gtKyF6dE/XQKBgQDVAlJ+4U5ZVGOuDc3+
sAhz8CTzgFNlq9vKuSoFK6hOz2L+cwj+E7NXGkOe2DsHHZNy2Xqxk7caKhPEp1z9
hhpMpyLVMoFt6CKemyoRBWDCQwLLwem9SZF/IAyovBkLiH36P42Jm26gUkNMKC/5
Zhtqxf6RZgRQzbVudJi47vIRCwKBgQDIh0+v27Oo+DM3fhObH4I1NrXpWOEGH7OQ
G1dEsMuFYF4hjGhg0kBEP3w9vVdl2+mRllZKTsx9oqjb8OibPLLIH8xsdbAB0WLf
JvjLu4wl/ILUzN1RI03dWnnv2EnEeQn6c3hizvrJ9wR5U4ue9RPVnQooJ0hZF1PU
uCL5fWK3MwKBgElReU/PAYbh80WP3t3Rfbdaa32dKBeQ5iCLR5lsA4zM+YgX1HqQ
EWTj126vgvHaDkyz6vWAoL/Sx+cirHFfXWIRDX5Q2hgYlQH+6qXdMgbrxeSYpHnQ
/tHBGFpkFELSAnrGsVMyOwvYBO4LzyeLK9i+ufcWJFoj1FVmsMLHDG8tAoGARdbi
iQQCoYG4DMarO2aQ6cmhN6EN1h0qY7EyBqlwaIZ0okiNfdMcMOjPc41DKCWcRmlO
qlihXcxN9TQFPzO3rH1urAOdBjUPs1qWYhZyrDQyuLyVBBJApyxAtajloDjrob+f
mQIvVDHk7ACN6xG+E7K6+9salnTKbJapD618uQMCgYBNy6XUvzLkP/A1U/UZdtcx
l8GwU/dturLxz4CyGbqDw4ubaYY2e13lnqHUqQgPtiSyH51nq3tdo8G0YAJdfkSv
KvnfslW91fyEBUKnkdW1o3/1UFU/wprZ7ixVL/F42A4xDu7OFE8EnweJOZ0jWceE
OdhCkaIGBCfRnlECRK8UyQ==
-----END PRIVATE KEY-----`;

const WECHAT_VERIFY_PAGE_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwXNI6sdlknHBnK8Fu2U6
Cwor9qY747jP8KAfeBMeveEt1TqaHkLfaSD07trZLhGpfs8/AHqjhgSMO1O10YQW
OrrJ4hjIWPKqxbgrYMkBQc+mwdiWp4W3ByCqxBRagCveCXRWCmuJYovl9H/bsDI0
iGbpVtEOghJtfciisYSgxcLufUDTRkvwxjIBK1pCRjk33jJ5YTBWTHMRtMAOcFLN
F6hdEYdX8SPsgHHeLZ5Lv2T/686w1xtgCHef/sd4uSfWmyzsalQdHG/e4IyYmrhx
+O3VBoNDzE3nx23bFeV/RVNCG7cV6VhmYokJNHa/erIPkEmEFID6A5wQOXuxUkmJ
WwIDAQAB
-----END PUBLIC KEY-----`;

const privateKey = crypto.createPrivateKey(WECHAT_TEST_PRIVATE_KEY);
const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures', 'v3');

describe('APIv3 request signing, against WeChat\'s published vectors', () => {
  const body =
    '{"appid":"wxd678efh567hg6787","mchid":"1900007291","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}';
  const m = { method: 'POST', pathWithQuery: '/v3/pay/transactions/jsapi', timestamp: 1554208460, nonce: '593BEC0C930BF1AFEB40B4A08C8FB242', body };
  const expected =
    'jnks4dlrPw3ZX+ozVvSK39oa0t7OMBsg83BHAwd8BRdUFiVaQNTLTvci+wURgP1OQBbKYhFGvt7iqYpDSTQkp7Uq1sltaQKyncCyrA1g88m5bsKERQfPyT0ahSwKTYJ1CAn9QiJuSJRq1QsQs07eehbU/k9BCS51jTyc1Jpsi2H77HF9f/BnjXAOP3/sPObg6V5Ee4EzwLox684hhuMuIwHo7D8KFk3LIHOKDcNI4It1aCXydFWNpNK+SG86VUDe5kwoDpw4Ulqfu9z8OFDGbDs9TCxEv8iqQzbpxOlEVoOe2kalSYM5kApQb3nZcxdUtoE0liJGW3RGUNE0t4v01A==';

  test('the JSAPI order request signs to the published signature, byte for byte', () => {
    expect(rsaSign(requestMessage(m), privateKey)).toBe(expected);
  });

  test('the Authorization header carries it in one line, and reads back to the same parts', () => {
    const header = authorizationHeader({ mchId: '1900007291', serial: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB', privateKey }, m);
    expect(header).toBe(
      `WECHATPAY2-SHA256-RSA2048 mchid="1900007291",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",signature="${expected}"`,
    );
    expect(parseAuthorization(header)).toEqual({ mchid: '1900007291', nonce_str: m.nonce, timestamp: '1554208460', serial_no: '408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB', signature: expected });
  });

  test('the classic mistakes sign to something else: no final newline, milliseconds, a pretty-printed body', () => {
    expect(rsaSign(requestMessage(m).slice(0, -1), privateKey)).not.toBe(expected);
    expect(rsaSign(requestMessage({ ...m, timestamp: 1554208460000 }), privateKey)).not.toBe(expected);
    expect(rsaSign(requestMessage({ ...m, body: JSON.stringify(JSON.parse(body), null, 2) }), privateKey)).not.toBe(expected);
  });

  test('the JSAPI bridge paySign (signType RSA) is the published one', () => {
    const params = jsapiBridgeParams({ appId: 'wx2421b1c4370ec43b', prepayId: 'wx201410272009395522657a690389285100', privateKey, timestamp: 1554208460, nonce: '593BEC0C930BF1AFEB40B4A08C8FB242' });
    expect(params).toEqual({
      appId: 'wx2421b1c4370ec43b',
      timeStamp: '1554208460',
      nonceStr: '593BEC0C930BF1AFEB40B4A08C8FB242',
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'RSA',
      paySign:
        'mI35pfNEQV6777ke/1T+LJLQDNTm7yeoUJH+j/adPGhmCCi0PbgkvYQTRcXH0uibcLVtvFLdGLpmoYO9FV6lBBsTAjuhh5YOvQi0e2g3e0yytitiNET9FEuqM0pjnKfRW4K6LIZDdbWJv9KhZUx3DrJa5TL7OJ7VdADVivxVySIlPVKjGwuCXzuXSJes0UcILgWQUMyha5/3nYofuHtS7r+KYyMuxD+oJ9VM1Qdxk4UIG59CP5Y3wtYIFybyF3bdu1caHTRRX+DLyMXyYA/IrTmiW01c4RPjpHBX5Dk1sZyY1zVsWNsvMHr2e1NTWtBxKJ+qk5N61J7caYoepHFaxw==',
    });
  });
});

describe('verifying answers and notifies: one serial->key lookup', () => {
  const PUB_KEY_ID = 'PUB_KEY_ID_0000000000000024101100397200000006';
  const headers = {
    'wechatpay-serial': PUB_KEY_ID,
    'wechatpay-timestamp': '1722850421',
    'wechatpay-nonce': 'd824f2e086d3c1df967785d13fcd22ef',
    'wechatpay-signature':
      'mfI1CPqvBrgcXfgXMFjdNIhBf27ACE2YyeWsWV9ZI7T7RU0vHvbQpu9Z32ogzc+k8ZC5n3kz7h70eWKjgqNdKQF0eRp8mVKlmfzMLBVHbssB9jEZEDXThOX1XFqX7s7ymia1hoHQxQagPGzkdWxtlZPZ4ZPvr1RiqkgAu6Is8MZgXXrRoBKqjmSdrP1N7uxzJ/cjfSiis9FiLjuADoqmQ1P7p2N876YPAol7Rn0+GswwAwxldbdLrmVSjfytfSBJFqTMHn4itojgxSWWN1byuckQt8hSTEv/Lg97QoeGniYP17T80pJeQyL3b+295FPHSO2AtvCgyIbKMZ0BALilAA==',
  };
  const raw = Buffer.from('{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1"}', 'utf8');
  const signedAt = new Date(1722850421 * 1000);
  const keyring = () => new WechatKeyring().addPublicKey(PUB_KEY_ID, crypto.createPublicKey(WECHAT_VERIFY_PAGE_PUBLIC_KEY));
  const reason = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      if (err instanceof WxV3SignatureError) return err.reason;
      throw err;
    }
    return 'verified';
  };

  test("WeChat's own public-key-mode answer verifies over its raw bytes", () => {
    expect(verifyWechatSignature(headers, raw, keyring(), signedAt)).toBe(PUB_KEY_ID);
  });

  test('a body changed by one byte, or re-serialised with a space, is refused', () => {
    expect(reason(() => verifyWechatSignature(headers, Buffer.from(raw.toString().replace('JyC91EIz1', 'JyC91EIz2')), keyring(), signedAt))).toBe('bad_signature');
    expect(reason(() => verifyWechatSignature(headers, Buffer.from(JSON.stringify(JSON.parse(raw.toString()), null, 1)), keyring(), signedAt))).toBe('bad_signature');
  });

  test('a serial the lookup does not hold is refused before any key is tried', () => {
    expect(reason(() => verifyWechatSignature({ ...headers, 'wechatpay-serial': 'PUB_KEY_ID_0000000000000024101100397200000007' }, raw, keyring(), signedAt))).toBe('unknown_serial');
  });

  test('299 s away is accepted, 300 s either way is refused (a replay or a clock to fix)', () => {
    expect(reason(() => verifyWechatSignature(headers, raw, keyring(), new Date(signedAt.getTime() + 299_000)))).toBe('verified');
    expect(reason(() => verifyWechatSignature(headers, raw, keyring(), new Date(signedAt.getTime() - 299_000)))).toBe('verified');
    expect(reason(() => verifyWechatSignature(headers, raw, keyring(), new Date(signedAt.getTime() + 300_000)))).toBe('stale');
    expect(reason(() => verifyWechatSignature(headers, raw, keyring(), new Date(signedAt.getTime() - 300_000)))).toBe('stale');
  });

  test('a WECHATPAY/SIGNTEST/ probe is refused', () => {
    expect(reason(() => verifyWechatSignature({ ...headers, 'wechatpay-signature': `WECHATPAY/SIGNTEST/${headers['wechatpay-signature']}` }, raw, keyring(), signedAt))).toBe('signtest');
  });

  test('missing headers (an unsigned answer) are refused', () => {
    const { 'wechatpay-signature': _dropped, ...unsigned } = headers;
    expect(reason(() => verifyWechatSignature(unsigned, raw, keyring(), signedAt))).toBe('missing_header');
  });

  test('the same lookup holds platform certificates: a certificate-signed notify and a public-key-signed one both verify (the migration)', () => {
    const ring = keyring();
    const platformSerial = ring.addCertificate(fs.readFileSync(path.join(FIXTURES, 'platform_cert.pem')));
    const platformKey = crypto.createPrivateKey(fs.readFileSync(path.join(FIXTURES, 'platform_key.pem')));
    const now = new Date('2026-12-07T10:00:00Z');
    const body = Buffer.from('{"id":"EV-1"}');
    const signed = signWechatAnswer(body, { serial: platformSerial, privateKey: platformKey }, { timestamp: Math.floor(now.getTime() / 1000), nonce: 'n1' });
    expect(verifyWechatSignature(signed, body, ring, now)).toBe(platformSerial);
    expect(verifyWechatSignature(headers, raw, ring, signedAt)).toBe(PUB_KEY_ID);
    // signed by the platform key but claiming the public key's id: the key named is the key used
    expect(reason(() => verifyWechatSignature({ ...signed, 'Wechatpay-Serial': PUB_KEY_ID }, body, ring, now))).toBe('bad_signature');
  });
});

describe('AEAD_AES_256_GCM resources', () => {
  const key = '0123456789abcdefghijklmnopqrstuv';
  const plaintext = '{"mchid":"1900000109","out_trade_no":"TEST0000001","trade_state":"SUCCESS","amount":{"total":1,"payer_total":1,"currency":"CNY","payer_currency":"CNY"}}';
  const ciphertext =
    'vEKDn/1XdB2pm9xRSbTdPQ8G1pknxNcVZkGgG8n6J2mhD41t1NwQAx1z3h92/R+dHWEXBr0ym3TBTXX7d0LNSZrQAvQCcLrnJAwGWvTAi4Hvvu397XUMN3wPMB2NRCYpx0nPS12iQpX5pZC8PDtx63TWLmnPsnwo/DmmQ+8/IduLjZqBd6FnBkDeVcgWqlAJfW3fd1FFVYjNWHScGrzN/ySRuHxgt+Gf';
  const resource = { algorithm: 'AEAD_AES_256_GCM', ciphertext, associated_data: 'transaction', nonce: 'abcdefghijkl' };

  test('the vector decrypts to its plaintext, and encrypts back to the same bytes', () => {
    expect(decryptResource(resource, key)).toBe(plaintext);
    expect(encryptResource(plaintext, key, { nonce: 'abcdefghijkl', associatedData: 'transaction' })).toBe(ciphertext);
  });

  test('a flipped tag byte, another AAD, or another key is refused', () => {
    const bytes = Buffer.from(ciphertext, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    expect(() => decryptResource({ ...resource, ciphertext: bytes.toString('base64') }, key)).toThrow(WxV3DecryptError);
    expect(() => decryptResource({ ...resource, associated_data: 'refund' }, key)).toThrow(WxV3DecryptError);
    expect(() => decryptResource(resource, 'vutsrqponmlkjihgfedcba9876543210')).toThrow(WxV3DecryptError);
  });

  test('a 16-byte key is refused as such, not as a bad tag', () => {
    expect(() => decryptResource(resource, '0123456789abcdef')).toThrow(/32 bytes/);
  });
});
