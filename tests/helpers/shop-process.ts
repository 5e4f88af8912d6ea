import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GiveUp, waitFor } from '../e2e/helpers/processes';
import { scaled } from './timeouts';
import { cleanShopEnv as cleanEnv } from './shop-env';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
/**
 * The real shop as `npm start` runs it (`tsx src/main.ts`), in a child process that leads its own
 * process group: tsx runs the app in a grandchild, so killing the group (SIGKILL for a crash,
 * SIGTERM for a graceful stop) leaves no orphan listening on the port. Every group still alive
 * when the test process exits is killed.
 */
export interface ShopChild {
  readonly url: string;
  readonly port: number;
  readonly logPath: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
  tail(lines?: number): string;
}

const groups = new Set<number>();
process.on('exit', () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

export async function startShopChild(name: string, port: number, env: Record<string, string>): Promise<ShopChild> {
  const logPath = path.join(os.tmpdir(), `wxpay-${name}-${process.pid}-${port}.log`);
  const log = fs.openSync(logPath, 'a');
  const child = spawn(TSX, ['src/main.ts'], {
    cwd: ROOT,
    env: cleanEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  const pid = child.pid as number;
  groups.add(pid);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const tail = (lines = 20) => fs.readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone
    }
  };
  /** the whole group is gone once nothing answers on the port and the leader has exited */
  const gone = async () => {
    await exited;
    await waitFor(`${name}'s port ${port} to close`, async () => {
      try {
        await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: scaled(10_000), intervalMs: 100 });
    groups.delete(pid);
  };
  const shop: ShopChild = {
    url,
    port,
    logPath,
    child,
    exited,
    tail,
    async kill9() {
      killGroup('SIGKILL');
      await gone();
    },
    async stop() {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), scaled(15_000));
      await gone();
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(
      `${name} to answer GET /healthz with 200`,
      async () => {
        if (done) throw new GiveUp(`${name} exited during start-up`);
        return (await fetch(`${url}/healthz`)).status === 200;
      },
      { timeoutMs: scaled(60_000), intervalMs: 100 },
    );
  } catch (err) {
    await shop.kill9().catch(() => undefined);
    throw new Error(`${(err as Error).message}\n--- ${name} log (${logPath}):\n${tail()}`, { cause: err });
  }
  return shop;
}

/** (one helper for every test that spawns the shop: tests/helpers/process-group.ts) */
export { killProcessGroup as killGroup } from './process-group';
