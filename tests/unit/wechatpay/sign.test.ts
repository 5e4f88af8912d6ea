import { nonceStr, signFields, signatureOf, stringToSign, verifySignature } from '../../../src/wechatpay';

// The vector from the official v2 documentation (WECHATPAY.md).
const KEY = '192006250b4c09247ec02edce69f6a2d';
const DOC_FIELDS = { appid: 'wxd930ea5d5a258f4f', mch_id: '10000100', device_info: '1000', body: 'test', nonce_str: 'ibuaiVcKdpRxkhJA' };
const DOC_MD5 = '9A0A8659F005D6984697E2CA0A9CF3B7';
const DOC_HMAC = '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6';

describe('signatureOf', () => {
  it('when given the documentation vector, MD5 gives the documented signature', () => {
    expect(signatureOf(DOC_FIELDS, KEY, 'MD5')).toBe(DOC_MD5);
  });

  it('when given the documentation vector, HMAC-SHA256 gives the documented signature', () => {
    expect(signatureOf(DOC_FIELDS, KEY, 'HMAC-SHA256')).toBe(DOC_HMAC);
  });

  it('when building the string to sign, fields are sorted and joined raw with &key= last', () => {
    expect(stringToSign(DOC_FIELDS, KEY)).toBe(
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d',
    );
  });

  it('when fields are empty, null, undefined or named sign, they are left out of the signature', () => {
    const noisy = { ...DOC_FIELDS, sign: 'WHATEVER', attach: '', openid: undefined, detail: null };
    expect(signatureOf(noisy, KEY, 'MD5')).toBe(DOC_MD5);
  });

  it('when a field is a number, it is signed as its decimal text', () => {
    expect(signatureOf({ ...DOC_FIELDS, device_info: 1000 }, KEY, 'MD5')).toBe(DOC_MD5);
  });

  it('when names differ in case and underscores, they sort by byte order, not by locale', () => {
    expect(stringToSign({ a: '1', B: '2', _x: '3' }, 'k')).toBe('B=2&_x=3&a=1&key=k');
  });

  it('when values hold &, = or Chinese, they are signed raw, without URL encoding', () => {
    expect(stringToSign({ body: '测试 a&b=c' }, 'k')).toBe('body=测试 a&b=c&key=k');
  });
});

describe('signFields', () => {
  it('when signing, it returns string fields plus sign and keeps the caller-given sign_type signed', () => {
    const signed = signFields({ ...DOC_FIELDS, total_fee: 1, sign_type: 'HMAC-SHA256', skip: undefined }, KEY, 'HMAC-SHA256');
    expect(signed.total_fee).toBe('1');
    expect(signed.sign_type).toBe('HMAC-SHA256');
    expect('skip' in signed).toBe(false);
    expect(signed.sign).toHaveLength(64);
    expect(signed.sign).toBe(signatureOf({ ...DOC_FIELDS, total_fee: '1', sign_type: 'HMAC-SHA256' }, KEY, 'HMAC-SHA256'));
    expect(verifySignature(signed, KEY)).toBe(true);
  });
});

describe('verifySignature', () => {
  const md5Signed = { ...DOC_FIELDS, sign: DOC_MD5 };
  const hmacSigned = { ...DOC_FIELDS, sign: DOC_HMAC };

  it('when no algorithm is given and there is no sign_type, a 32-char signature is checked as MD5', () => {
    expect(verifySignature(md5Signed, KEY)).toBe(true);
  });

  it('when no algorithm is given and there is no sign_type, a 64-char signature is checked as HMAC-SHA256', () => {
    expect(verifySignature(hmacSigned, KEY)).toBe(true);
  });

  it('when the caller names the algorithm, it wins over the signature length', () => {
    expect(verifySignature(hmacSigned, KEY, 'HMAC-SHA256')).toBe(true);
    expect(verifySignature(hmacSigned, KEY, 'MD5')).toBe(false);
    expect(verifySignature(md5Signed, KEY, 'HMAC-SHA256')).toBe(false);
  });

  it('when a sign_type field is present, it picks the algorithm', () => {
    const signed = signFields({ ...DOC_FIELDS, sign_type: 'HMAC-SHA256' }, KEY, 'HMAC-SHA256');
    expect(verifySignature(signed, KEY)).toBe(true);
    const lying = signFields({ ...DOC_FIELDS, sign_type: 'MD5' }, KEY, 'HMAC-SHA256');
    expect(verifySignature(lying, KEY)).toBe(false);
  });

  it('when sign_type names an unknown algorithm, the message is not trusted', () => {
    const signed = signFields({ ...DOC_FIELDS, sign_type: 'SHA1' }, KEY, 'MD5');
    expect(verifySignature(signed, KEY)).toBe(false);
  });

  it('when sign is missing or empty, the message is not trusted', () => {
    expect(verifySignature({ ...DOC_FIELDS }, KEY)).toBe(false);
    expect(verifySignature({ ...DOC_FIELDS, sign: '' }, KEY)).toBe(false);
    expect(verifySignature({ ...DOC_FIELDS, sign: '' }, KEY, 'MD5')).toBe(false);
  });

  it('when the signature has a length of neither algorithm, it is refused without throwing', () => {
    expect(verifySignature({ ...DOC_FIELDS, sign: 'ABC' }, KEY)).toBe(false);
    expect(verifySignature({ ...DOC_FIELDS, sign: 'ABC' }, KEY, 'MD5')).toBe(false);
  });

  it('when the key is another one, the signature does not verify', () => {
    expect(verifySignature(md5Signed, `${KEY.slice(0, -1)}0`)).toBe(false);
  });

  it('when the signature is lower-case hex, it is refused (WeChat sends upper case)', () => {
    expect(verifySignature({ ...DOC_FIELDS, sign: DOC_MD5.toLowerCase() }, KEY)).toBe(false);
  });

  describe('when any field, unknown ones included, is tampered with', () => {
    const received = signFields({ ...DOC_FIELDS, total_fee: '100', coupon_fee_0: '10', brand_new_field: 'x' }, KEY, 'HMAC-SHA256');
    const names = Object.keys(received).filter((name) => name !== 'sign');

    it('the untouched message verifies', () => {
      expect(verifySignature(received, KEY)).toBe(true);
    });

    it.each(names)('changing %s breaks the signature', (name) => {
      expect(verifySignature({ ...received, [name]: `${received[name]}0` }, KEY)).toBe(false);
    });

    it.each(names)('dropping %s breaks the signature', (name) => {
      const { [name]: _dropped, ...rest } = received;
      expect(verifySignature(rest, KEY)).toBe(false);
    });

    it('adding a field breaks the signature', () => {
      expect(verifySignature({ ...received, extra: '1' }, KEY)).toBe(false);
    });

    it('adding an empty field does not change the signature (empty values are not signed)', () => {
      expect(verifySignature({ ...received, extra: '' }, KEY)).toBe(true);
    });
  });
});

describe('nonceStr', () => {
  it('when called, it gives 32 alphanumeric characters that differ from call to call', () => {
    const nonces = Array.from({ length: 200 }, () => nonceStr());
    for (const nonce of nonces) expect(nonce).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set(nonces).size).toBe(nonces.length);
    // Every class of character shows up across 200 nonces (6400 draws), or the alphabet is wrong.
    const all = nonces.join('');
    expect(all).toMatch(/[A-Z]/);
    expect(all).toMatch(/[a-z]/);
    expect(all).toMatch(/[0-9]/);
  });
});
