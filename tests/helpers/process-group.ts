import type { ChildProcess } from 'node:child_process';

/**
 * Sends `signal` to `child` and to everything it started. The child must have been spawned with
 * `detached: true`, so that it leads a process group of its own: `npm start` is tsx, which runs
 * the shop in a grandchild that a SIGKILL to tsx alone would leave running, still listening.
 * Quiet when the group is gone already.
 */
export function killProcessGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing of it is left
  }
}

/** Whether a process (a test run that owns a database, say) is still there. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
