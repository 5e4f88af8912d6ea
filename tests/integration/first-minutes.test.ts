import { spawn } from 'node:child_process';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { start } from '../../src/main';
import { waitFor } from '../e2e/helpers/processes';
import { cleanShopEnv } from '../helpers/shop-env';
import { createTestDatabase } from '../helpers/testdb';
import { scaled } from '../helpers/timeouts';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/**
 * `npm start`'s entry point, on a terminal (util-linux `script` gives it a pseudo-terminal) or
 * with its output piped: what it printed once it said where the admin is, and after `then` ran.
 */
async function runDemo(options: { terminal: boolean; then?: (output: () => string) => Promise<void> }): Promise<string> {
  const env = cleanShopEnv({ PGLITE_DIR: 'memory://', PORT: '0', SWEEP_INTERVAL_SECONDS: '0', TERM: 'dumb' });
  const child = options.terminal
    ? spawn('script', ['-qefc', `${TSX} src/main.ts`, '/dev/null'], { cwd: ROOT, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(TSX, ['src/main.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor('the demo to say where the phone is', () => /phone \(WeChat Pay simulator\)/.test(output), { timeoutMs: scaled(90_000), intervalMs: 100 });
    await options.then?.(() => output);
    return output;
  } finally {
    try {
      process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      // gone already
    }
    await exited;
  }
}

// eslint-disable-next-line no-control-regex -- a terminal's colours are escape sequences
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');

describe("a newcomer's first minutes with `npm start`", () => {
  test('on a terminal: readable lines, not JSON; the one-time password stays in view (page requests are not logged); the printed phone link opens the simulator', async () => {
    let phoneStatus = 0;
    const output = plain(
      await runDemo({
        terminal: true,
        then: async (out) => {
          const url = /phone \(WeChat Pay simulator\): (http:\/\/\S+)/.exec(plain(out()))?.[1];
          if (!url) throw new Error(`no phone link in: ${out()}`);
          const phone = await fetch(url);
          phoneStatus = phone.status;
          expect(await phone.text()).toContain('code_url');
          // a shopper browsing: the demo does not log page requests (LOG_LEVEL=debug would)
          const shop = new URL(url).origin;
          for (let i = 0; i < 5; i++) expect((await fetch(`${shop}/`)).status).toBe(200);
          await new Promise((resolve) => setTimeout(resolve, 300));
        },
      }),
    );
    expect(phoneStatus).toBe(200);
    const lines = output.split('\n').filter((l) => l.trim() !== '');
    expect(lines.filter((l) => l.trim().startsWith('{'))).toEqual([]);
    const password = lines.findIndex((l) => /one-time password \S{20}/.test(l));
    expect(password).toBeGreaterThanOrEqual(0);
    // the password's line is still among the last few: nothing logged for the page views after it
    expect(lines.length - password).toBeLessThanOrEqual(8);
    expect(lines.some((l) => /admin: http:\/\/127\.0\.0\.1:\d+\/admin \(user "admin", with the one-time password above\)/.test(l))).toBe(true);
    expect(output).not.toContain('request completed');
  });

  test('with its output piped (a process manager, a container): JSON lines', async () => {
    const output = await runDemo({ terminal: false });
    const lines = output.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });
});

describe('where the shop listens', () => {
  test('127.0.0.1 unless HOST says otherwise; HOST=0.0.0.0 listens on every interface', async () => {
    const testDb = await createTestDatabase();
    try {
      const local = await start({ PORT: '0', LOG_LEVEL: 'silent', SWEEP_INTERVAL_SECONDS: '0' }, { db: testDb.db });
      try {
        expect((local.server.address() as AddressInfo).address).toBe('127.0.0.1');
        expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      } finally {
        await local.stop();
      }
      const everywhere = await start({ PORT: '0', HOST: '0.0.0.0', LOG_LEVEL: 'silent', SWEEP_INTERVAL_SECONDS: '0' }, { db: testDb.db });
      try {
        expect((everywhere.server.address() as AddressInfo).address).toBe('0.0.0.0');
      } finally {
        await everywhere.stop();
      }
    } finally {
      await testDb.drop();
    }
  });
});
