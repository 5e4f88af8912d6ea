import fs from 'node:fs';
import path from 'node:path';

/**
 * The house rules of DESIGN.md that a reader would otherwise check by grep, checked on every run:
 * the ledger is the only writer of its tables, routes hold no SQL, src/wechatpay knows nothing of
 * Express or the database, and no two feature folders import each other (directly or round about).
 */

const SRC = path.resolve(__dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const FILES = sourceFiles(SRC).map((file) => ({ file, rel: path.relative(SRC, file), text: fs.readFileSync(file, 'utf8') }));
const LEDGER_TABLES = ['paylog', 'orders', 'order_items', 'order_log', 'paylog_orders', 'refunds'];

/** Writes on a ledger table in a file: knex builders (`x('orders')....update(`) and raw SQL. */
function ledgerWrites(text: string): string[] {
  const found: string[] = [];
  const tables = LEDGER_TABLES.join('|');
  for (const m of text.matchAll(new RegExp(`(?:INSERT\\s+INTO|UPDATE|DELETE\\s+FROM)\\s+(${tables})\\b`, 'gi'))) found.push(m[0]);
  // a builder on one of the tables, followed (within the same statement) by a write
  for (const m of text.matchAll(new RegExp(`\\(\\s*'(${tables})'\\s*\\)([^;]*?)\\.(insert|update|del|delete|increment|decrement)\\(`, 'g'))) found.push(`${m[1]}.${m[3]}`);
  return found;
}

describe('the house rules', () => {
  test('only src/ledger writes paylog, orders, order_items, order_log, paylog_orders and refunds', () => {
    const outside = FILES.filter((f) => !f.rel.startsWith(`ledger${path.sep}`) && !f.rel.startsWith(`simulator${path.sep}`))
      .map((f) => ({ file: f.rel, writes: ledgerWrites(f.text) }))
      .filter((f) => f.writes.length > 0);
    expect(outside).toEqual([]);
    // and the check can see a write when there is one
    expect(ledgerWrites("await trx('orders').where({ id }).update({ status: 'paid' });")).toEqual(['orders.update']);
    expect(ledgerWrites('UPDATE paylog SET trade_state = 1')).toEqual(['UPDATE paylog']);
  });

  test('routes parse, call a service and render: no knex, no SQL', () => {
    const routes = FILES.filter((f) => /routes\.ts$/.test(f.rel) && !f.rel.startsWith(`simulator${path.sep}`));
    expect(routes.length).toBeGreaterThan(5);
    const withSql = routes.filter((f) => /knex\(\s*'|trx\(\s*'|(?<!express)\.raw\(|\bSELECT\b|\bINSERT\b/.test(f.text)).map((f) => f.rel);
    expect(withSql).toEqual([]);
  });

  test('src/wechatpay knows nothing of Express, the database or the rest of the app', () => {
    const imports = FILES.filter((f) => f.rel.startsWith(`wechatpay${path.sep}`)).flatMap((f) =>
      [...f.text.matchAll(/from '([^']+)'/g)].map((m) => m[1] as string).filter((spec) => !spec.startsWith('./') && !spec.startsWith('node:')).map((spec) => `${f.rel}: ${spec}`),
    );
    // the one constant-time comparison is shared, nothing else
    expect(imports.filter((i) => !i.endsWith(': ../timing-safe'))).toEqual([]);
  });

  test('no two folders of src/ import each other, directly or round about', () => {
    const edges = new Map<string, Set<string>>();
    for (const f of FILES) {
      const from = f.rel.split(path.sep)[0] as string;
      if (!f.rel.includes(path.sep)) continue; // the composition root (main, app, deps...) may import everything
      for (const m of f.text.matchAll(/from '(\.[^']+)'/g)) {
        const target = path.relative(SRC, path.resolve(path.dirname(f.file), m[1] as string));
        const parts = target.split(path.sep);
        const isFolder = parts.length > 1 || fs.existsSync(path.join(SRC, target)) && fs.statSync(path.join(SRC, target)).isDirectory();
        const to = parts[0] as string;
        if (!isFolder || to === from) continue;
        edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
    const reaches = (a: string, b: string, seen = new Set<string>()): boolean =>
      [...(edges.get(a) ?? [])].some((n) => n === b || (!seen.has(n) && (seen.add(n), reaches(n, b, seen))));
    const cycles = [...edges].flatMap(([a, targets]) => [...targets].filter((b) => reaches(b, a)).map((b) => `${a} -> ${b}`));
    expect(cycles).toEqual([]);
    expect(edges.get('pay')?.has('ledger')).toBe(true);
  });
});
