// For the knex CLI (`npx knex migrate:status`, `migrate:make`); the app itself migrates at start-up
// through src/db.ts. DATABASE_URL set -> that server; unset -> the embedded PGlite in PGLITE_DIR.
import { PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import ClientPGlite from 'knex-pglite';
import { migrationConfig } from './src/db';

const databaseUrl = process.env.DATABASE_URL;

const config: Knex.Config = databaseUrl
  ? { client: 'pg', connection: databaseUrl, migrations: migrationConfig }
  : {
      client: ClientPGlite,
      connection: () => ({ pglite: new PGlite(process.env.PGLITE_DIR ?? './data/pglite') }) as unknown as Knex.StaticConnectionConfig,
      migrations: migrationConfig,
    };

export default config;
