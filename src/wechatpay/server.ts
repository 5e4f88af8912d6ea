/**
 * The WeChat side of the wire, for the simulator and tests: reading a merchant's signed request and
 * building the signed answers WeChat gives. Production code, so both sides speak one dialect.
 */
import type { RefundQueryItem } from './client-types';
import { WxXmlError } from './errors';
import type { WxMerchant } from './notify';
import type { Fields, SignType } from './sign';
import { isSignType, nonceStr, signFields, verifySignature } from './sign';
import { buildXml, parseXml } from './xml';

/** return_msg texts WeChat uses for requests it cannot take. */
export const RETURN_MSG = {
  badXml: 'XML格式错误',
  badSignature: '签名错误',
  badSignType: 'sign_type参数格式错误',
  wrongMerchant: 'appid和mch_id不匹配',
  noBill: 'No Bill Exist',
} as const;

export type ReadRequestResult =
  | { ok: true; fields: Record<string, string>; signType: SignType }
  | { ok: false; reason: 'bad_xml' | 'bad_signature' | 'wrong_merchant'; returnMsg: string };

/**
 * Reads a merchant's request as WeChat does: the algorithm is the request's sign_type field (absent
 * means MD5), never guessed; the signature covers every field; appid and mch_id must be the
 * merchant's. A refusal is returned (not thrown) with the return_msg to answer with.
 */
export async function readSignedRequest(
  body: string | Buffer,
  merchant: Pick<WxMerchant, 'appId' | 'mchId' | 'apiKey'>,
): Promise<ReadRequestResult> {
  let fields: Record<string, string>;
  try {
    fields = await parseXml(body);
  } catch (err) {
    if (err instanceof WxXmlError) return { ok: false, reason: 'bad_xml', returnMsg: RETURN_MSG.badXml };
    throw err;
  }
  const declared = fields.sign_type === undefined || fields.sign_type === '' ? 'MD5' : fields.sign_type;
  if (!isSignType(declared)) return { ok: false, reason: 'bad_signature', returnMsg: RETURN_MSG.badSignType };
  if (!verifySignature(fields, merchant.apiKey, declared)) {
    return { ok: false, reason: 'bad_signature', returnMsg: RETURN_MSG.badSignature };
  }
  if (fields.appid !== merchant.appId || fields.mch_id !== merchant.mchId) {
    return { ok: false, reason: 'wrong_merchant', returnMsg: RETURN_MSG.wrongMerchant };
  }
  return { ok: true, fields, signType: declared };
}

/**
 * A signed SUCCESS answer: `fields` laid over return_code/result_code SUCCESS, the merchant's appid
 * and mch_id and a fresh nonce_str (pass `undefined` to drop a default). Signed with `signType`,
 * which is the request's; WeChat adds no sign_type field to its answers.
 */
export function buildSignedResponse(fields: Fields, merchant: WxMerchant, signType: SignType = merchant.signType ?? 'MD5'): string {
  const merged: Fields = {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: merchant.appId,
    mch_id: merchant.mchId,
    nonce_str: nonceStr(),
    result_code: 'SUCCESS',
    ...fields,
  };
  return buildXml(signFields(merged, merchant.apiKey, signType));
}

/** A signed result_code=FAIL answer with err_code and err_code_des. */
export function buildBusinessErrorResponse(
  errCode: string,
  errCodeDes: string,
  merchant: WxMerchant,
  signType: SignType = merchant.signType ?? 'MD5',
  extra: Fields = {},
): string {
  return buildSignedResponse({ result_code: 'FAIL', err_code: errCode, err_code_des: errCodeDes, ...extra }, merchant, signType);
}

/** An unsigned return_code=FAIL answer, as WeChat gives for a request it could not take. */
export function buildReturnFailResponse(returnMsg: string): string {
  return buildXml({ return_code: 'FAIL', return_msg: returnMsg });
}

/** The indexed `_$n` fields of a refundquery answer for a list of refunds (the inverse of readIndexedRefunds). */
export function indexedRefundFields(refunds: readonly RefundQueryItem[]): Fields {
  const fields: Fields = { refund_count: refunds.length };
  refunds.forEach((refund, n) => {
    fields[`out_refund_no_${n}`] = refund.outRefundNo;
    fields[`refund_id_${n}`] = refund.refundId;
    fields[`refund_fee_${n}`] = refund.refundFee;
    fields[`refund_status_${n}`] = refund.refundStatus;
    fields[`refund_success_time_${n}`] = refund.successTime;
    fields[`refund_recv_accout_${n}`] = refund.refundRecvAccout;
  });
  return fields;
}
