import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Extension } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPGlite from 'knex-pglite';
import pg from 'pg';

/**
 * The database: a PostgreSQL server when DATABASE_URL is set, else embedded PGlite (one
 * connection, so inside a transaction use only `trx`). Both speak the same SQL; bigint comes back
 * as a JS number on both (amounts are fen, far below 2^53).
 */
export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly knex: Knex;
  /**
   * LISTEN on a channel; `onMessage` gets each NOTIFY payload after the sender's commit.
   * Resolves to an unlisten function. On a server this uses one dedicated connection per Database;
   * when it breaks and is made anew, `onReconnect` is called: notifies sent in between are lost,
   * so whoever waits should look at the database again.
   */
  listen(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const INT8_OID = 20;

// pg_trgm for embedded PGlite (the catalog's trigram search); its contrib entry ships ESM-only
// types, so it is required as the CommonJS build it also ships
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as { pg_trgm: Extension };

/**
 * A hot statement of fixed text, named so that a PostgreSQL server parses and plans it once per
 * connection (node-postgres's named statements, protocol-level: through PgBouncer in transaction
 * mode that needs PgBouncer 1.21+ with max_prepared_statements set). markPaid's statement plans in
 * about 1 ms and runs in well under one. Embedded PGlite is left as it is. One name, one text.
 */
export function prepared<T extends { options(opts: Readonly<Record<string, unknown>>): T }>(knex: Knex | Knex.Transaction, name: string, query: T): T {
  return knex.client.config.client === 'pg' ? query.options({ name: `wxpay_${name}` }) : query;
}

export function parseBigint(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} does not fit a JS number`);
  return n;
}

/**
 * The migration files in `directory` that end in `extension`, each recorded in knex_migrations
 * under its source name (`<stem>.ts`) whichever form ran it: the TypeScript files under tsx and
 * jest, the compiled `.js` files of `npm run build`. So a database migrated by `npm start` is up
 * to date for `node dist/main.js`, and the other way round (knex's own file source records the
 * file name as it is, and would call either one's history "corrupt" for the other).
 */
export class MigrationFiles implements Knex.MigrationSource<string> {
  constructor(
    readonly directory: string,
    readonly extension: '.ts' | '.js',
  ) {}

  async getMigrations(): Promise<string[]> {
    const files = await fs.promises.readdir(this.directory);
    return files
      .filter((file) => file.endsWith(this.extension) && !file.endsWith('.d.ts'))
      .map((file) => file.slice(0, -this.extension.length))
      .sort();
  }

  getMigrationName(stem: string): string {
    return `${stem}.ts`;
  }

  async getMigration(stem: string): Promise<Knex.Migration> {
    return (await import(path.join(this.directory, `${stem}${this.extension}`))) as Knex.Migration;
  }
}

// Run from src/ (tsx, jest) the migrations are the TypeScript files in ../migrations; run from a
// build (`node dist/main.js`) they are the compiled ones in dist/migrations, beside this file.
const COMPILED = path.extname(__filename) === '.js';
const MIGRATIONS_DIR = COMPILED ? path.join(__dirname, 'migrations') : path.resolve(__dirname, '..', 'migrations');

export const migrationConfig: Knex.MigratorConfig = {
  migrationSource: new MigrationFiles(MIGRATIONS_DIR, COMPILED ? '.js' : '.ts'),
  tableName: 'knex_migrations',
};

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  pgliteDir: string;
  /** pool size on a server */
  poolMax?: number;
  /** embedded PGlite in memory only: start from this data directory (a PGlite dumpDataDir tarball) */
  pgliteSnapshot?: Blob;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolMax ?? 10) : openPglite(options.pgliteDir, options.pgliteSnapshot);
}

async function openPostgres(databaseUrl: string, poolMax: number): Promise<Database> {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? parseBigint : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, types, connectionTimeoutMillis: 5000 } as Knex.PgConnectionConfig,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10000,
  });
  // Fail now, with the server's own reason, rather than on the first request.
  await knex.raw('select 1');

  let listener: pg.Client | undefined;
  let listenerReady: Promise<pg.Client> | undefined;
  let closed = false;
  let everConnected = false;
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const reconnectHandlers = new Set<() => void>();

  // One dedicated connection for LISTEN (it needs a session: through PgBouncer in transaction
  // mode it must bypass the pooler). When it breaks, a fresh one re-LISTENs every channel.
  const connectListener = async (): Promise<pg.Client> => {
    // keepAlive: a half-open connection (NAT timeout, failover) must fail, not fall silent
    const client = new pg.Client({ connectionString: databaseUrl, types, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    client.on('notification', (msg) => {
      for (const fn of handlers.get(msg.channel) ?? []) fn(msg.payload ?? '');
    });
    client.on('error', () => {
      if (listener === client) listener = undefined;
      listenerReady = undefined;
      client.end().catch(() => undefined);
      if (!closed && handlers.size > 0) scheduleReconnect(100);
    });
    await client.connect();
    for (const channel of handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    const reconnected = everConnected;
    everConnected = true;
    listener = client;
    if (reconnected) for (const fn of reconnectHandlers) fn();
    return client;
  };
  const getListener = () => {
    listenerReady ??= connectListener().catch((err: unknown) => {
      listenerReady = undefined;
      throw err;
    });
    return listenerReady;
  };
  const scheduleReconnect = (delayMs: number) => {
    setTimeout(() => {
      if (closed || listenerReady) return;
      getListener().catch(() => scheduleReconnect(Math.min(delayMs * 2, 5000)));
    }, delayMs).unref();
  };

  return {
    kind: 'postgres',
    knex,
    async listen(channel, onMessage, onReconnect) {
      if (onReconnect) reconnectHandlers.add(onReconnect);
      const client = await getListener();
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        // a listener made after this channel was added LISTENs to it already
        if (client === listener) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
      }
      set.add(onMessage);
      return async () => {
        if (onReconnect) reconnectHandlers.delete(onReconnect);
        const current = handlers.get(channel);
        current?.delete(onMessage);
        if (current && current.size === 0) {
          handlers.delete(channel);
          await listener?.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`);
        }
      };
    },
    async close() {
      closed = true;
      const client = listener;
      listener = undefined;
      listenerReady = undefined;
      await client?.end().catch(() => undefined);
      await knex.destroy();
    },
  };
}

