import { JSON_HEADERS, robotVerdict, type Channel } from './channel';

/**
 * A WeCom (企业微信) group robot: POST its webhook URL (…/cgi-bin/webhook/send?key=…) with a
 * markdown message (`{"msgtype":"markdown","markdown":{"content":…}}`, at most 4096 bytes);
 * it answers `{"errcode":0,"errmsg":"ok"}`, any other errcode is a refusal (45009: more than 20
 * messages a minute).
 */
export function wecomChannel(url: string): Channel {
  return {
    name: 'wecom',
    request(_event, message) {
      const content = [`**${message.title}**`, ...message.lines.map((l) => `> ${l}`), `[${message.link.text}](${message.link.url})`].join('\n');
      return { url, headers: JSON_HEADERS, body: JSON.stringify({ msgtype: 'markdown', markdown: { content: truncateBytes(content, 4000) } }) };
    },
    verdict: (status, body) => robotVerdict(status, body, (a) => a.errcode),
  };
}

/** At most `max` bytes of UTF-8, cut at a character. */
export function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > max - 3) break;
    out += ch;
  }
  return `${out}...`;
}
