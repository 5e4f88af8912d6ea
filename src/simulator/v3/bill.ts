import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { downloadBill } from '../bill';
import type { SimContext } from '../context';
import { findMerchant } from '../merchants';
import { v3error, v3ok, type V3Outcome } from './answers';

/**
 * v3's trade bill: GET /v3/bill/tradebill answers {hash_type: SHA1, hash_value, download_url}; a
 * signed GET of download_url answers the gzip CSV, unsigned (the SHA1 is over the decompressed CSV).
 * The bill itself is v2's (the same columns). "Not yet" and "none" answer 400 STATEMENT_CREATING /
 * NO_STATEMENT_EXIST (WeChat's codes for them).
 */

/** The bill WeChat would serve for this merchant, day and type, as text; or the refusal. */
async function billText(ctx: SimContext, mchId: string, billDate: string, billType: string): Promise<{ text: string } | V3Outcome> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(billDate)) return v3error(400, 'PARAM_ERROR', 'bill_date格式错误', { field: 'bill_date', location: 'query' });
  if (billType !== 'ALL' && billType !== 'SUCCESS' && billType !== 'REFUND') return v3error(400, 'PARAM_ERROR', 'bill_type参数错误', { field: 'bill_type', location: 'query' });
  const merchant = await findMerchant(ctx, mchId);
  if (!merchant) return v3error(400, 'PARAM_ERROR', '商户号不存在');
  const outcome = await downloadBill(ctx, merchant, { billDate: billDate.replace(/-/g, ''), billType, gzip: false });
  if (outcome.kind === 'bill') return { text: outcome.text };
  if (outcome.kind === 'return_fail' && /Bill Creating/.test(outcome.returnMsg)) return v3error(400, 'STATEMENT_CREATING', '账单生成中，请稍后再试');
  if (outcome.kind === 'return_fail' && /No Bill Exist/.test(outcome.returnMsg)) return v3error(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
  return v3error(400, 'PARAM_ERROR', outcome.kind === 'return_fail' ? outcome.returnMsg : 'bill_date参数错误');
}

export async function v3TradeBill(ctx: SimContext, mchId: string, query: Record<string, unknown>, base: string): Promise<V3Outcome> {
  const billDate = String(query.bill_date ?? '');
  const billType = String(query.bill_type ?? 'ALL');
  const bill = await billText(ctx, mchId, billDate, billType);
  if (!('text' in bill)) return bill;
  const token = Buffer.from(JSON.stringify({ mchid: mchId, bill_date: billDate, bill_type: billType }), 'utf8').toString('base64url');
  return v3ok({ hash_type: 'SHA1', hash_value: crypto.createHash('sha1').update(bill.text, 'utf8').digest('hex'), download_url: `${base}/v3/billdownload/file?token=${token}` });
}

/** The file behind a download_url, for the merchant who signed the request: gzip bytes, or the refusal. */
export async function v3BillFile(ctx: SimContext, mchId: string, token: unknown): Promise<{ gzip: Buffer } | V3Outcome> {
  let named: { mchid?: unknown; bill_date?: unknown; bill_type?: unknown };
  try {
    named = JSON.parse(Buffer.from(String(token ?? ''), 'base64url').toString('utf8')) as typeof named;
  } catch {
    return v3error(400, 'PARAM_ERROR', 'token无效');
  }
  if (named.mchid !== mchId) return v3error(403, 'NO_AUTH', '无权下载该账单');
  const bill = await billText(ctx, mchId, String(named.bill_date), String(named.bill_type));
  if (!('text' in bill)) return bill;
  return { gzip: zlib.gzipSync(Buffer.from(bill.text, 'utf8')) };
}