/**
 * knex-pglite names a delete's command "DEL", so knex's PostgreSQL response handling returns the
 * raw result instead of the row count for `.delete()` (updates and inserts are fine). Name it as
 * PostgreSQL does, so `await knex(t).where(...).delete()` is a number on both databases.
 */
class PGliteClient extends (ClientPGlite as unknown as new (config: Knex.Config) => { processResponse(obj: { method?: string }, runner: unknown): unknown }) {
  override processResponse(obj: { method?: string }, runner: unknown): unknown {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}

async function openPglite(dir: string, snapshot: Blob | undefined): Promise<Database> {
  const inMemory = dir.startsWith('memory://');
  if (!inMemory) fs.mkdirSync(dir, { recursive: true });
  // pg_trgm: the catalog's search (a trigram index on titles), as on a server
  const pglite = new PGlite(dir, { parsers: { [INT8_OID]: parseBigint }, extensions: { pg_trgm }, ...(inMemory && snapshot ? { loadDataDir: snapshot } : {}) });
  await pglite.waitReady;
  const knex = knexFactory({
    client: PGliteClient as unknown as typeof ClientPGlite,
    connection: { pglite } as unknown as Knex.StaticConnectionConfig,
  });
  return {
    kind: 'pglite',
    knex,
    async listen(channel, onMessage) {
      return pglite.listen(channel, onMessage);
    },
    async close() {
      // knex-pglite closes the PGlite instance when the pool lets its one connection go
      await knex.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}

const MIGRATION_LOCK_KEY = 'wxpay-checkout:migrate';

/**
 * Migrates to the latest schema. Instances starting together on one server take turns: knex
 * creates its own bookkeeping tables before it takes its own lock, so two first starts could
 * collide; a session advisory lock held on one connection around the whole run prevents that.
 * (Embedded PGlite belongs to one process: nothing to coordinate there.)
 */
export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const isPostgresServer = knex.client.config.client === 'pg';
  const lockHolder = isPostgresServer ? ((await knex.client.acquireConnection()) as pg.PoolClient) : undefined;
  try {
    await lockHolder?.query('SELECT pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK_KEY]);
    const [, applied] = (await knex.migrate.latest(migrationConfig)) as [number, string[]];
    return applied;
  } finally {
    if (lockHolder) {
      await lockHolder.query('SELECT pg_advisory_unlock(hashtext($1))', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      await knex.client.releaseConnection(lockHolder);
    }
  }
}
