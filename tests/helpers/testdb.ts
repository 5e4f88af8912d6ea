import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrateToLatest, openDatabase, type Database } from '../../src/db';

/**
 * A fresh database for one test file: in-memory PGlite by default, or a new database on the
 * PostgreSQL server named by DATABASE_URL (dropped afterwards), so files never share state and can
 * run in parallel. Both start migrated from one copy made once per run by the global set-up (and
 * kept between runs while the migrations stay the same): on a server `CREATE DATABASE ... TEMPLATE`
 * of a migrated template database, on PGlite a migrated data directory (dumpDataDir) loaded
 * instead of running initdb and the migrations again.
 */
export interface TestDatabase {
  db: Database;
  /** the URL of this file's own database on a server; undefined on PGlite */
  url: string | undefined;
  drop(): Promise<void>;
}

export const TEST_DATABASE_PREFIX = 'wxpay_test_';
const TEMPLATE_PREFIX = 'wxpay_tpl_';
const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

export function serverUrl(): string | undefined {
  const url = process.env.DATABASE_URL;
  return url && url.trim() !== '' ? url : undefined;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Names the migrated copy by what made it: the migration files and the PGlite version. */
function fingerprint(): string {
  const hash = crypto.createHash('sha256');
  for (const file of fs.readdirSync(MIGRATIONS_DIR).sort()) hash.update(file).update(fs.readFileSync(path.join(MIGRATIONS_DIR, file)));
  hash.update((JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string }).version);
  return hash.digest('hex').slice(0, 16);
}

export function templateDatabaseName(): string {
  return `${TEMPLATE_PREFIX}${fingerprint()}`;
}

export function pgliteSnapshotPath(): string {
  return path.join(os.tmpdir(), `wxpay-test-pglite-${fingerprint()}.tar`);
}

const adminKnex = (server: string): Knex => knexFactory({ client: 'pg', connection: server, pool: { min: 0, max: 1 } });

async function databaseExists(admin: Knex, name: string): Promise<boolean> {
  const { rows } = await admin.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
  return rows.length > 0;
}

/**
 * Makes the migrated copy if it is not there yet (global set-up calls it once per run). Concurrent
 * runs take turns: on a server under an advisory lock, on disk by writing aside and renaming.
 */
export async function prepareMigratedCopy(): Promise<void> {
  const server = serverUrl();
  if (server) {
    const template = templateDatabaseName();
    // one session holds the lock around the whole build (CREATE DATABASE cannot run in a transaction)
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      await admin.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
      const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (rows.length === 0) {
        const building = `${template}_b${process.pid}`;
        await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(building)}`);
        await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(building)}`);
        try {
          const db = await openDatabase({ databaseUrl: withDatabase(server, building), pgliteDir: 'memory://' });
          try {
            await migrateToLatest(db.knex);
          } finally {
            await db.close();
          }
        } catch (err) {
          await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(building)} WITH (FORCE)`).catch(() => undefined);
          throw err;
        }
        // renamed only when complete: a clone never sees a half-migrated template
        await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(building)} RENAME TO ${pg.escapeIdentifier(template)}`);
      }
    } finally {
      await admin.end();
    }
    return;
  }
  const file = pgliteSnapshotPath();
  if (fs.existsSync(file)) return;
  const db = await openDatabase({ databaseUrl: undefined, pgliteDir: 'memory://' });
  try {
    await migrateToLatest(db.knex);
    const pglite = (db.knex.client.config.connection as { pglite: { dumpDataDir(c: 'none'): Promise<Blob> } }).pglite;
    const blob = await pglite.dumpDataDir('none');
    const aside = `${file}.${process.pid}`;
    fs.writeFileSync(aside, Buffer.from(await blob.arrayBuffer()));
    fs.renameSync(aside, file);
  } finally {
    await db.close();
  }
}

export async function createEmptyDatabase(options: { template?: string; prefix?: string } = {}): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const server = serverUrl();
  if (!server) return { url: undefined, drop: async () => undefined };
  const name = `${options.prefix ?? TEST_DATABASE_PREFIX}${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = adminKnex(server);
  try {
    if (options.template) await admin.raw('CREATE DATABASE ?? TEMPLATE ??', [name, options.template]);
    else await admin.raw('CREATE DATABASE ??', [name]);
  } finally {
    await admin.destroy();
  }
  return {
    url: withDatabase(server, name),
    async drop() {
      const again = adminKnex(server);
      try {
        await again.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
      } finally {
        await again.destroy();
      }
    },
  };
}

let snapshot: Blob | undefined;
function pgliteSnapshot(): Blob | undefined {
  if (snapshot) return snapshot;
  const file = pgliteSnapshotPath();
  if (!fs.existsSync(file)) return undefined;
  snapshot = new Blob([fs.readFileSync(file)]);
  return snapshot;
}

async function templateReady(server: string): Promise<string | undefined> {
  const template = templateDatabaseName();
  const admin = adminKnex(server);
  try {
    return (await databaseExists(admin, template)) ? template : undefined;
  } finally {
    await admin.destroy();
  }
}

/**
 * A fresh database, migrated (the default) or empty (`migrate: false`); `prefix` names it apart
 * from the tests' own (the soak's database must outlive a test run's clean-up beside it).
 */
export async function createTestDatabase(options: { migrate?: boolean; prefix?: string } = {}): Promise<TestDatabase> {
  const migrate = options.migrate !== false;
  const server = serverUrl();
  // without the global set-up's copy (a file run on its own by another runner), migrate here
  const template = migrate && server ? await templateReady(server) : undefined;
  const loaded = migrate && !server ? pgliteSnapshot() : undefined;
  const empty = await createEmptyDatabase({ template, prefix: options.prefix });
  const db = await openDatabase({ databaseUrl: empty.url, pgliteDir: 'memory://', pgliteSnapshot: loaded });
  if (migrate && !template && !loaded) await migrateToLatest(db.knex);
  return {
    db,
    url: empty.url,
    async drop() {
      await db.close();
      await empty.drop();
    },
  };
}
