/**
 * The shop under test, as `npm start` runs it (start() from src/main.ts, the same env), in its own
 * process so that its memory and CPU are its own. Bench-only additions, over the IPC channel:
 * settled memory, the number of held status polls, a read-only query for the bench's checks, and
 * a CPU profile per phase (inspector, the same .cpuprofile as `node --cpu-prof`) and a sampling
 * heap profile of what is live while the status polls are held (the same .heapprofile as `--heap-prof`).
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { start, type RunningShop } from '../src/main';
import { serveIpc, settledMemory } from './lib/ipc';

let profiler: inspector.Session | undefined;
let heapProfiler: inspector.Session | undefined;

function post<T>(session: inspector.Session, method: string, params: Record<string, unknown> = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
}

async function main(): Promise<void> {
  const shop: RunningShop = await start(process.env);
  serveIpc(
    {
      memory: () => settledMemory(),
      waiters: () => shop.waiters.size,
      /** for the bench's own checks between phases (e.g. how many trades a phase settled) */
      query: async ({ sql, bindings }) => {
        const result = (await shop.db.knex.raw(String(sql), (bindings ?? []) as never[])) as { rows: unknown[] };
        return result.rows;
      },
      'profile-start': async () => {
        profiler = new inspector.Session();
        profiler.connect();
        await post(profiler, 'Profiler.enable');
        await post(profiler, 'Profiler.setSamplingInterval', { interval: 500 });
        await post(profiler, 'Profiler.start');
        return true;
      },
      'profile-stop': async ({ file }) => {
        if (!profiler) throw new Error('no profile running');
        const { profile } = await post<{ profile: unknown }>(profiler, 'Profiler.stop');
        profiler.disconnect();
        profiler = undefined;
        fs.mkdirSync(path.dirname(String(file)), { recursive: true });
        fs.writeFileSync(String(file), JSON.stringify(profile));
        return file;
      },
      /** live allocations by stack (the sampling heap profiler): what holds the memory now */
      'heap-start': async () => {
        heapProfiler = new inspector.Session();
        heapProfiler.connect();
        await post(heapProfiler, 'HeapProfiler.enable');
        await post(heapProfiler, 'HeapProfiler.startSampling', { samplingInterval: 4096 });
        return true;
      },
      'heap-take': async ({ file }) => {
        if (!heapProfiler) throw new Error('no heap sampling running');
        globalThis.gc?.();
        const { profile } = await post<{ profile: unknown }>(heapProfiler, 'HeapProfiler.getSamplingProfile');
        await post(heapProfiler, 'HeapProfiler.stopSampling');
        heapProfiler.disconnect();
        heapProfiler = undefined;
        fs.mkdirSync(path.dirname(String(file)), { recursive: true });
        fs.writeFileSync(String(file), JSON.stringify(profile));
        return file;
      },
      stop: async () => {
        await shop.stop();
        return true;
      },
    },
    { url: shop.url, database: shop.db.kind, pid: process.pid },
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
