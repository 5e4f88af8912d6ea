import fs from 'node:fs';
import path from 'node:path';

/**
 * npm 11 runs no dependency's install script that package.json's allowScripts does not name, and
 * warns about each one at every `npm ci`. Ours are reviewed and denied (README, "Development"):
 * esbuild (tsx), @swc/core (the tests' compiler) and @parcel/watcher (jest) ship their binaries as
 * platform packages and work without them. A new dependency with an install script must be
 * reviewed the same way, or `npm ci` warns again: this test says so first.
 */
const ROOT = path.resolve(__dirname, '..', '..');

test('every dependency with an install script is decided in package.json allowScripts', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages)
    .filter(([where, info]) => where.startsWith('node_modules/') && info.hasInstallScript)
    .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
  expect(withScripts.length).toBeGreaterThan(0);
  const decided = Object.keys(pkg.allowScripts ?? {}).map((entry) => entry.replace(/(.)@[^@/]*$/, '$1'));
  expect(withScripts.filter((name) => !decided.includes(name))).toEqual([]);
});
