import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { GiveUp, spawnService, tailOf, waitFor, type ChildService } from './processes';
import { cleanShopEnv as cleanEnv } from '../../helpers/shop-env';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/**
 * How the shop is run: `tsx` as `npm start` runs it (TypeScript, compiled on the fly), or `dist`
 * as the image runs it (`node dist/main.js` after `npm run build`, with NODE_ENV=production and
 * the node that runs these tests).
 */
export type ShopRuntime = 'tsx' | 'dist';

/** `npm run build`, as a deployment builds: dist/ made anew from src/ and migrations/. */
export async function buildDist(): Promise<void> {
  try {
    await promisify(execFile)('npm', ['run', '-s', 'build'], { cwd: ROOT, env: cleanEnv({}) });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed:\n${stdout}${stderr}`, { cause: err });
  }
}

export interface ShopProcess extends ChildService {
  url: string;
  port: number;
  /** the shop's pino log, parsed (lines that are not JSON are left out) */
  logEntries(): Record<string, unknown>[];
}

/**
 * Starts the shop as `npm start` does (`tsx src/main.ts`, simulator mode unless env says otherwise)
 * or, with runtime `dist`, as the image does (`node dist/main.js`: build it first) in a child
 * process on 127.0.0.1:`port`, and waits until /healthz answers 200. If the shop exits or never
 * becomes healthy, it is stopped and the error carries the tail of its log.
 */
export async function startShop(name: string, options: { port: number; env: Record<string, string>; logPath: string; runtime?: ShopRuntime }): Promise<ShopProcess> {
  const runtime = options.runtime ?? 'tsx';
  const production: Record<string, string> = runtime === 'dist' ? { NODE_ENV: 'production' } : {};
  const env = cleanEnv({ PORT: String(options.port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...production, ...options.env });
  const [command, args] = runtime === 'dist' ? [process.execPath, ['dist/main.js']] : [TSX, ['src/main.ts']];
  const service = spawnService(name, command, args, { cwd: ROOT, env, logPath: options.logPath });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitFor(
      `${name} to answer GET /healthz with 200`,
      async () => {
        if (service.hasExited()) throw new GiveUp(`${name} exited during start-up`);
        const res = await fetch(`${url}/healthz`);
        return res.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  } catch (err) {
    await service.stop('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- ${name} log (${options.logPath}):\n${tailOf(service)}`, { cause: err });
  }
  return {
    ...service,
    url,
    port: options.port,
    logEntries: () =>
      service.lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}

/**
 * ADMIN_PASSWORD_HASH for `password`, made as an operator makes it: `npm run -s admin:hash`
 * (src/cli/admin-hash.ts) in `cwd` with the password on stdin, the hash alone on stdout.
 */
export async function adminPasswordHash(password: string, cwd = ROOT): Promise<string> {
  const child = spawn('npm', ['run', '-s', 'admin:hash'], { cwd, env: cleanEnv({}), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  child.stdin.end(password);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const hash = out.trim();
  if (code !== 0 || !hash.startsWith('scrypt$')) throw new Error(`npm run admin:hash failed (exit ${code}): ${err.trim()}`);
  return hash;
}
