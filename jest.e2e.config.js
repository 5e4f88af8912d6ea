/**
 * `npm run test:e2e`: real Chromium (Debian's /usr/bin/chromium through playwright-core) against
 * the shop started as `npm start` starts it, in a child process. No globalSetup: each test file
 * starts, and always stops, its own processes (see tests/e2e/helpers/).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // one browser and a few app processes at a time: files run one after the other
  maxWorkers: 1,
  // start-up of an app process (tsx compiles on the fly) takes seconds; a journey tens of them
  testTimeout: 90_000,
  verbose: true,
};
