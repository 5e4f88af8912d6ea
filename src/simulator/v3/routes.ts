import express from 'express';
import type { Request, Response } from 'express';
import type { SimContext } from '../context';
import { writeV3Answer, v3error, type V3Outcome } from './answers';
import { v3Close, v3Order, v3Query, v3RefundCreate, v3RefundQuery, type V3TradeKind } from './api';
import { checkV3Request } from './auth';
import { v3BillFile, v3TradeBill } from './bill';

/** Where the simulator is, as the caller reached it (for the H5 cashier's URL). */
function selfBase(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

/**
 * The simulator's APIv3 doors under /v3: each request's signature checked over its raw bytes and
 * its path as sent (req.originalUrl), then answered as JSON, signed when 2xx.
 */
export function simulatorV3Routes(ctx: SimContext): express.Router {
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: '64kb' });

  const handle = (run: (mchId: string, req: Request) => Promise<V3Outcome>) => async (req: Request, res: Response) => {
    const now = ctx.clock();
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const checked = checkV3Request(ctx.v3, { method: req.method, url: req.originalUrl, headers: req.headers, raw: body }, now);
    let outcome: V3Outcome;
    try {
      outcome = checked.ok ? await run(checked.mchId, req) : checked.outcome;
    } catch (err) {
      ctx.logger.error({ err, path: req.path }, 'simulator v3 call failed');
      outcome = v3error(500, 'SYSTEM_ERROR', '系统错误');
    }
    const answer = writeV3Answer(ctx.v3, outcome, ctx.clock());
    res.status(answer.status).set(answer.headers);
    if (answer.body === '') res.end();
    else res.send(answer.body);
  };
  const bodyOf = (req: Request) => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
  const param = (req: Request, name: string) => String(req.params[name] ?? '');

  for (const kind of ['native', 'h5', 'jsapi'] as V3TradeKind[]) {
    router.post(`/v3/pay/transactions/${kind}`, raw, handle((mchId, req) => v3Order(ctx, mchId, kind, bodyOf(req), { base: selfBase(req) })));
  }
  router.get('/v3/pay/transactions/out-trade-no/:no', raw, handle((mchId, req) => v3Query(ctx, mchId, param(req, 'no'), req.query.mchid)));
  router.post('/v3/pay/transactions/out-trade-no/:no/close', raw, handle((mchId, req) => v3Close(ctx, mchId, param(req, 'no'), bodyOf(req))));
  router.post('/v3/refund/domestic/refunds', raw, handle((mchId, req) => v3RefundCreate(ctx, mchId, bodyOf(req))));
  router.get('/v3/refund/domestic/refunds/:no', raw, handle((mchId, req) => v3RefundQuery(ctx, mchId, param(req, 'no'))));
  router.get('/v3/bill/tradebill', raw, handle((mchId, req) => v3TradeBill(ctx, mchId, req.query as Record<string, unknown>, selfBase(req))));
  // the bill file: the signature checked as for any call, the answer unsigned gzip bytes
  router.get('/v3/billdownload/file', raw, async (req, res) => {
    const checked = checkV3Request(ctx.v3, { method: req.method, url: req.originalUrl, headers: req.headers, raw: Buffer.alloc(0) }, ctx.clock());
    const file = checked.ok ? await v3BillFile(ctx, checked.mchId, req.query.token) : checked.outcome;
    if ('gzip' in file) return void res.status(200).type('application/octet-stream').send(file.gzip);
    const answer = writeV3Answer(ctx.v3, file, ctx.clock());
    res.status(answer.status).set(answer.headers).send(answer.body);
  });
  // public-key mode: no platform certificates to download (WECHATPAY-V3.md)
  router.get('/v3/certificates', raw, handle(async () => v3error(404, 'RESOURCE_NOT_EXISTS', '无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥')));
  return router;
}
