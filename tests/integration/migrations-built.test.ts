import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { MigrationFiles, migrationConfig, migrateToLatest } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../helpers/testdb';

/**
 * `npm start` runs the TypeScript migrations, `node dist/main.js` the ones `npm run build`
 * compiled. One database must be able to go from either to the other: a demo on a server moved to
 * the built image, or a rollback to `npm start`, must neither re-run a migration nor stop on
 * "the migration directory is corrupt".
 */

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCES = path.join(ROOT, 'migrations');
const sourceNames = fs
  .readdirSync(SOURCES)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .sort();

let compiled: string;
const databases: TestDatabase[] = [];
// a migration run on a fresh database takes seconds, more on a busy machine: these tests wait
// for it to be right, not fast

beforeAll(async () => {
  compiled = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-migrations-'));
  // the build's own step for migrations (package.json "build"), into a directory of our own
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', path.join(SOURCES, 'tsconfig.build.json'), '--outDir', compiled, '--sourceMap', 'false'], { cwd: ROOT });
}, 120_000);

afterAll(async () => {
  for (const database of databases) await database.drop();
  if (compiled) fs.rmSync(compiled, { recursive: true, force: true });
});

async function freshDatabase(): Promise<Knex> {
  const database = await createTestDatabase({ migrate: false });
  databases.push(database);
  return database.db.knex;
}

const builtConfig = (): Knex.MigratorConfig => ({ migrationSource: new MigrationFiles(compiled, '.js'), tableName: 'knex_migrations' });

async function recorded(knex: Knex): Promise<string[]> {
  return (await knex('knex_migrations').orderBy('id').select('name')).map((r: { name: string }) => r.name);
}

test('the build compiles every migration, and both forms list the same migrations under the same names', async () => {
  expect(sourceNames.length).toBeGreaterThan(0);
  expect(fs.readdirSync(compiled).filter((f) => f.endsWith('.js')).sort()).toEqual(sourceNames.map((f) => f.replace(/\.ts$/, '.js')));
  const fromSources = await new MigrationFiles(SOURCES, '.ts').getMigrations();
  const fromBuild = await new MigrationFiles(compiled, '.js').getMigrations();
  expect(fromBuild).toEqual(fromSources);
  expect(fromBuild.map((m) => new MigrationFiles(compiled, '.js').getMigrationName(m))).toEqual(sourceNames);
});

test('when a database migrated by `npm start` (TypeScript) is opened by the build, nothing is pending, nothing re-runs and the history is not called corrupt', async () => {
  const knex = await freshDatabase();
  expect(await migrateToLatest(knex)).toEqual(sourceNames);
  const [, pending] = (await knex.migrate.list(builtConfig())) as [unknown[], unknown[]];
  expect(pending).toEqual([]);
  const [, applied] = (await knex.migrate.latest(builtConfig())) as [number, string[]];
  expect(applied).toEqual([]);
  expect(await recorded(knex)).toEqual(sourceNames);
}, 180_000);

test('when a database migrated by the build is opened by `npm start`, nothing is pending and the schema is the same one', async () => {
  const knex = await freshDatabase();
  const [, applied] = (await knex.migrate.latest(builtConfig())) as [number, string[]];
  expect(applied).toEqual(sourceNames);
  expect(await recorded(knex)).toEqual(sourceNames);
  expect(await migrateToLatest(knex)).toEqual([]);
  const [, pending] = (await knex.migrate.list(migrationConfig)) as [unknown[], unknown[]];
  expect(pending).toEqual([]);
  // the compiled migrations made the real tables
  expect(Number((await knex('products').count<{ count: string }[]>({ count: '*' }))[0]?.count)).toBe(0);
  expect(await knex.schema.hasTable('paylog')).toBe(true);
}, 180_000);
