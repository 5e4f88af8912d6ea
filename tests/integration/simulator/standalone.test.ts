import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { SIMULATOR_MERCHANT } from '../../../src/config';
import { WxBusinessError, createWxPayClient } from '../../../src/wechatpay';
import { killGroup } from '../../helpers/shop-process';
import { scaled } from '../../helpers/timeouts';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function waitForUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "listening" line within ${timeoutMs} ms: ${out}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+\/wxsim)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${out}`));
    });
  });
}

describe('the simulator on its own port (src/simulator/main.ts)', () => {
  test('it starts on PORT, accepts the configured merchant over HTTP, and stops cleanly on SIGTERM', async () => {
    const child = spawn(TSX, ['src/simulator/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', PGLITE_DIR: 'memory://', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group: a failure kills tsx and the simulator it runs, leaving no orphan
      detached: true,
    });
    try {
      const baseUrl = await waitForUrl(child, scaled(50000));
      const client = createWxPayClient({ ...SIMULATOR_MERCHANT, signType: 'MD5', baseUrl, timeoutMs: 5000 });
      const order = await client.unifiedOrder({ body: 'standalone', outTradeNo: 'STANDALONE01', totalFee: 1, spbillCreateIp: '127.0.0.1', notifyUrl: 'http://127.0.0.1:9/n', productId: 'P' });
      expect(order.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
      expect((await client.orderQuery({ outTradeNo: 'STANDALONE01' })).tradeState).toBe('NOTPAY');
      await expect(client.orderQuery({ outTradeNo: 'STANDALONE02' })).rejects.toBeInstanceOf(WxBusinessError);
      const phone = await fetch(`${baseUrl}/scan?code_url=${encodeURIComponent(order.codeUrl)}`);
      expect(await phone.text()).toContain('示例小店');

      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) killGroup(child);
    }
  });
});
