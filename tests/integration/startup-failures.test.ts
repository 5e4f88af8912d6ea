import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { killGroup } from '../helpers/shop-process';
import { scaled } from '../helpers/timeouts';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** Runs `npm start`'s entry point as a child process and collects how it ends. */
function runMain(env: NodeJS.ProcessEnv, timeoutMs = scaled(50000)): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'silent', PGLITE_DIR: 'memory://', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group: a time-out kills tsx and the app it runs, leaving no orphan
      detached: true,
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`main did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('start-up failures print one clear line and exit non-zero', () => {
  test('a bad config value exits with code 2 and one line naming the variable', async () => {
    const { code, stderr } = await runMain({ PORT: 'eighty' });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual(['config: PORT must be an integer between 0 and 65535 (got "eighty")']);
  });

  test('an unreachable database server exits with code 1 and one line saying where', async () => {
    const { code, stderr } = await runMain({ DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/shop' });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cannot open the database \(PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/shop\): ECONNREFUSED/);
    expect(stderr).not.toContain('secret');
  });

  test('a port that is taken exits with code 1 and one line naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, stderr } = await runMain({ PORT: String(port), HOST: '127.0.0.1' });
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([`port ${port} is already in use: stop the other server or set PORT`]);
    } finally {
      blocker.close();
    }
  });
});
