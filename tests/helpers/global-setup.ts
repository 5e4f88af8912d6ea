import knexFactory from 'knex';
import { TEST_DATABASE_PREFIX, serverUrl } from './testdb';

/** On a server: drop test databases that an interrupted earlier run left behind. */
export default async function globalSetup(): Promise<void> {
  const server = serverUrl();
  if (!server) return;
  const admin = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
  try {
    const { rows } = await admin.raw<{ rows: { datname: string }[] }>('SELECT datname FROM pg_database WHERE datname LIKE ?', [`${TEST_DATABASE_PREFIX}%`]);
    for (const { datname } of rows) await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [datname]);
  } finally {
    await admin.destroy();
  }
}
