import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { printCredentials, startSimulator, type V3Credentials } from '../../../src/simulator/main';
import { WechatKeyring, WxV3ApiError, createWxV3Client } from '../../../src/wechatpay/v3';
import { scaled } from '../../helpers/timeouts';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** The standalone simulator speaks APIv3 to any SDK given what --print-credentials prints. */
describe('the standalone simulator on APIv3', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxsim-v3-'));
  const env = { PORT: '0', HOST: '127.0.0.1', PGLITE_DIR: dir, LOG_LEVEL: 'silent' };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('its printed credentials order and query a Native trade over v3, and stay the same across restarts', async () => {
    const running = await startSimulator(env);
    let creds: V3Credentials;
    try {
      creds = running.v3;
      expect(Object.keys(creds).sort()).toEqual(['apiV3Key', 'appid', 'baseUrl', 'mchid', 'merchantPrivateKeyPem', 'merchantSerial', 'publicKeyId', 'publicKeyPem']);
      const client = createWxV3Client({
        baseUrl: creds.baseUrl,
        mchId: creds.mchid,
        serial: creds.merchantSerial,
        privateKey: crypto.createPrivateKey(creds.merchantPrivateKeyPem),
        keyring: new WechatKeyring().addPublicKey(creds.publicKeyId, crypto.createPublicKey(creds.publicKeyPem)),
        wechatpaySerial: () => creds.publicKeyId,
        clock: () => new Date(),
      });
      const outTradeNo = `SA${Date.now()}`;
      const order = await client.call('POST', '/v3/pay/transactions/native', {
        appid: creds.appid,
        mchid: creds.mchid,
        description: '测试',
        out_trade_no: outTradeNo,
        notify_url: 'https://shop.example.com/wxpay/notify',
        amount: { total: 1, currency: 'CNY' },
      });
      expect(order).toMatchObject({ status: 200, json: { code_url: expect.stringMatching(/^weixin:\/\//) } });
      expect((await client.call('GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${creds.mchid}`)).json).toMatchObject({ out_trade_no: outTradeNo, trade_state: 'NOTPAY', amount: { total: 1 } });
      await expect(client.call('GET', `/v3/pay/transactions/out-trade-no/NEVER${outTradeNo}?mchid=${creds.mchid}`)).rejects.toBeInstanceOf(WxV3ApiError);
    } finally {
      await running.stop();
    }
    const again = await printCredentials(env);
    expect({ ...again, baseUrl: '' }).toEqual({ ...creds, baseUrl: '' });
  });

  test('npm run simulator -- --print-credentials prints them as one JSON line', async () => {
    const { stdout } = await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/simulator/main.ts', '--print-credentials'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: '3999' },
      timeout: scaled(60000),
    });
    const printed = JSON.parse(stdout.trim()) as V3Credentials;
    expect(printed).toMatchObject({ baseUrl: 'http://127.0.0.1:3999/wxsim', publicKeyId: expect.stringMatching(/^PUB_KEY_ID_/), apiV3Key: expect.any(String) });
    expect(Buffer.byteLength(printed.apiV3Key)).toBe(32);
  });
});
