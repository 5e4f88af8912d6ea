import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { webhookSignature } from '../../../src/outbox';

/** README's few lines that verify the alert webhook's signature do verify what the shop signs, and refuse the rest. */
describe("README's webhook verifier", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
  const code = /verify it on the raw body[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];

  test('is there, and checks the shop\'s signature, a tampered body, another secret and an old timestamp', () => {
    expect(code).toBeDefined();
    const sandbox = { require, Date, Math, Number, String, Object, Buffer, module: { exports: {} } };
    vm.runInNewContext(`${code}\nmodule.exports = verify;`, sandbox);
    const verify = sandbox.module.exports as (secret: string, header: string, rawBody: string) => boolean;
    const body = JSON.stringify({ id: 'e1', type: 'order.paid', created_at: '2026-12-08T00:00:00.000Z', data: { amount_fen: 100 } });
    const now = Math.floor(Date.now() / 1000);
    expect(verify('whsec_0123456789abcdef', webhookSignature('whsec_0123456789abcdef', now, body), body)).toBe(true);
    expect(verify('whsec_0123456789abcdef', webhookSignature('whsec_0123456789abcdef', now, body), body.replace('100', '1'))).toBe(false);
    expect(verify('whsec_0123456789abcdef', webhookSignature('another_secret_0123', now, body), body)).toBe(false);
    expect(verify('whsec_0123456789abcdef', webhookSignature('whsec_0123456789abcdef', now - 3600, body), body)).toBe(false);
    expect(verify('whsec_0123456789abcdef', 'garbage', body)).toBe(false);
  });
});
