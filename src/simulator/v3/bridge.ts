import crypto from 'node:crypto';
import type { SimV3Merchant } from './state';

/**
 * WeixinJSBridge's check of a v3 payment's parameters: signType RSA, paySign = SHA256withRSA with
 * the merchant's private key over appId, timeStamp, nonceStr and package, a line each.
 */
export function checkRsaBridge(merchant: SimV3Merchant | undefined, params: Record<string, unknown>): { ok: true } | { ok: false; message: string } {
  if (!merchant) return { ok: false, message: '商户未开通APIv3' };
  if (params.signType !== 'RSA') return { ok: false, message: `signType 必须为 RSA (got ${JSON.stringify(params.signType)})` };
  const { appId, timeStamp, nonceStr, package: pkg, paySign } = params;
  if ([appId, timeStamp, nonceStr, pkg, paySign].some((v) => typeof v !== 'string' || v === '')) return { ok: false, message: '缺少参数: appId, timeStamp, nonceStr, package, paySign' };
  const message = `${String(appId)}\n${String(timeStamp)}\n${String(nonceStr)}\n${String(pkg)}\n`;
  if (!crypto.verify('sha256', Buffer.from(message, 'utf8'), merchant.publicKey, Buffer.from(String(paySign), 'base64'))) return { ok: false, message: '支付验证签名失败' };
  return { ok: true };
}
