import crypto from 'node:crypto';
import { Client } from 'pg';
import { isAlive } from '../../helpers/process-group';

/**
 * A fresh database on the PostgreSQL server of DATABASE_URL, for app processes to share. Its own
 * prefix, not the integration tests' `wxpay_test_` (their global setup drops those, and may run
 * while this does).
 */
export const E2E_DATABASE_PREFIX = 'wxpay_e2e_';

export interface ServerDatabase {
  name: string;
  url: string;
  /** runs one query on this database (a short-lived connection) */
  query<R extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

async function onServer<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createServerDatabase(serverUrl: string): Promise<ServerDatabase> {
  const name = `${E2E_DATABASE_PREFIX}${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await onServer(serverUrl, async (client) => {
    // what an interrupted earlier run left behind (its test process is gone)
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${E2E_DATABASE_PREFIX}%`]);
    for (const { datname } of rows) {
      const pid = Number(/^wxpay_e2e_(\d+)_/.exec(datname)?.[1]);
      if (pid && !isAlive(pid)) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await client.query(`CREATE DATABASE "${name}"`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    query: async <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => onServer(url.toString(), async (client) => (await client.query<R>(sql, params)).rows),
    drop: () => onServer(serverUrl, async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
