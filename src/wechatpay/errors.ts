/**
 * Errors of the WeChat Pay v2 protocol module.
 *
 * Every error carries a short machine-readable `code` (for logs, metrics and the webhook's FAIL
 * reply) and a message that names the usual cause for a human. Programmer mistakes (bad
 * arguments) are NOT WxPayErrors: they are plain TypeError/RangeError and should never be caught.
 */

export type WxErrorCode =
  | 'transport'
  | 'bad_xml'
  | 'missing_signature'
  | 'bad_signature'
  | 'not_success'
  | 'bad_response'
  | 'bad_req_info'
  | NotifyRejectReason;

/** Why a notify was refused (beyond bad XML, signature, return_code and result_code). */
export type NotifyRejectReason = 'wrong_merchant' | 'missing_field' | 'bad_amount' | 'bad_fee_type' | 'bad_field';

export class WxPayError extends Error {
  readonly code: WxErrorCode;

  constructor(code: WxErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WxPayError';
    this.code = code;
  }
}

/** The call did not complete: network failure, timeout, TLS problem, non-2xx HTTP status. */
export class WxTransportError extends WxPayError {
  /** HTTP status when the server answered with a non-2xx status. */
  readonly status: number | undefined;

  constructor(message: string, options: { cause?: unknown; status?: number } = {}) {
    super('transport', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WxTransportError';
    this.status = options.status;
  }
}

export type XmlRejectReason =
  | 'empty'
  | 'too_large'
  | 'bad_encoding'
  | 'doctype'
  | 'malformed'
  | 'bad_root'
  | 'text_in_root'
  | 'nested'
  | 'repeated'
  | 'attributes'
  | 'forbidden_name'
  | 'bad_field_name'
  | 'too_many_fields';

/** The body is not the flat `<xml><field>value</field>...</xml>` WeChat speaks, or is hostile. */
export class WxXmlError extends WxPayError {
  readonly reason: XmlRejectReason;

  constructor(reason: XmlRejectReason, detail: string, options?: ErrorOptions) {
    super('bad_xml', `bad WeChat Pay XML (${reason}): ${detail}`, options);
    this.name = 'WxXmlError';
    this.reason = reason;
  }
}

/** The response or notify has no signature, or one that does not match our key. */
export class WxSignatureError extends WxPayError {
  constructor(kind: 'missing' | 'mismatch', where: string) {
    super(
      kind === 'missing' ? 'missing_signature' : 'bad_signature',
      kind === 'missing'
        ? `${where} carries no sign: it is not trusted (a forged message, or a FAIL answer from a proxy)`
        : `signature mismatch on ${where}: check WXPAY_API_KEY and WXPAY_SIGN_TYPE ` +
            '(an HMAC-SHA256 merchant must not verify as MD5), or the message was tampered with',
    );
    this.name = 'WxSignatureError';
  }
}

/** return_code=FAIL: the call did not get through (bad signature, missing parameter, no bill...). */
export class WxReturnError extends WxPayError {
  readonly returnMsg: string;
  readonly fields: Readonly<Record<string, string>>;

