import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';

/**
 * .env.example and README's configuration table are the shop's settings as start-up enforces them:
 * every variable config.ts reads is in both, and .env.example chooses no WeChat Pay mode (copied
 * with real merchant ids and NODE_ENV=production, it must not start the simulator silently).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const configSource = read('src/config.ts');
const VARIABLES = [...new Set([...configSource.matchAll(/(?:get|merchantValue|intSetting|parseWith)\(\s*'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] as string))];

test('every variable config.ts reads is in .env.example and in README', () => {
  expect(VARIABLES).toEqual(expect.arrayContaining(['TRUST_PROXY', 'HOST', 'WXPAY_MODE', 'WXPAY_SIMULATOR_CONFIRM', 'SHOP_URL']));
  const example = read('.env.example');
  const readme = read('README.md');
  expect(VARIABLES.filter((name) => name !== 'NODE_ENV' && !new RegExp(`^#? ?${name}=`, 'm').test(example))).toEqual([]);
  expect(VARIABLES.filter((name) => name !== 'NODE_ENV' && !readme.includes(`\`${name}\``))).toEqual([]);
});

test('.env.example sets no WeChat Pay mode, and what it sets starts nothing by itself in production', () => {
  const example = read('.env.example');
  expect(example).not.toMatch(/^WXPAY_MODE=/m);
  expect(example).not.toMatch(/^WXPAY_SIMULATOR_CONFIRM=/m);
  const set = Object.fromEntries([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  // as copied, with real merchant ids and NODE_ENV=production: refused, naming WXPAY_MODE
  expect(() => loadConfig({ ...set, NODE_ENV: 'production', WXPAY_MCH_ID: '10000100' })).toThrow(/^config: WXPAY_MODE must be set/);
  // the bare demo still starts from it
  expect(loadConfig(set).wxpay.mode).toBe('simulator');
});
