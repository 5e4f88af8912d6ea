import crypto from 'node:crypto';
import knexFactory from 'knex';
import { migrateToLatest, openDatabase, type Database } from '../../src/db';

/**
 * A fresh, empty database for one test file: in-memory PGlite by default, or a new database on
 * the PostgreSQL server named by DATABASE_URL (dropped afterwards), so files never share state
 * and can run in parallel.
 */
export interface TestDatabase {
  db: Database;
  /** the URL of this file's own database on a server; undefined on PGlite */
  url: string | undefined;
  drop(): Promise<void>;
}

export const TEST_DATABASE_PREFIX = 'wxpay_test_';

export function serverUrl(): string | undefined {
  const url = process.env.DATABASE_URL;
  return url && url.trim() !== '' ? url : undefined;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createEmptyDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const server = serverUrl();
  if (!server) return { url: undefined, drop: async () => undefined };
  const name = `${TEST_DATABASE_PREFIX}${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
  try {
    await admin.raw('CREATE DATABASE ??', [name]);
  } finally {
    await admin.destroy();
  }
  return {
    url: withDatabase(server, name),
    async drop() {
      const again = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
      try {
        await again.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      } finally {
        await again.destroy();
      }
    },
  };
}

export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const empty = await createEmptyDatabase();
  const db = await openDatabase({ databaseUrl: empty.url, pgliteDir: 'memory://' });
  if (options.migrate !== false) await migrateToLatest(db.knex);
  return {
    db,
    url: empty.url,
    async drop() {
      await db.close();
      await empty.drop();
    },
  };
}
