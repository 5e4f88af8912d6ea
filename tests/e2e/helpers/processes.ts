import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { killProcessGroup } from '../../helpers/process-group';

/** A port nobody listens on right now, from the kernel (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** `count` distinct free ports (each probe's port is released before the next, so ask again on a repeat). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Thrown by a waitFor probe when waiting longer is pointless (the process it waits for is gone). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/**
 * Waits until `probe` returns something truthy (and returns it); polls, so no fixed sleep stands in
 * for a condition. On time-out the error names what was awaited and the last failure seen; a
 * GiveUp from the probe ends the wait at once.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw new Error(`gave up waiting for ${what}: ${err.message}`, { cause: err });
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process of the test: its output kept line by line (and in a log file), stoppable once. */
export interface ChildService {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout and stderr, line by line, as they came */
  readonly lines: string[];
  readonly logPath: string;
  /** settles when the process has exited */
  readonly exited: Promise<ExitStatus>;
  hasExited(): boolean;
  /**
   * sends `signal` to the process (a wrapper passes it on) and waits for the exit; SIGKILL to its
   * whole group after `graceMs` (then the status says so), or at once when `signal` is SIGKILL
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitStatus>;
}

/** SIGKILL for `child` and everything it started (it leads its own process group: see spawnService). */
function killGroup(child: ChildProcess): void {
  killProcessGroup(child, 'SIGKILL');
}

// Killed when the test process itself ends, however it ends: no shop or nginx outlives a run.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) killGroup(child);
});

export function spawnService(name: string, command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logPath: string }): ChildService {
  fs.writeFileSync(options.logPath, '');
  // detached: a process group of its own, so that killGroup reaches whatever the command started
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  const lines: string[] = [];
  let done = false;
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      fs.appendFileSync(options.logPath, chunk);
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    stream?.on('end', () => {
      if (partial) lines.push(partial);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (err) => {
      lines.push(`spawn failed: ${err.message}`);
      done = true;
      running.delete(child);
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      done = true;
      running.delete(child);
      // the leader is gone; so must be anything it started and left behind
      killGroup(child);
      resolve({ code, signal });
    });
  });
  let stopping: Promise<ExitStatus> | undefined;
  return {
    name,
    child,
    lines,
    logPath: options.logPath,
    exited,
    hasExited: () => done,
    stop(signal = 'SIGTERM', graceMs = 15_000) {
      stopping ??= (async () => {
        if (done) return exited;
        // SIGKILL cannot be passed on by a wrapper: it goes to the whole group
        if (signal === 'SIGKILL') killGroup(child);
        else child.kill(signal);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), graceMs);
        });
        const first = await Promise.race([exited, late]);
        clearTimeout(timer);
        if (first !== 'late') return first;
        lines.push(`${name} did not exit within ${graceMs} ms of ${signal}: killed`);
        killGroup(child);
        await exited;
        return { code: null, signal: 'SIGKILL' as NodeJS.Signals };
      })();
      return stopping;
    },
  };
}

/** The last lines of a child's output, for an error message that shows why it failed. */
export function tailOf(service: ChildService, count = 15): string {
  return service.lines.slice(-count).join('\n');
}
