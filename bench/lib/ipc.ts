import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The bench's processes talk over Node's IPC channel: the orchestrator sends `{ id, cmd, args }`,
 * the child answers `{ id, ok, result | error }`; a child says `{ type: 'ready', ... }` once it
 * serves and `{ type: 'progress', text }` while a long command runs.
 */

export const ROOT = path.resolve(__dirname, '..', '..');

type Json = unknown;
type Handler = (args: Record<string, unknown>) => Promise<Json> | Json;

interface Request {
  id: number;
  cmd: string;
  args?: Record<string, unknown>;
}

interface Reply {
  id?: number;
  type?: string;
  ok?: boolean;
  result?: Json;
  error?: string;
  text?: string;
}

/** Child side: answer the orchestrator's commands; `stop` ends the process once its handler is done. */
export function serveIpc(handlers: Record<string, Handler>, ready: Record<string, Json> = {}): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this bench process must be started by bench/run.ts (it needs an IPC channel)');
  process.on('message', (raw) => {
    const msg = raw as Request;
    const handler = handlers[msg.cmd];
    const answer = async () => {
      if (!handler) throw new Error(`unknown command ${msg.cmd}`);
      return handler(msg.args ?? {});
    };
    answer().then(
      (result) => {
        send({ id: msg.id, ok: true, result });
        if (msg.cmd === 'stop') setImmediate(() => process.exit(0));
      },
      (err: unknown) => send({ id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  // the orchestrator died: do not linger
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ...ready });
}

/** Child side: a progress line for the orchestrator to print. */
export function progress(text: string): void {
  process.send?.({ type: 'progress', text });
}

/** After three collections, the memory this process keeps (needs --expose-gc). */
export async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage();
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** where the child's stdout and stderr go (appended); inherited when unset */
  logFile?: string;
  /** extra node flags */
  nodeFlags?: string[];
  /** raise the soft open-files limit to this (through /bin/sh ulimit) when above the current one */
  openFiles?: number;
  onProgress?: (text: string) => void;
}

/** Orchestrator side: a bench process started with `node --import tsx <file>` and an IPC channel. */
export class BenchChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  private exited: Promise<number | null>;
  readyInfo: Record<string, Json> = {};

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    private readonly onProgress: ((text: string) => void) | undefined,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.on('message', (raw) => {
      const msg = raw as Reply;
      if (msg.type === 'progress') return this.onProgress?.(msg.text ?? '');
      if (msg.id === undefined) return;
      const waiting = this.pending.get(msg.id);
      if (!waiting) return;
      this.pending.delete(msg.id);
      if (msg.ok) waiting.resolve(msg.result);
      else waiting.reject(new Error(`${name}: ${msg.error}`));
    });
    proc.once('exit', (code, signal) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`${name} exited (${signal ?? code}) before answering`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  static async start(name: string, file: string, options: SpawnOptions = {}): Promise<BenchChild> {
    const nodeArgs = ['--expose-gc', ...(options.nodeFlags ?? []), '--import', 'tsx', path.resolve(ROOT, file)];
    let command = process.execPath;
    let args = nodeArgs;
    if (options.openFiles !== undefined) {
      // raise the soft limit up to the hard one; exec keeps the pid, so pid and memory are the child's own
      command = '/bin/sh';
      args = ['-c', `ulimit -n ${options.openFiles} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`, process.execPath, ...nodeArgs];
    }
    let out: number | 'inherit' = 'inherit';
    if (options.logFile) out = fs.openSync(options.logFile, 'a');
    const proc = spawn(command, args, { cwd: ROOT, env: options.env ?? process.env, stdio: ['ignore', out, out, 'ipc'] });
    if (typeof out === 'number') fs.closeSync(out);
    const child = new BenchChild(name, proc, options.onProgress);
    child.readyInfo = await new Promise<Record<string, Json>>((resolve, reject) => {
      const onMessage = (raw: unknown) => {
        const msg = raw as Reply & Record<string, Json>;
        if (msg.type !== 'ready') return;
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        resolve(msg);
      };
      const onExit = (code: number | null) =>
        reject(new Error(`${name} exited (${code}) before it was ready${options.logFile ? `: see ${path.relative(ROOT, options.logFile)}` : ''}`));
      proc.on('message', onMessage);
      proc.once('exit', onExit);
    });
    return child;
  }

  call<T = Json>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: Json) => void, reject });
      this.proc.send({ id, cmd, args } satisfies Request, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  /** Asks the child to stop; kills it (by its own pid) when it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.call('stop').catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
