/**
 * `npm run check:ledger`: the ledger's invariants over the whole database (src/ledger/check.ts),
 * read-only, with the shop's own configuration (DATABASE_URL, or PGLITE_DIR for embedded PGlite,
 * which only one process can open at a time: stop the shop first). Prints one line per discrepancy,
 * what could not be checked, and `ledger: N trades, ¥X paid, N discrepancies` last.
 * Exit 0: clean; 1: a discrepancy (or the database could not be read); 2: bad configuration.
 */
import { ConfigError, loadConfig } from '../src/config';
import { openDatabase } from '../src/db';
import { checkLedger, formatLedgerReport } from '../src/ledger/check';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const db = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, poolMax: 1 });
  try {
    // stock: every variant's movements (what it started with, counts, imports) account for it
    const report = await checkLedger(db.knex, { mchId: config.wxpay.mchId });
    for (const line of formatLedgerReport(report)) console.log(line);
    return report.discrepancies.length === 0 ? 0 : 1;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`check:ledger failed: ${(err as Error)?.message ?? String(err)}`);
    process.exit(1);
  },
);
