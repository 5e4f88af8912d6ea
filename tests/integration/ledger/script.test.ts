import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedCatalogIfEmpty } from '../../../src/catalog/service';
import { migrateToLatest, openDatabase } from '../../../src/db';
import { createTestDatabase, serverUrl, type TestDatabase } from '../../helpers/testdb';
import { scaled } from '../../helpers/timeouts';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** `npm run check:ledger` as an operator runs it: the shop's own configuration, one line per finding, the exit code. */
function checkLedger(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|PGLITE_DIR|WXPAY_\w+)$/.test(k)));
  return new Promise((resolve) => {
    execFile(TSX, ['scripts/check-ledger.ts'], { cwd: ROOT, env: { ...clean, ...env }, timeout: scaled(60_000) }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('npm run check:ledger', () => {
  let testDb: TestDatabase | undefined;
  let dir: string | undefined;
  let env: Record<string, string>;
  let stockUp: (by: number) => Promise<void>;

  beforeAll(async () => {
    if (serverUrl()) {
      testDb = await createTestDatabase();
      await seedCatalogIfEmpty(testDb.db.knex);
      env = { DATABASE_URL: testDb.url as string };
      stockUp = async (by) => void (await testDb?.db.knex('product_variants').where({ sku: 'TEA-LJ-250' }).increment('stock', by));
    } else {
      // embedded PGlite: one process at a time, so the test opens the directory only between runs
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-ledger-'));
      const db = await openDatabase({ databaseUrl: undefined, pgliteDir: dir });
      await migrateToLatest(db.knex);
      await seedCatalogIfEmpty(db.knex);
      await db.close();
      env = { PGLITE_DIR: dir };
      stockUp = async (by) => {
        const again = await openDatabase({ databaseUrl: undefined, pgliteDir: dir as string });
        await again.knex('product_variants').where({ sku: 'TEA-LJ-250' }).increment('stock', by);
        await again.close();
      };
    }
  }, scaled(60_000));
  afterAll(async () => {
    await testDb?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a clean database: exit 0, the summary last, and what it could not check', async () => {
    const { code, stdout } = await checkLedger(env);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('ledger: 0 trades, ¥0.00 paid, 0 discrepancies');
    expect(stdout).toMatch(/^not checked: WeChat's side \(merchant 1900000109\) is not in this database/m);
  }, scaled(60_000));

  test('a discrepancy: one line naming it, and exit 1', async () => {
    await stockUp(3);
    try {
      const { code, stdout } = await checkLedger(env);
      expect(code).toBe(1);
      expect(stdout).toContain('discrepancy stock_not_conserved: TEA-LJ-250 has 43 on the shelf but its stock movements add up to 40');
      expect(stdout.trim().split('\n').at(-1)).toBe('ledger: 0 trades, ¥0.00 paid, 1 discrepancies');
    } finally {
      await stockUp(-3);
    }
  }, scaled(60_000));

  test('a bad setting: one line naming the variable, and exit 2', async () => {
    const { code, stderr, stdout } = await checkLedger({ DATABASE_URL: 'mysql://localhost/shop' });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('config: DATABASE_URL must be a postgres:// or postgresql:// URL (unset it to use embedded PGlite)');
    expect(stdout).toBe('');
  }, scaled(60_000));
});
