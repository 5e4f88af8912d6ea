import knexFactory from 'knex';
import { TEST_DATABASE_PREFIX, prepareMigratedCopy, serverUrl } from './testdb';
import { isAlive } from './process-group';

/**
 * Once per `npm test`: on a server, drop the test databases that an interrupted earlier run left
 * behind (only those whose test process is gone: another run may be going on beside this one);
 * then make the migrated copy every test file starts from (tests/helpers/testdb.ts).
 */
export default async function globalSetup(): Promise<void> {
  const server = serverUrl();
  if (server) {
    const admin = knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });
    try {
      const { rows } = await admin.raw<{ rows: { datname: string }[] }>('SELECT datname FROM pg_database WHERE datname LIKE ?', [`${TEST_DATABASE_PREFIX}%`]);
      for (const { datname } of rows) {
        const pid = Number(new RegExp(`^${TEST_DATABASE_PREFIX}(\\d+)_`).exec(datname)?.[1]);
        if (!pid || !isAlive(pid)) await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [datname]);
      }
    } finally {
      await admin.destroy();
    }
  }
  await prepareMigratedCopy();
}
