import type { AlertMessage, OutboxEvent } from './message';

/** The channels an event can go to, each enabled by its setting (config.alerts). */
export const CHANNELS = ['wecom', 'dingtalk', 'feishu', 'webhook'] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** One HTTP request that delivers one event. */
export interface ChannelRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Channel {
  name: ChannelName;
  /** the request for an event (a robot gets the rendered message; the webhook the event itself) */
  request(event: OutboxEvent, message: AlertMessage, now: Date): ChannelRequest;
  /** whether the answer acknowledges the event, and why not when it does not */
  verdict(status: number, body: string): { ok: true } | { ok: false; reason: string };
}

/** The robots answer HTTP 200 with a code of their own: 0 is success, anything else is not (a wrong key, a rate limit...). */
export function robotVerdict(status: number, body: string, codeOf: (answer: Record<string, unknown>) => unknown): { ok: true } | { ok: false; reason: string } {
  if (status !== 200) return { ok: false, reason: `HTTP ${status}` };
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'answer is not JSON' };
  }
  const code = codeOf(answer);
  if (code === 0) return { ok: true };
  const message = answer.errmsg ?? answer.msg ?? answer.StatusMessage ?? '';
  return { ok: false, reason: `code ${String(code)} ${String(message)}`.trim() };
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };
export { JSON_HEADERS };
