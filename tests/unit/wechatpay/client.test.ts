import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BILL_COLUMNS,
  BILL_HEADER_ALL,
  BILL_TOTALS_HEADER,
  MAX_XML_BYTES,
  RETURN_MSG,
  WX_PATHS,
  WxArgumentError,
  WxBusinessError,
  WxPayError,
  WxResponseError,
  WxReturnError,
  WxSignatureError,
  WxTransportError,
  WxXmlError,
  buildBill,
  buildBusinessErrorResponse,
  buildReturnFailResponse,
  buildSignedResponse,
  buildXml,
  createWxPayClient,
  indexedRefundFields,
  readSignedRequest,
  signFields,
} from '../../../src/wechatpay';
import type { SignType, UnifiedOrderArgs, WxMerchant, WxPayClient } from '../../../src/wechatpay';

const merchant: WxMerchant = { appId: 'wxd930ea5d5a258f4f', mchId: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };

interface Received {
  path: string;
  body: string;
  fields: Record<string, string>;
  signType: SignType;
}

type Reply = { status?: number; body: string } | 'hang' | 'destroy';

/** A tiny stand-in WeChat: it checks each request with the production reader, then answers as told. */
let answer: (req: Received) => Reply;
let received: Received[];
let server: http.Server;
let baseUrl: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const read = await readSignedRequest(body, merchant);
        if (!read.ok) {
          res.writeHead(200, { 'Content-Type': 'text/xml' }).end(buildReturnFailResponse(read.returnMsg));
          return;
        }
        const request = { path: req.url ?? '', body, fields: read.fields, signType: read.signType };
        received.push(request);
        const reply = answer(request);
        if (reply === 'hang') return;
        if (reply === 'destroy') {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status ?? 200, { 'Content-Type': 'text/xml' }).end(reply.body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  answer = () => ({ status: 500, body: 'no answer configured' });
});

function client(signType: SignType = 'MD5', extra: { timeoutMs?: number; baseUrl?: string } = {}): WxPayClient {
  return createWxPayClient({ ...merchant, signType, baseUrl: extra.baseUrl ?? baseUrl, timeoutMs: extra.timeoutMs ?? 5000 });
}

/** A signed SUCCESS answer, signed like WeChat with the request's sign type. */
const ok = (fields: Record<string, string | number | undefined>) => (req: Received): Reply => ({
  body: buildSignedResponse(fields, merchant, req.signType),
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
  }
  throw new Error('expected the call to fail');
}

const order: UnifiedOrderArgs = {
  body: '测试商品',
  outTradeNo: 'PAY20240101000001',
  totalFee: 1234,
  spbillCreateIp: '203.0.113.7',
  notifyUrl: 'https://shop.example/pay/notify',
  productId: 'cart-42',
  attach: 'cart:42',
};
const codeUrl = 'weixin://wxpay/bizpayurl?pr=abc123';

