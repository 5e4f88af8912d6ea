import { spawn } from 'node:child_process';
import path from 'node:path';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TEST_P12 = path.join(ROOT, 'tests', 'fixtures', 'apiclient_cert.p12');

/**
 * Runs `npm start`'s entry point; once it logs that it listens (or exits), stops it with SIGTERM
 * and reports how it ended and what it printed.
 */
function runMain(env: NodeJS.ProcessEnv, timeoutMs = 150_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', PGLITE_DIR: 'memory://', PORT: '0', HOST: '127.0.0.1', SWEEP_INTERVAL_SECONDS: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('shop listening')) child.kill('SIGTERM');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main did not end within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

const LIVE = {
  WXPAY_MODE: 'live',
  WXPAY_APPID: 'wxd930ea5d5a258f4f',
  WXPAY_MCH_ID: '10000100',
  WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d',
  WXPAY_NOTIFY_URL: 'https://shop.example.com/wxpay/notify',
  WXPAY_PFX_PATH: TEST_P12,
  LOG_LEVEL: 'info',
};

describe('fail closed at start-up', () => {
  test('real merchant credentials without WXPAY_MODE: one line naming WXPAY_MODE, exit 2, nothing listens', async () => {
    const { code, stderr, stdout } = await runMain({ WXPAY_API_KEY: '192006250b4c09247ec02edce69f6a2d' });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual(['config: WXPAY_MODE must be set to live or simulator explicitly when WXPAY_API_KEY is set (refusing to start in simulator mode by default)']);
    expect(stdout).not.toContain('shop listening');
  });

  test('NODE_ENV=production without WXPAY_MODE: exit 2 naming WXPAY_MODE', async () => {
    const { code, stderr } = await runMain({ NODE_ENV: 'production' });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('config: WXPAY_MODE must be set to live or simulator explicitly when NODE_ENV=production (refusing to start in simulator mode by default)');
  });

  test('live mode with a certificate that does not open with the mch_id: exit 2 naming WXPAY_PFX_PATH', async () => {
    const { code, stderr } = await runMain({ ...LIVE, WXPAY_MCH_ID: '10000199' });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: WXPAY_PFX_PATH does not open as a p12 with the mch_id as passphrase/);
  });

  test('live mode without TRUST_PROXY: exit 2 naming it (behind a proxy the shop would count every shopper as one address); an explicit none starts', async () => {
    const without = await runMain(LIVE);
    expect(without.code).toBe(2);
    const lines = without.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: TRUST_PROXY must be set explicitly in live mode: 1 behind the nginx of deploy\/ .* none when browsers reach the shop directly/);
    expect(without.stdout).not.toContain('shop listening');
    const direct = await runMain({ ...LIVE, TRUST_PROXY: 'none' });
    expect(direct.stdout).toContain('shop listening');
    const withProxy = await runMain({ ...LIVE, TRUST_PROXY: 'loopback' });
    expect(withProxy.stdout).toContain('shop listening');
  });

  test.each(['yes', 'True', 'loopbak', '1.5', '/33'])('TRUST_PROXY=%s: exit 2 with one line naming TRUST_PROXY (not a crash later with exit 1)', async (value) => {
    const { code, stderr, stdout } = await runMain({ TRUST_PROXY: value });
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: TRUST_PROXY must be none .* \(got "/);
    expect(stdout).not.toContain('shop listening');
  });

  test('NODE_ENV=production in simulator mode needs TRUST_PROXY and the second setting WXPAY_SIMULATOR_CONFIRM: each missing one is exit 2 naming it', async () => {
    const noConfirm = await runMain({ NODE_ENV: 'production', WXPAY_MODE: 'simulator', TRUST_PROXY: 'none' });
    expect(noConfirm.code).toBe(2);
    expect(noConfirm.stderr.trim()).toMatch(/^config: WXPAY_SIMULATOR_CONFIRM must be set to no-real-money to run WXPAY_MODE=simulator when NODE_ENV=production/);
    const foreignIds = await runMain({ WXPAY_MODE: 'simulator', WXPAY_MCH_ID: '10000100' });
    expect(foreignIds.code).toBe(2);
    expect(foreignIds.stderr.trim()).toMatch(/^config: WXPAY_SIMULATOR_CONFIRM must be set to no-real-money .* when WXPAY_MCH_ID is set to a merchant's own value/);
    const noProxy = await runMain({ NODE_ENV: 'production', WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'no-real-money' });
    expect(noProxy.code).toBe(2);
    expect(noProxy.stderr.trim()).toMatch(/^config: TRUST_PROXY must be set explicitly with NODE_ENV=production/);
    const both = await runMain({ NODE_ENV: 'production', WXPAY_MODE: 'simulator', WXPAY_SIMULATOR_CONFIRM: 'no-real-money', TRUST_PROXY: '1', LOG_LEVEL: 'info' });
    expect(both.stdout).toContain('shop listening');
  });
});
