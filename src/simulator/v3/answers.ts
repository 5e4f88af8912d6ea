import crypto from 'node:crypto';
import { signWechatAnswer } from '../../wechatpay/v3';
import type { SimV3State } from './state';

/**
 * How the simulator's v3 API writes an answer: JSON, `Request-ID`, and for 2xx the Wechatpay-*
 * signature headers over the exact bytes sent; error answers carry {"code","message"} and, as
 * WeChat's may, no signature.
 */
export interface V3WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface V3Outcome {
  status: number;
  /** undefined for 204 */
  json?: Record<string, unknown> | undefined;
}

export const v3ok = (json: Record<string, unknown>): V3Outcome => ({ status: 200, json });
export const v3noContent = (): V3Outcome => ({ status: 204 });
export const v3error = (status: number, code: string, message: string, detail?: Record<string, unknown>): V3Outcome => ({ status, json: { code, message, ...(detail ? { detail } : {}) } });

export function writeV3Answer(state: SimV3State, outcome: V3Outcome, now: Date): V3WireAnswer {
  const body = outcome.json === undefined ? '' : JSON.stringify(outcome.json);
  const requestId = `${crypto.randomBytes(12).toString('hex').toUpperCase()}-${outcome.status < 300 ? 0 : 1}`;
  const headers: Record<string, string> = { 'Request-ID': requestId };
  if (body !== '') headers['Content-Type'] = 'application/json; charset=utf-8';
  if (outcome.status >= 200 && outcome.status < 300) {
    Object.assign(headers, signWechatAnswer(body, { serial: state.publicKeyId, privateKey: state.privateKey }, { timestamp: Math.floor(now.getTime() / 1000), nonce: crypto.randomBytes(16).toString('hex') }));
  }
  return { status: outcome.status, headers, body };
}

/** RFC 3339 in Beijing time, as WeChat writes it. */
export function rfc3339(at: Date): string {
  return `${new Date(at.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 19)}+08:00`;
}
