import crypto from 'node:crypto';
import {
  WxBusinessError,
  WxDecryptError,
  WxNotifyRejected,
  WxPayError,
  WxReturnError,
  WxSignatureError,
  WxXmlError,
  buildPaymentNotify,
  buildRefundNotify,
  buildXml,
  decryptReqInfo,
  encryptReqInfo,
  failReply,
  isSuccessReply,
  parsePaymentNotify,
  parseRefundNotify,
  parseXml,
  signFields,
  successReply,
} from '../../../src/wechatpay';
import type { Fields, WxMerchant } from '../../../src/wechatpay';

const merchant: WxMerchant = { appId: 'wxd930ea5d5a258f4f', mchId: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };
const hmacMerchant: WxMerchant = { ...merchant, signType: 'HMAC-SHA256' };

const paid: Fields = {
  out_trade_no: 'PAY20240101000001',
  transaction_id: '4200001234202401010000000001',
  total_fee: 1234,
  time_end: '20240101120000',
  attach: 'cart:42',
};

async function refusal(promise: Promise<unknown>): Promise<WxPayError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof WxPayError) return err;
    throw new Error(`expected a WxPayError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a refusal, but the notify was accepted');
}

/** A notify signed over exactly these fields, with no defaults added. */
function signedNotify(fields: Fields, signer: WxMerchant = merchant): string {
  return buildXml(signFields(fields, signer.apiKey, signer.signType ?? 'MD5'));
}

const baseFields: Fields = {
  return_code: 'SUCCESS',
  appid: merchant.appId,
  mch_id: merchant.mchId,
  nonce_str: 'abc',
  result_code: 'SUCCESS',
  ...paid,
};

describe('parsePaymentNotify', () => {
  it('when a well-signed SUCCESS notify arrives, it returns the typed notice with every raw field', async () => {
    const notice = await parsePaymentNotify(buildPaymentNotify({ ...paid, coupon_fee_0: '0' }, merchant), merchant);
    expect(notice).toMatchObject({
      outTradeNo: 'PAY20240101000001',
      transactionId: '4200001234202401010000000001',
      totalFee: 1234,
      cashFee: 1234,
      feeType: 'CNY',
      timeEnd: '20240101120000',
      tradeType: 'NATIVE',
      bankType: 'OTHERS',
      attach: 'cart:42',
      appId: merchant.appId,
      mchId: merchant.mchId,
    });
    expect(notice.fields.coupon_fee_0).toBe('0');
    expect(notice.fields.sign).toMatch(/^[0-9A-F]{32}$/);
  });

  // WeChat v2 "支付结果通知" (payment notify) field table: sign_type is optional (default MD5), and
  // the notify is signed as its unifiedorder was; WxJava picks the algorithm from sign_type or length.
  it('when an HMAC-SHA256 merchant gets a notify without sign_type, it verifies it as HMAC-SHA256 by its length', async () => {
    const body = buildPaymentNotify(paid, hmacMerchant);
    expect(body).not.toContain('sign_type');
    await expect(parsePaymentNotify(body, hmacMerchant)).resolves.toMatchObject({ totalFee: 1234 });
  });

  it('when no sign type is configured, a 64-char notify signature is verified as HMAC-SHA256', async () => {
    await expect(parsePaymentNotify(buildPaymentNotify(paid, hmacMerchant), merchant)).resolves.toMatchObject({ totalFee: 1234 });
  });

  it('when the shop now signs MD5 but an order made with HMAC-SHA256 is notified again, the notify is accepted (the configured type never overrides)', async () => {
    await expect(parsePaymentNotify(buildPaymentNotify(paid, hmacMerchant), { ...merchant, signType: 'MD5' })).resolves.toMatchObject({ totalFee: 1234 });
    await expect(parsePaymentNotify(buildPaymentNotify(paid, merchant), { ...merchant, signType: 'HMAC-SHA256' })).resolves.toMatchObject({ totalFee: 1234 });
  });

  it('when a notify declares sign_type, it is verified with the declared algorithm', async () => {
    const declared = buildPaymentNotify({ ...paid, sign_type: 'HMAC-SHA256' }, hmacMerchant);
    expect(declared).toContain('<sign_type><![CDATA[HMAC-SHA256]]></sign_type>');
    await expect(parsePaymentNotify(declared, { ...merchant, signType: 'MD5' })).resolves.toMatchObject({ totalFee: 1234 });
    // an HMAC signature under a sign_type=MD5 declaration is checked as MD5, and fails
    const lying = signedNotify({ ...baseFields, sign_type: 'MD5' }, hmacMerchant);
    expect((await refusal(parsePaymentNotify(lying, merchant))).code).toBe('bad_signature');
    const unknownType = signedNotify({ ...baseFields, sign_type: 'SHA1' }, merchant);
    expect((await refusal(parsePaymentNotify(unknownType, merchant))).code).toBe('bad_signature');
  });

  it('when a 64-char signature is made with another key, it is refused as bad_signature with a hint', async () => {
    const err = await refusal(parsePaymentNotify(buildPaymentNotify(paid, { ...hmacMerchant, apiKey: 'y'.repeat(32) }), { ...merchant, signType: 'MD5' }));
    expect(err).toBeInstanceOf(WxSignatureError);
    expect(err.code).toBe('bad_signature');
    expect(err.message).toMatch(/WXPAY_API_KEY and WXPAY_SIGN_TYPE/);
  });

  it('when total_fee is changed after signing, it is refused as bad_signature', async () => {
    const body = buildPaymentNotify(paid, merchant).replace('<total_fee><![CDATA[1234]]>', '<total_fee><![CDATA[1]]>');
    expect(body).toContain('<total_fee><![CDATA[1]]>');
    expect((await refusal(parsePaymentNotify(body, merchant))).code).toBe('bad_signature');
  });

  it('when an unknown field is changed after signing, it is refused as bad_signature', async () => {
    const body = buildPaymentNotify({ ...paid, promotion_detail: 'a' }, merchant).replace('[CDATA[a]]', '[CDATA[b]]');
    expect((await refusal(parsePaymentNotify(body, merchant))).code).toBe('bad_signature');
  });

  it('when the notify is signed with another key, it is refused as bad_signature', async () => {
    const body = buildPaymentNotify(paid, { ...merchant, apiKey: 'x'.repeat(32) });
    expect((await refusal(parsePaymentNotify(body, merchant))).code).toBe('bad_signature');
  });

  it('when the notify has no sign, it is refused as missing_signature', async () => {
    const err = await refusal(parsePaymentNotify(buildXml(baseFields), merchant));
    expect(err).toBeInstanceOf(WxSignatureError);
    expect(err.code).toBe('missing_signature');
  });

  it('when the body is not XML, it is refused as bad_xml', async () => {
    const err = await refusal(parsePaymentNotify('return_code=SUCCESS', merchant));
    expect(err).toBeInstanceOf(WxXmlError);
    expect(err.code).toBe('bad_xml');
  });

  it('when return_code is FAIL, it is refused as not_success with WxReturnError', async () => {
    const err = await refusal(parsePaymentNotify(signedNotify({ ...baseFields, return_code: 'FAIL', return_msg: 'boom' }), merchant));
    expect(err).toBeInstanceOf(WxReturnError);
    expect(err.code).toBe('not_success');
    expect((err as WxReturnError).returnMsg).toBe('boom');
  });

  it('when result_code is FAIL, it is refused as not_success with the err_code', async () => {
    const body = signedNotify({ ...baseFields, result_code: 'FAIL', err_code: 'NOTENOUGH', err_code_des: '余额不足' });
    const err = await refusal(parsePaymentNotify(body, merchant));
    expect(err).toBeInstanceOf(WxBusinessError);
    expect(err.code).toBe('not_success');
    expect((err as WxBusinessError).errCode).toBe('NOTENOUGH');
    expect((err as WxBusinessError).errCodeDes).toBe('余额不足');
  });

  it.each([
    ['appid', { appid: 'wx0000000000000000' }],
    ['mch_id', { mch_id: '19999999' }],
  ])('when %s is not ours (even correctly signed with our key), it is refused as wrong_merchant', async (_name, change) => {
    const err = await refusal(parsePaymentNotify(signedNotify({ ...baseFields, ...change }), merchant));
    expect(err).toBeInstanceOf(WxNotifyRejected);
    expect(err.code).toBe('wrong_merchant');
    expect((err as WxNotifyRejected).reason).toBe('wrong_merchant');
  });

  it.each(['out_trade_no', 'transaction_id', 'total_fee', 'time_end'])('when %s is missing, it is refused as missing_field', async (name) => {
    const err = await refusal(parsePaymentNotify(signedNotify({ ...baseFields, [name]: undefined }), merchant));
    expect(err.code).toBe('missing_field');
    expect(err.message).toContain(name);
  });

  it.each(['12.34', '-1', '1e3', ' 1', '0x10', '99999999999999999999'])('when total_fee is %j, it is refused as bad_amount', async (fee) => {
    const err = await refusal(parsePaymentNotify(signedNotify({ ...baseFields, total_fee: fee }), merchant));
    expect(err.code).toBe('bad_amount');
  });

  it('when cash_fee is not integer fen, it is refused as bad_amount', async () => {
    expect((await refusal(parsePaymentNotify(signedNotify({ ...baseFields, cash_fee: '1.0' }), merchant))).code).toBe('bad_amount');
  });

  it('when total_fee is 0, it is accepted as 0 (the caller compares it with the order)', async () => {
    await expect(parsePaymentNotify(signedNotify({ ...baseFields, total_fee: '0' }), merchant)).resolves.toMatchObject({ totalFee: 0 });
  });

  it('when fee_type is absent, it means CNY', async () => {
    const notice = await parsePaymentNotify(signedNotify(baseFields), merchant);
    expect(notice.feeType).toBe('CNY');
    expect(notice.cashFee).toBeUndefined();
  });

  it.each(['USD', 'cny', 'HKD'])('when fee_type is %s, it is refused as bad_fee_type', async (feeType) => {
    const err = await refusal(parsePaymentNotify(signedNotify({ ...baseFields, fee_type: feeType }), merchant));
    expect(err.code).toBe('bad_fee_type');
  });

  it('when time_end is not yyyyMMddHHmmss, it is refused as bad_field', async () => {
    const err = await refusal(parsePaymentNotify(signedNotify({ ...baseFields, time_end: '2024-01-01 12:00:00' }), merchant));
    expect(err.code).toBe('bad_field');
  });
});

describe('notify replies', () => {
  it('when acknowledging, the reply is exactly the documented SUCCESS XML', () => {
    expect(successReply()).toBe('<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>');
  });

  it('when refusing, the reply is FAIL with the message, even one holding "]]>"', async () => {
    const fields = await parseXml(failReply('bad ]]> sign'));
    expect({ ...fields }).toEqual({ return_code: 'FAIL', return_msg: 'bad ]]> sign' });
  });

  it.each([
    ['the SUCCESS reply', successReply(), true],
    ['a SUCCESS reply without CDATA', '<xml><return_code>SUCCESS</return_code></xml>', true],
    ['a FAIL reply', failReply('later'), false],
    ['plain text "success"', 'success', false],
    ['the SUCCESS reply with extra bytes after it', `${successReply()}OK`, false],
    ['an empty body', '', false],
  ])('when the simulator reads %s, isSuccessReply says %s', async (_name, body, expected) => {
    expect(await isSuccessReply(body)).toBe(expected);
  });
});

describe('refund req_info', () => {
  const inner = '<root><out_refund_no><![CDATA[R1]]></out_refund_no><refund_recv_accout><![CDATA[支付用户零钱]]></refund_recv_accout></root>';

  it('when encrypted and decrypted with the same key, the XML comes back', () => {
    const reqInfo = encryptReqInfo(inner, merchant.apiKey);
    expect(reqInfo).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(decryptReqInfo(reqInfo, merchant.apiKey)).toBe(inner);
  });

  it('when WeChat encrypts with md5hex(apiKey) as the AES-256-ECB key, we decrypt it (independent implementation)', () => {
    const key = Buffer.from(crypto.createHash('md5').update(merchant.apiKey).digest('hex'), 'ascii');
    const cipher = crypto.createCipheriv('aes-256-ecb', key, null);
    const reqInfo = Buffer.concat([cipher.update(inner, 'utf8'), cipher.final()]).toString('base64');
    expect(decryptReqInfo(reqInfo, merchant.apiKey)).toBe(inner);
    expect(encryptReqInfo(inner, merchant.apiKey)).toBe(reqInfo);
  });

  it('when the API key itself was used as the AES key (a common mistake), decryption fails cleanly', () => {
    const cipher = crypto.createCipheriv('aes-256-ecb', Buffer.from(merchant.apiKey, 'ascii'), null);
    const reqInfo = Buffer.concat([cipher.update(inner, 'utf8'), cipher.final()]).toString('base64');
    expect(() => decryptReqInfo(reqInfo, merchant.apiKey)).toThrow(WxDecryptError);
  });

  it.each(Array.from({ length: 20 }, (_, i) => `wrong-key-${i}`))('when decrypted with the wrong key %s, it throws WxDecryptError', (wrongKey) => {
    const reqInfo = encryptReqInfo(inner, merchant.apiKey);
    expect(() => decryptReqInfo(reqInfo, wrongKey)).toThrow(WxDecryptError);
  });

  it.each([
    ['not base64', 'not base64!'],
    ['empty', ''],
    ['not whole AES blocks', Buffer.alloc(15).toString('base64')],
  ])('when req_info is %s, it throws WxDecryptError', (_name, reqInfo) => {
    expect(() => decryptReqInfo(reqInfo, merchant.apiKey)).toThrow(WxDecryptError);
  });
});

describe('parseRefundNotify', () => {
  const refund: Fields = {
    transaction_id: '4200001234202401010000000001',
    out_trade_no: 'PAY20240101000001',
    refund_id: '50000000382019052709732678859',
    out_refund_no: 'RF20240101000001',
    total_fee: 1234,
    refund_fee: 234,
    settlement_refund_fee: 234,
    refund_status: 'SUCCESS',
    success_time: '2024-01-01 12:05:00',
    refund_recv_accout: '支付用户零钱',
    refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_request_source: 'API',
  };

  it('when a refund notify arrives (with no sign, as WeChat sends it), it returns the typed notice', async () => {
    const body = buildRefundNotify(refund, merchant);
    expect(body).not.toContain('<sign>');
    const notice = await parseRefundNotify(body, merchant);
    expect(notice).toMatchObject({
      outTradeNo: 'PAY20240101000001',
      transactionId: '4200001234202401010000000001',
      refundId: '50000000382019052709732678859',
      outRefundNo: 'RF20240101000001',
      totalFee: 1234,
      refundFee: 234,
      settlementRefundFee: 234,
      refundStatus: 'SUCCESS',
      successTime: '2024-01-01 12:05:00',
      refundRecvAccout: '支付用户零钱',
      appId: merchant.appId,
      mchId: merchant.mchId,
    });
    expect(notice.outerFields.req_info).toBeDefined();
  });

  it('when req_info was encrypted with another key, it is refused as bad_req_info', async () => {
    const err = await refusal(parseRefundNotify(buildRefundNotify(refund, { ...merchant, apiKey: 'another-key' }), merchant));
    expect(err).toBeInstanceOf(WxDecryptError);
    expect(err.code).toBe('bad_req_info');
  });

  it('when return_code is FAIL, it is refused as not_success', async () => {
    const body = buildRefundNotify(refund, merchant, { return_code: 'FAIL', return_msg: 'x', req_info: undefined });
    expect(await refusal(parseRefundNotify(body, merchant))).toBeInstanceOf(WxReturnError);
  });

  it('when mch_id is not ours, it is refused as wrong_merchant', async () => {
    const body = buildRefundNotify(refund, merchant, { mch_id: '19999999' });
    expect((await refusal(parseRefundNotify(body, merchant))).code).toBe('wrong_merchant');
  });

  it('when req_info is missing, it is refused as missing_field', async () => {
    const body = buildRefundNotify(refund, merchant, { req_info: undefined });
    expect((await refusal(parseRefundNotify(body, merchant))).code).toBe('missing_field');
  });

  it('when the decrypted req_info lacks refund_id, it is refused as missing_field', async () => {
    const body = buildRefundNotify({ ...refund, refund_id: undefined }, merchant);
    expect((await refusal(parseRefundNotify(body, merchant))).code).toBe('missing_field');
  });

  it('when refund_fee is not integer fen, it is refused as bad_amount', async () => {
    const body = buildRefundNotify({ ...refund, refund_fee: '2.34' }, merchant);
    expect((await refusal(parseRefundNotify(body, merchant))).code).toBe('bad_amount');
  });

  it('when refund_status is unknown, it is refused as bad_field', async () => {
    const body = buildRefundNotify({ ...refund, refund_status: 'PROCESSING' }, merchant);
    expect((await refusal(parseRefundNotify(body, merchant))).code).toBe('bad_field');
  });

  it.each(['CHANGE', 'REFUNDCLOSE'])('when refund_status is %s, it is passed on for the caller to act on', async (status) => {
    const notice = await parseRefundNotify(buildRefundNotify({ ...refund, refund_status: status, success_time: undefined }, merchant), merchant);
    expect(notice.refundStatus).toBe(status);
    expect(notice.successTime).toBeUndefined();
  });

  it('when the decrypted req_info is <xml> instead of <root>, it is refused as bad_req_info', async () => {
    const body = buildXml({
      return_code: 'SUCCESS',
      appid: merchant.appId,
      mch_id: merchant.mchId,
      req_info: encryptReqInfo(buildXml(refund), merchant.apiKey),
    });
    expect((await refusal(parseRefundNotify(body, merchant))).code).toBe('bad_req_info');
  });
});
