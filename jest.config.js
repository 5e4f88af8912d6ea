// Time limits scale with one setting (tests/helpers/timeouts.ts): TEST_TIMEOUT_SCALE=3 on a slow
// or busy machine. 60 s is generous for any test or hook here on an idle 2-core machine (most need
// well under 10 s); three helpers found 30 s too tight while several suites shared the 2 cores.
const raw = process.env.TEST_TIMEOUT_SCALE;
const scale = raw === undefined || raw.trim() === '' ? 1 : Number(raw);
if (!Number.isFinite(scale) || scale < 1 || scale > 100) {
  throw new Error(`TEST_TIMEOUT_SCALE must be a number from 1 to 100 (got ${JSON.stringify(raw)})`);
}

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['<rootDir>/tests/{unit,integration}/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // one migrated database made once per run (a PostgreSQL template, a PGlite snapshot), cloned per file
  globalSetup: '<rootDir>/tests/helpers/global-setup.ts',
  testTimeout: Math.round(60000 * scale),
  maxWorkers: 2,
};
