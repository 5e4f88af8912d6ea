import crypto from 'node:crypto';
import type { Locale } from '../i18n';
import { JSON_HEADERS, robotVerdict, type Channel } from './channel';

/**
 * A Feishu (飞书) custom bot: POST its webhook URL (…/open-apis/bot/v2/hook/…) with a rich-text
 * post (`{"msg_type":"post","content":{"post":{"zh_cn":{"title":…,"content":[[…]]}}}}`). With
 * signature verification on, the body also carries `timestamp` (seconds, as a string) and `sign` =
 * Base64(HMAC-SHA256 keyed with timestamp + "\n" + secret, of an empty message). It answers
 * `{"code":0,"msg":"success"}` (older bots: `{"StatusCode":0}`).
 */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return crypto.createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

export function feishuChannel(url: string, secret: string | undefined, locale: Locale): Channel {
  return {
    name: 'feishu',
    request(_event, message, now) {
      const post = {
        title: message.title,
        content: [...message.lines.map((l) => [{ tag: 'text', text: l }]), [{ tag: 'a', text: message.link.text, href: message.link.url }]],
      };
      const timestamp = Math.floor(now.getTime() / 1000);
      const body = {
        ...(secret ? { timestamp: String(timestamp), sign: feishuSign(secret, timestamp) } : {}),
        msg_type: 'post',
        content: { post: { [locale === 'zh' ? 'zh_cn' : 'en_us']: post } },
      };
      return { url, headers: JSON_HEADERS, body: JSON.stringify(body) };
    },
    verdict: (status, body) => robotVerdict(status, body, (a) => a.code ?? a.StatusCode),
  };
}