  constructor(returnMsg: string, fields: Readonly<Record<string, string>> = {}, where = 'WeChat Pay') {
    super('not_success', `${where} answered return_code=FAIL: ${returnMsg || '(no return_msg)'}${returnHint(returnMsg)}`);
    this.name = 'WxReturnError';
    this.returnMsg = returnMsg;
    this.fields = fields;
  }
}

function returnHint(returnMsg: string): string {
  if (/sign|签名/i.test(returnMsg)) return ' (check WXPAY_API_KEY and WXPAY_SIGN_TYPE)';
  if (/appid|mch_?id|商户号/i.test(returnMsg)) return ' (check WXPAY_APPID and WXPAY_MCH_ID)';
  if (/No Bill Exist/i.test(returnMsg)) return ' (no trade that day, or the bill is not ready: WeChat builds it after 9:00 Beijing time)';
  return '';
}

/** Hints for the error codes a checkout must act on (WECHATPAY.md). */
const BUSINESS_HINTS: Readonly<Record<string, string>> = {
  ORDERPAID: 'the order is paid already: query it and mark it paid',
  ORDERCLOSED: 'the order is closed: start a new payment attempt with a new out_trade_no',
  OUT_TRADE_NO_USED: 'this out_trade_no was used with other parameters: use a new out_trade_no',
  SYSTEMERROR: 'WeChat Pay had a passing fault: retry with the very same parameters',
  BIZERR_NEED_RETRY: 'retry with the very same out_refund_no',
  NOTENOUGH: 'not enough balance',
  NOAUTH: 'the merchant lacks the permission for this call',
  SIGNERROR: 'check WXPAY_API_KEY and WXPAY_SIGN_TYPE',
  APPID_NOT_EXIST: 'check WXPAY_APPID',
  MCHID_NOT_EXIST: 'check WXPAY_MCH_ID',
  APPID_MCHID_NOT_MATCH: 'check that WXPAY_APPID is bound to WXPAY_MCH_ID',
  ORDERNOTEXIST: 'WeChat Pay does not know this order',
  REFUNDNOTEXIST: 'WeChat Pay knows no refund for this query',
  TRADE_OVERDUE: 'the trade is older than a year and cannot be refunded',
  INVALID_REQ_TOO_MUCH: 'too many requests: slow down',
  FREQUENCY_LIMITED: 'too many requests: slow down (refunds of one trade need a minute between them)',
};

/** Error codes after which the very same request may be sent again. */
const RETRYABLE = new Set(['SYSTEMERROR', 'BIZERR_NEED_RETRY']);

/** result_code=FAIL: the call got through and WeChat Pay refused the business operation. */
export class WxBusinessError extends WxPayError {
  readonly errCode: string;
  readonly errCodeDes: string;
  readonly fields: Readonly<Record<string, string>>;
  /** True when WeChat asks for a retry with the very same parameters (SYSTEMERROR, BIZERR_NEED_RETRY). */
  readonly retryable: boolean;

  constructor(errCode: string, errCodeDes: string, fields: Readonly<Record<string, string>> = {}, where = 'WeChat Pay') {
    const hint = BUSINESS_HINTS[errCode];
    super(
      'not_success',
      `${where} answered result_code=FAIL, err_code=${errCode || '(none)'}: ${errCodeDes || '(no err_code_des)'}` +
        (hint === undefined ? '' : ` (${hint})`),
    );
    this.name = 'WxBusinessError';
    this.errCode = errCode;
    this.errCodeDes = errCodeDes;
    this.fields = fields;
    this.retryable = RETRYABLE.has(errCode);
  }
}

/** A signed SUCCESS answer that lacks a field the protocol promises, or has one we cannot read. */
export class WxResponseError extends WxPayError {
  readonly fields: Readonly<Record<string, string>>;

  constructor(message: string, fields: Readonly<Record<string, string>> = {}) {
    super('bad_response', `unexpected WeChat Pay answer: ${message}`);
    this.name = 'WxResponseError';
    this.fields = fields;
  }
}

/** A notify that is well-formed and authentic enough to read, but that we refuse. */
export class WxNotifyRejected extends WxPayError {
  readonly reason: NotifyRejectReason;
  readonly fields: Readonly<Record<string, string>>;

  constructor(reason: NotifyRejectReason, message: string, fields: Readonly<Record<string, string>> = {}) {
    super(reason, message);
    this.name = 'WxNotifyRejected';
    this.reason = reason;
    this.fields = fields;
  }
}

/** A refund notify's req_info that does not decrypt to XML with our key. */
export class WxDecryptError extends WxPayError {
  constructor(detail: string, options?: ErrorOptions) {
    super(
      'bad_req_info',
      `cannot decrypt req_info (${detail}): check WXPAY_API_KEY (the AES key is the lower-case hex MD5 of the v2 API key, ` +
        'not the key itself), or the notify is forged',
      options,
    );
    this.name = 'WxDecryptError';
  }
}

/**
 * A programmer mistake in the arguments of a call (an out_trade_no too long, a fee in yuan...).
 * Deliberately not a WxPayError: it is a bug to fix, not a condition to handle.
 */
export class WxArgumentError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'WxArgumentError';
  }
}
