/**
 * Ceiling: Express's hello-world on this machine, in its own process, on 127.0.0.1 (GET /).
 * Reference: the same Express answering after one `select 1` through knex (GET /db), on the
 * bench's PostgreSQL database with the app's pool size, or on an in-memory PGlite of its own:
 * what any page that reads the database once per request can do at best here.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { openDatabase } from '../src/db';
import { serveIpc, settledMemory } from './lib/ipc';

async function main(): Promise<void> {
  const db = await openDatabase({ databaseUrl: process.env.BENCH_DATABASE_URL || undefined, pgliteDir: 'memory://' });
  const app = express();
  app.get('/', (_req, res) => {
    res.send('Hello World!');
  });
  app.get('/db', async (_req, res) => {
    await db.knex.raw('select 1');
    res.send('Hello World!');
  });
  const server = app.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    serveIpc(
      {
        memory: () => settledMemory(),
        stop: async () => {
          await new Promise((resolve) => server.close(() => resolve(true)));
          await db.close();
          return true;
        },
      },
      { url: `http://127.0.0.1:${port}`, pid: process.pid, database: db.kind },
    );
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