describe('unifiedOrder', () => {
  it.each<SignType>(['MD5', 'HMAC-SHA256'])('when WeChat accepts a %s-signed order, it returns prepay_id and code_url', async (signType) => {
    answer = ok({ prepay_id: 'wx201410272009395522657a690389285100', code_url: codeUrl, trade_type: 'NATIVE' });
    const result = await client(signType).unifiedOrder({
      ...order,
      timeStart: new Date('2024-01-01T04:00:00Z'),
      timeExpire: new Date('2099-01-01T04:00:00Z'),
    });
    expect(result).toMatchObject({ prepayId: 'wx201410272009395522657a690389285100', codeUrl, tradeType: 'NATIVE' });
    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req?.path).toBe(WX_PATHS.unifiedOrder);
    expect(req?.signType).toBe(signType);
    expect(req?.fields).toMatchObject({
      appid: merchant.appId,
      mch_id: merchant.mchId,
      body: '测试商品',
      out_trade_no: 'PAY20240101000001',
      total_fee: '1234',
      spbill_create_ip: '203.0.113.7',
      notify_url: 'https://shop.example/pay/notify',
      trade_type: 'NATIVE',
      product_id: 'cart-42',
      attach: 'cart:42',
      time_start: '20240101120000',
      time_expire: '20990101120000',
    });
    expect(req?.fields.nonce_str).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(req?.fields.sign_type).toBe(signType === 'HMAC-SHA256' ? 'HMAC-SHA256' : undefined);
    expect(req?.fields.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
  });

  it('when two calls are made, each carries a fresh nonce_str', async () => {
    answer = ok({ prepay_id: 'p', code_url: codeUrl });
    const c = client();
    await c.unifiedOrder(order);
    await c.unifiedOrder(order);
    expect(received[0]?.fields.nonce_str).not.toBe(received[1]?.fields.nonce_str);
  });

  it('when the base URL ends with a slash, the path is still joined correctly', async () => {
    answer = ok({ prepay_id: 'p', code_url: codeUrl });
    await client('MD5', { baseUrl: `${baseUrl}/` }).unifiedOrder(order);
    expect(received[0]?.path).toBe('/pay/unifiedorder');
  });

  it('when WeChat answers return_code=FAIL, the call throws WxReturnError with return_msg', async () => {
    answer = () => ({ body: buildReturnFailResponse('签名错误') });
    const err = await failure(client().unifiedOrder(order));
    expect(err).toBeInstanceOf(WxReturnError);
    expect((err as WxReturnError).returnMsg).toBe('签名错误');
    expect(err.message).toMatch(/WXPAY_API_KEY/);
  });

  it('when our request is signed with the wrong key, WeChat answers FAIL and the call throws WxReturnError', async () => {
    const wrong = createWxPayClient({ ...merchant, apiKey: 'k'.repeat(32), signType: 'MD5', baseUrl });
    const err = await failure(wrong.unifiedOrder(order));
    expect(err).toBeInstanceOf(WxReturnError);
    expect((err as WxReturnError).returnMsg).toBe(RETURN_MSG.badSignature);
    expect(received).toHaveLength(0);
  });

  it('when WeChat answers result_code=FAIL with ORDERPAID, the call throws WxBusinessError with err_code and a hint', async () => {
    answer = (req) => ({ body: buildBusinessErrorResponse('ORDERPAID', '该订单已支付', merchant, req.signType) });
    const err = await failure(client('HMAC-SHA256').unifiedOrder(order));
    expect(err).toBeInstanceOf(WxBusinessError);
    expect((err as WxBusinessError).errCode).toBe('ORDERPAID');
    expect((err as WxBusinessError).errCodeDes).toBe('该订单已支付');
    expect((err as WxBusinessError).fields.err_code).toBe('ORDERPAID');
    expect((err as WxBusinessError).retryable).toBe(false);
    expect(err.message).toMatch(/query it and mark it paid/);
  });

  it('when WeChat answers SYSTEMERROR, the WxBusinessError says the call may be retried as is', async () => {
    answer = (req) => ({ body: buildBusinessErrorResponse('SYSTEMERROR', '系统错误', merchant, req.signType) });
    const err = await failure(client().unifiedOrder(order));
    expect((err as WxBusinessError).retryable).toBe(true);
  });

  it('when the response signature is tampered, the call throws WxSignatureError', async () => {
    answer = (req) => ({ body: buildSignedResponse({ prepay_id: 'p', code_url: codeUrl }, merchant, req.signType).replace(codeUrl, 'weixin://evil') });
    const err = await failure(client().unifiedOrder(order));
    expect(err).toBeInstanceOf(WxSignatureError);
    expect((err as WxPayError).code).toBe('bad_signature');
  });

  it('when the response is signed with another key, the call throws WxSignatureError', async () => {
    answer = () => ({ body: buildSignedResponse({ prepay_id: 'p', code_url: codeUrl }, { ...merchant, apiKey: 'z'.repeat(32) }) });
    expect(await failure(client().unifiedOrder(order))).toBeInstanceOf(WxSignatureError);
  });

  it('when the response is signed with the other algorithm than ours, the call throws WxSignatureError', async () => {
    answer = () => ({ body: buildSignedResponse({ prepay_id: 'p', code_url: codeUrl }, merchant, 'MD5') });
    expect(await failure(client('HMAC-SHA256').unifiedOrder(order))).toBeInstanceOf(WxSignatureError);
  });

  it('when the response is unsigned, the call throws WxSignatureError (missing_signature)', async () => {
    answer = () => ({ body: buildXml({ return_code: 'SUCCESS', result_code: 'SUCCESS', prepay_id: 'p', code_url: codeUrl }) });
    const err = await failure(client().unifiedOrder(order));
    expect(err).toBeInstanceOf(WxSignatureError);
    expect((err as WxPayError).code).toBe('missing_signature');
  });

  it('when an unsigned response says result_code=FAIL, the signature is refused before result_code is believed', async () => {
    answer = () => ({ body: buildXml({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'ORDERPAID' }) });
    expect(await failure(client().unifiedOrder(order))).toBeInstanceOf(WxSignatureError);
  });

  it('when a signed SUCCESS lacks code_url, the call throws WxResponseError', async () => {
    answer = ok({ prepay_id: 'p' });
    expect(await failure(client().unifiedOrder(order))).toBeInstanceOf(WxResponseError);
  });

  it('when a signed answer is for another merchant, the call throws WxResponseError', async () => {
    answer = ok({ prepay_id: 'p', code_url: codeUrl, mch_id: '19999999' });
    expect(await failure(client().unifiedOrder(order))).toBeInstanceOf(WxResponseError);
  });

  it('when the server answers HTTP 502, the call throws WxTransportError with the status', async () => {
    answer = () => ({ status: 502, body: 'Bad Gateway' });
    const err = await failure(client().unifiedOrder(order));
    expect(err).toBeInstanceOf(WxTransportError);
    expect((err as WxTransportError).status).toBe(502);
  });

  it('when the server never answers, the call throws WxTransportError after timeoutMs', async () => {
    answer = () => 'hang';
    const started = Date.now();
    const err = await failure(client('MD5', { timeoutMs: 200 }).unifiedOrder(order));
    expect(err).toBeInstanceOf(WxTransportError);
    expect(err.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('when the server drops the connection, the call throws WxTransportError', async () => {
    answer = () => 'destroy';
    expect(await failure(client().unifiedOrder(order))).toBeInstanceOf(WxTransportError);
  });

  it('when nothing listens on the port, the call throws WxTransportError caused by ECONNREFUSED', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(client('MD5', { baseUrl: `http://127.0.0.1:${port}` }).unifiedOrder(order));
    expect(err).toBeInstanceOf(WxTransportError);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(err.message).toMatch(/WXPAY_BASE_URL/);
  });

  it('when the answer is not XML, the call throws WxXmlError', async () => {
    answer = () => ({ body: '{"return_code":"SUCCESS"}' });
    expect(await failure(client().unifiedOrder(order))).toBeInstanceOf(WxXmlError);
  });

  it('when the answer is larger than 64 KiB, the call throws WxXmlError (too_large)', async () => {
    answer = () => ({ body: `<xml><a>${'x'.repeat(MAX_XML_BYTES)}</a></xml>` });
    const err = await failure(client().unifiedOrder(order));
    expect(err).toBeInstanceOf(WxXmlError);
    expect((err as WxXmlError).reason).toBe('too_large');
  });

  describe('when the arguments are a programmer mistake, it throws WxArgumentError and sends nothing', () => {
    const bad: Array<[string, Partial<UnifiedOrderArgs>]> = [
      ['an out_trade_no of 5 characters', { outTradeNo: 'ABCDE' }],
      ['an out_trade_no of 33 characters', { outTradeNo: 'A'.repeat(33) }],
      ['an out_trade_no with a dot', { outTradeNo: 'PAY.000001' }],
      ['a body of 128 bytes', { body: 'x'.repeat(128) }],
      ['a body of 43 Chinese characters (129 bytes: WeChat counts bytes)', { body: '商'.repeat(43) }],
      ['an empty body', { body: '' }],
      ['an attach of 128 bytes', { attach: 'x'.repeat(128) }],
      ['an attach of 43 Chinese characters (129 bytes)', { attach: '订'.repeat(43) }],
      ['a product_id of 33 characters', { productId: 'x'.repeat(33) }],
      ['a notify_url with a query string', { notifyUrl: 'https://shop.example/notify?order=1' }],
      ['a notify_url that is not a URL', { notifyUrl: 'notify' }],
      ['a total_fee of 0', { totalFee: 0 }],
      ['a total_fee in yuan', { totalFee: 12.34 }],
      ['a total_fee as a string', { totalFee: '1234' as unknown as number }],
      ['a client IP that is not an IP', { spbillCreateIp: 'localhost' }],
      ['a time_expire before time_start', { timeStart: new Date('2024-01-01T00:10:00Z'), timeExpire: new Date('2024-01-01T00:00:00Z') }],
      ['a time_expire in the past', { timeExpire: new Date('2000-01-01T00:00:00Z') }],
    ];
    it.each(bad)('%s', async (_name, change) => {
      answer = ok({ prepay_id: 'p', code_url: codeUrl });
      const err = await failure(client().unifiedOrder({ ...order, ...change }));
      expect(err).toBeInstanceOf(WxArgumentError);
      expect(err).not.toBeInstanceOf(WxPayError);
      expect(received).toHaveLength(0);
    });

    it('the boundary values are accepted (6 and 32 character out_trade_no, 127-byte body and attach)', async () => {
      answer = ok({ prepay_id: 'p', code_url: codeUrl });
      await client().unifiedOrder({ ...order, outTradeNo: 'A_-|*1', body: `${'商'.repeat(42)}x`, attach: 'x'.repeat(127) });
      await client().unifiedOrder({ ...order, outTradeNo: 'A'.repeat(32) });
      expect(received).toHaveLength(2);
    });
  });
});

describe('orderQuery', () => {
  it('when asked by out_trade_no for a paid order, it returns the trade with integer amounts', async () => {
    answer = ok({
      trade_state: 'SUCCESS',
      out_trade_no: 'PAY20240101000001',
      transaction_id: '4200001234202401010000000001',
      total_fee: '1234',
      cash_fee: '1234',
      time_end: '20240101120000',
      attach: 'cart:42',
      openid: 'o1',
      bank_type: 'CMC',
      trade_state_desc: '支付成功',
    });
    const result = await client().orderQuery({ outTradeNo: 'PAY20240101000001' });
    expect(result).toMatchObject({
      tradeState: 'SUCCESS',
      outTradeNo: 'PAY20240101000001',
      transactionId: '4200001234202401010000000001',
      totalFee: 1234,
      cashFee: 1234,
      timeEnd: '20240101120000',
      attach: 'cart:42',
      openid: 'o1',
      bankType: 'CMC',
      tradeStateDesc: '支付成功',
    });
    expect(received[0]?.path).toBe(WX_PATHS.orderQuery);
    expect(received[0]?.fields.out_trade_no).toBe('PAY20240101000001');
    expect(received[0]?.fields.transaction_id).toBeUndefined();
  });

  it('when asked by transaction_id for an unpaid order, optional fields are undefined', async () => {
    answer = ok({ trade_state: 'NOTPAY', out_trade_no: 'PAY20240101000001', transaction_id: '42' });
    const result = await client().orderQuery({ transactionId: '42' });
    expect(result.tradeState).toBe('NOTPAY');
    expect(result.totalFee).toBeUndefined();
    expect(received[0]?.fields.transaction_id).toBe('42');
    expect(received[0]?.fields.out_trade_no).toBeUndefined();
  });

  it('when total_fee is not integer fen, it throws WxResponseError', async () => {
    answer = ok({ trade_state: 'SUCCESS', out_trade_no: 'PAY20240101000001', total_fee: '12.34' });
    expect(await failure(client().orderQuery({ outTradeNo: 'PAY20240101000001' }))).toBeInstanceOf(WxResponseError);
  });

  it('when trade_state is unknown, it throws WxResponseError rather than guess', async () => {
    answer = ok({ trade_state: 'PAID', out_trade_no: 'PAY20240101000001' });
    expect(await failure(client().orderQuery({ outTradeNo: 'PAY20240101000001' }))).toBeInstanceOf(WxResponseError);
  });

  it('when the answer is about another out_trade_no, it throws WxResponseError', async () => {
    answer = ok({ trade_state: 'SUCCESS', out_trade_no: 'PAY20240101000002', total_fee: '1' });
    expect(await failure(client().orderQuery({ outTradeNo: 'PAY20240101000001' }))).toBeInstanceOf(WxResponseError);
  });

  it('when the order does not exist, it throws WxBusinessError ORDERNOTEXIST', async () => {
    answer = (req) => ({ body: buildBusinessErrorResponse('ORDERNOTEXIST', '订单不存在', merchant, req.signType) });
    const err = await failure(client().orderQuery({ outTradeNo: 'PAY20240101000001' }));
    expect((err as WxBusinessError).errCode).toBe('ORDERNOTEXIST');
  });

  it('when neither reference is given, it throws WxArgumentError', async () => {
    expect(await failure(client().orderQuery({} as { outTradeNo: string }))).toBeInstanceOf(WxArgumentError);
  });
});

describe('closeOrder', () => {
  it('when WeChat closes the order, it resolves', async () => {
    answer = ok({});
    await expect(client().closeOrder({ outTradeNo: 'PAY20240101000001' })).resolves.toBeUndefined();
    expect(received[0]?.path).toBe(WX_PATHS.closeOrder);
    expect(received[0]?.fields.out_trade_no).toBe('PAY20240101000001');
  });

  it('when the order was paid meanwhile, it throws WxBusinessError ORDERPAID', async () => {
    answer = (req) => ({ body: buildBusinessErrorResponse('ORDERPAID', '订单已支付', merchant, req.signType) });
    expect(((await failure(client().closeOrder({ outTradeNo: 'PAY20240101000001' }))) as WxBusinessError).errCode).toBe('ORDERPAID');
  });
});

describe('refund', () => {
  it('when WeChat accepts the refund (over http, as the simulator speaks), it returns refund_id', async () => {
    answer = (req) => ({
      body: buildSignedResponse(
        { out_refund_no: req.fields.out_refund_no, refund_id: '50000000382019052709732678859', refund_fee: req.fields.refund_fee, total_fee: req.fields.total_fee, out_trade_no: req.fields.out_trade_no },
        merchant,
        req.signType,
      ),
    });
    const result = await client('HMAC-SHA256').refund({
      outTradeNo: 'PAY20240101000001',
      outRefundNo: 'RF20240101000001',
      totalFee: 1234,
      refundFee: 234,
      refundDesc: '部分退款',
      notifyUrl: 'https://shop.example/pay/refund-notify',
    });
    expect(result).toMatchObject({ refundId: '50000000382019052709732678859', outRefundNo: 'RF20240101000001', refundFee: 234, totalFee: 1234 });
    expect(received[0]?.path).toBe(WX_PATHS.refund);
    expect(received[0]?.fields).toMatchObject({ out_refund_no: 'RF20240101000001', total_fee: '1234', refund_fee: '234', refund_desc: '部分退款' });
  });

  it('when the refund exceeds the total, it throws WxArgumentError and sends nothing', async () => {
    const err = await failure(client().refund({ outTradeNo: 'PAY20240101000001', outRefundNo: 'R1', totalFee: 100, refundFee: 101 }));
    expect(err).toBeInstanceOf(WxArgumentError);
    expect(received).toHaveLength(0);
  });

  it('when the base URL is https and no certificate was given, it throws WxArgumentError before connecting', async () => {
    const https = createWxPayClient({ ...merchant, signType: 'MD5', baseUrl: 'https://127.0.0.1:1' });
    const err = await failure(https.refund({ transactionId: '42', outRefundNo: 'R1', totalFee: 100, refundFee: 1 }));
    expect(err).toBeInstanceOf(WxArgumentError);
    expect(err.message).toMatch(/pfx/);
  });

  it('when WeChat asks for a retry (BIZERR_NEED_RETRY), the error is marked retryable', async () => {
    answer = (req) => ({ body: buildBusinessErrorResponse('BIZERR_NEED_RETRY', '退款业务流程错误，需要商户触发重试来解决', merchant, req.signType) });
    const err = await failure(client().refund({ transactionId: '42', outRefundNo: 'R1', totalFee: 100, refundFee: 1 }));
    expect((err as WxBusinessError).retryable).toBe(true);
  });
});

describe('refundQuery', () => {
  it('when a trade has several refunds, the indexed _$n answer becomes a list', async () => {
    answer = ok({
      out_trade_no: 'PAY20240101000001',
      transaction_id: '42',
      total_fee: 1234,
      cash_fee: 1234,
      ...indexedRefundFields([
        { outRefundNo: 'R1', refundId: 'W1', refundFee: 100, refundStatus: 'SUCCESS', successTime: '2024-01-01 12:05:00', refundRecvAccout: '支付用户零钱' },
        { outRefundNo: 'R2', refundId: 'W2', refundFee: 200, refundStatus: 'PROCESSING' },
        { outRefundNo: 'R3', refundId: 'W3', refundFee: 300, refundStatus: 'REFUNDCLOSE' },
      ]),
    });
    const result = await client().refundQuery({ outTradeNo: 'PAY20240101000001' });
    expect(result.totalFee).toBe(1234);
    expect(result.refunds).toEqual([
      { outRefundNo: 'R1', refundId: 'W1', refundFee: 100, refundStatus: 'SUCCESS', successTime: '2024-01-01 12:05:00', refundRecvAccout: '支付用户零钱' },
      { outRefundNo: 'R2', refundId: 'W2', refundFee: 200, refundStatus: 'PROCESSING', successTime: undefined, refundRecvAccout: undefined },
      { outRefundNo: 'R3', refundId: 'W3', refundFee: 300, refundStatus: 'REFUNDCLOSE', successTime: undefined, refundRecvAccout: undefined },
    ]);
    expect(received[0]?.fields.out_trade_no).toBe('PAY20240101000001');
  });

  it.each([
    ['outRefundNo', { outRefundNo: 'R1' }, 'out_refund_no'],
    ['refundId', { refundId: 'W1' }, 'refund_id'],
    ['transactionId', { transactionId: '42' }, 'transaction_id'],
  ] as const)('when asked by %s, it sends that one reference', async (_name, ref, field) => {
    answer = ok({ total_fee: 1234, ...indexedRefundFields([{ outRefundNo: 'R1', refundId: 'W1', refundFee: 1, refundStatus: 'SUCCESS' }]) });
    await client().refundQuery(ref);
    const sent = Object.keys(received[0]?.fields ?? {}).filter((k) => ['out_trade_no', 'out_refund_no', 'refund_id', 'transaction_id'].includes(k));
    expect(sent).toEqual([field]);
  });

  it('when an indexed field is missing, it throws WxResponseError', async () => {
    const fields = indexedRefundFields([
      { outRefundNo: 'R1', refundId: 'W1', refundFee: 100, refundStatus: 'SUCCESS' },
      { outRefundNo: 'R2', refundId: 'W2', refundFee: 200, refundStatus: 'SUCCESS' },
    ]);
    answer = ok({ total_fee: 1234, ...fields, refund_fee_1: undefined });
    expect(await failure(client().refundQuery({ outRefundNo: 'R2' }))).toBeInstanceOf(WxResponseError);
  });

  it('when there is no refund, it throws WxBusinessError REFUNDNOTEXIST', async () => {
    answer = (req) => ({ body: buildBusinessErrorResponse('REFUNDNOTEXIST', '退款订单查询失败', merchant, req.signType) });
    expect(((await failure(client().refundQuery({ outRefundNo: 'R9' }))) as WxBusinessError).errCode).toBe('REFUNDNOTEXIST');
  });
});

describe('downloadBill', () => {
  const csv = buildBill(
    BILL_HEADER_ALL,
    [{ [BILL_COLUMNS.outTradeNo]: 'PAY20240101000001', [BILL_COLUMNS.totalFee]: '12.34', [BILL_COLUMNS.tradeState]: 'SUCCESS' }],
    BILL_TOTALS_HEADER,
    { 总交易单数: '1', 订单总金额: '12.34' },
  );

  it('when the bill exists, the unsigned CSV is parsed', async () => {
    answer = () => ({ body: csv });
    const bill = await client().downloadBill({ billDate: '20240101', billType: 'ALL' });
    expect(bill.rows[0]?.[BILL_COLUMNS.outTradeNo]).toBe('PAY20240101000001');
    expect(received[0]?.fields).toMatchObject({ bill_date: '20240101', bill_type: 'ALL' });
  });

  it('when there is no bill for the day, it throws WxReturnError "No Bill Exist"', async () => {
    answer = () => ({ body: buildXml({ return_code: 'FAIL', return_msg: 'No Bill Exist', error_code: '20002' }) });
    const err = await failure(client().downloadBill({ billDate: '20240101', billType: 'ALL' }));
    expect(err).toBeInstanceOf(WxReturnError);
    expect((err as WxReturnError).returnMsg).toBe(RETURN_MSG.noBill);
  });

  it('when WeChat answers a signed result_code=FAIL, it throws WxBusinessError', async () => {
    answer = (req) => ({ body: `\n  ${buildBusinessErrorResponse('SYSTEMERROR', '系统错误', merchant, req.signType)}` });
    expect(await failure(client().downloadBill({ billDate: '20240101', billType: 'SUCCESS' }))).toBeInstanceOf(WxBusinessError);
  });

  it('when the CSV is cut short, it throws WxResponseError', async () => {
    answer = () => ({ body: csv.split('\r\n').slice(0, 2).join('\r\n') });
    expect(await failure(client().downloadBill({ billDate: '20240101', billType: 'ALL' }))).toBeInstanceOf(WxResponseError);
  });

  it.each(['2024-01-01', '20240230', '2024010'])('when billDate is %j, it throws WxArgumentError', async (billDate) => {
    expect(await failure(client().downloadBill({ billDate, billType: 'ALL' }))).toBeInstanceOf(WxArgumentError);
  });
});

describe('readSignedRequest (the simulator side)', () => {
  it('when a request declares no sign_type, WeChat checks it as MD5 and never guesses from the length', async () => {
    const hmacWithoutType = buildXml(signFields({ appid: merchant.appId, mch_id: merchant.mchId, nonce_str: 'n' }, merchant.apiKey, 'HMAC-SHA256'));
    expect(await readSignedRequest(hmacWithoutType, merchant)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('when a request is for another merchant, it is refused as wrong_merchant', async () => {
    const other = buildXml(signFields({ appid: merchant.appId, mch_id: '1', nonce_str: 'n' }, merchant.apiKey, 'MD5'));
    expect(await readSignedRequest(other, merchant)).toMatchObject({ ok: false, reason: 'wrong_merchant' });
  });

  it('when a request is not XML, it is refused as bad_xml with WeChat\'s return_msg', async () => {
    expect(await readSignedRequest('<!DOCTYPE x><xml/>', merchant)).toEqual({ ok: false, reason: 'bad_xml', returnMsg: RETURN_MSG.badXml });
  });
});
