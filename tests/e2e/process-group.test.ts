import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './helpers/processes';
import { startShop } from './helpers/shop';

/**
 * `npm start` is tsx, and tsx runs the shop in a child process of its own. A test that ends a shop
 * with SIGKILL (a hung stop, a failed start) must end that child too, or the shop keeps listening
 * and jest never exits. Linux: the process group is read from /proc.
 */

/** pids whose process group is `pgid`, from /proc/<pid>/stat (field 5). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its closing paren
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

test('when the shop started as `npm start` starts it (tsx, which runs it in a child) is killed with SIGKILL, nothing of it keeps listening', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-e2e-pgroup-'));
  const port = await freePort();
  const shop = await startShop('shop', { port, env: { PGLITE_DIR: 'memory://', SWEEP_INTERVAL_SECONDS: '0' }, logPath: path.join(tmp, 'shop.log') });
  try {
    const leader = shop.child.pid as number;
    // the wrapper and the shop it runs: more than one process, all in the wrapper's group
    expect(groupMembers(leader).length).toBeGreaterThan(1);

    expect(await shop.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

    await waitFor(
      `nothing to listen on port ${port} any more`,
      async () => {
        try {
          await fetch(`${shop.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
          return false;
        } catch (err) {
          return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        }
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    await waitFor(`process group ${leader} to be empty`, () => groupMembers(leader).length === 0, { timeoutMs: 15_000, intervalMs: 200 });
  } finally {
    await shop.stop('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
