import crypto from 'node:crypto';
import { JSON_HEADERS, robotVerdict, type Channel } from './channel';

/**
 * A DingTalk (钉钉) custom group robot: POST its webhook URL (…/robot/send?access_token=…) with
 * `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`. With "加签" (a signing secret, SEC…)
 * the URL also carries `timestamp` (ms) and `sign` = Base64(HMAC-SHA256(secret, timestamp + "\n" +
 * secret)), URL-encoded; DingTalk refuses a timestamp more than an hour off. It answers
 * `{"errcode":0,"errmsg":"ok"}` (130101: sending too fast).
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return crypto.createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

export function dingtalkChannel(url: string, secret: string | undefined): Channel {
  return {
    name: 'dingtalk',
    request(_event, message, now) {
      let target = url;
      if (secret) {
        const timestamp = now.getTime();
        const signed = new URL(url);
        signed.searchParams.set('timestamp', String(timestamp));
        signed.searchParams.set('sign', dingtalkSign(secret, timestamp));
        target = signed.toString();
      }
      const text = [`#### ${message.title}`, '', ...message.lines.map((l) => `- ${l}`), '', `[${message.link.text}](${message.link.url})`].join('\n');
      return { url: target, headers: JSON_HEADERS, body: JSON.stringify({ msgtype: 'markdown', markdown: { title: message.title, text } }) };
    },
    verdict: (status, body) => robotVerdict(status, body, (a) => a.errcode),
  };
}
