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
const LEDGER_TABLES = ['paylog', 'orders', 'order_items', 'order_log', 'paylog_orders', 'refunds', 'shipments'];

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

  test('no file in src/ is over 400 lines: a file that grows that far holds two things (split it by what it does)', () => {
    const long = FILES.map((f) => ({ file: f.rel, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) })).filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });

  test('only src/ledger inserts outbox events (in the transaction of the change that causes them); src/outbox only delivers them', () => {
    const inserts = (text: string) => [...text.matchAll(/INSERT\s+INTO\s+outbox\b|\(\s*'outbox'\s*\)([^;]*?)\.insert\(/gi)].map((m) => m[0].slice(0, 40));
    const outside = FILES.filter((f) => !f.rel.startsWith(`ledger${path.sep}`)).map((f) => ({ file: f.rel, inserts: inserts(f.text) })).filter((f) => f.inserts.length > 0);
    expect(outside).toEqual([]);
    expect(inserts("await trx('outbox').insert(row)")).toHaveLength(1);
    expect(inserts('INSERT INTO outbox (type) VALUES (1)')).toHaveLength(1);
    expect(inserts('INSERT INTO outbox_deliveries (outbox_id)')).toHaveLength(0);
    // and the ledger does write them: markPaid's one statement and the alerts of every other change
    expect(FILES.filter((f) => f.rel.startsWith(`ledger${path.sep}`) && inserts(f.text).length > 0).map((f) => path.basename(f.rel)).sort()).toEqual(['fast-path.ts', 'outbox-repo.ts']);
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
    // the one constant-time comparison, the one Beijing clock and the one money formatter are shared, nothing else
    expect(imports.filter((i) => !/: \.\.\/(timing-safe|beijing-time|money)$/.test(i))).toEqual([]);
  });

  /** Where WeChat Pay's own words may be spoken: the protocol itself, its stand-in, and the port's adapters (v2, and v3 which reads both spellings of a code). */
  const speaksV2 = (rel: string) => rel.startsWith(`wechatpay${path.sep}`) || rel.startsWith(`simulator${path.sep}`) || /^payments[/\\]wechat-v[23][\w-]*\.ts$/.test(rel);
  /**
   * v2's own words: its error codes, its envelope's fields and reply bodies, its time format, the
   * errors that carry them. Above the payment port the shop speaks of facts (paid, unpaid, closed,
   * not found; accepted, refused, unknown), never of these.
   */
  const V2_VOCABULARY: readonly RegExp[] = [
    /\b(?:ORDERNOTEXIST|ORDERPAID|ORDERCLOSED|SYSTEMERROR|REFUNDNOTEXIST|NOTENOUGH|BIZERR_NEED_RETRY|FREQUENCY_LIMITED|INVALID_REQ_TOO_MUCH|USERPAYING|PAYERROR|OUT_TRADE_NO_USED)\b/,
    /\b(?:return_code|return_msg|result_code|err_code|err_code_des|errCode|returnMsg|req_info)\b/,
    /<xml>|CDATA\[|text\/xml/,
    /yyyyMMddHHmmss|\byyyyMMdd\b/,
    /\b(?:WxBusinessError|WxReturnError|WxPayError|WxPayClient|createWxPayClient|failReply|successReply|downloadBill|unifiedOrder|orderQuery|closeOrder)\b/,
    /No Bill Exist|Bill Creating/,
  ];
  /** What of src/wechatpay the rest of the shop may import: the shape of our numbers, WeChat's web authorization (not the payment API), UTF-8 lengths. */
  const SHARED_WECHAT_MODULES = new Set(['wechatpay/ids', 'wechatpay/oauth', 'wechatpay/text']);

  test('v2 vocabulary stays behind the payment port: nothing above it names a v2 code, field, reply or time format', () => {
    const found = FILES.filter((f) => !speaksV2(f.rel) && !f.rel.startsWith(`i18n${path.sep}`)).flatMap((f) =>
      V2_VOCABULARY.flatMap((pattern) => [...f.text.matchAll(new RegExp(pattern.source, 'g'))].map((m) => `${f.rel}: ${m[0]}`)),
    );
    expect(found).toEqual([]);
    // the check sees v2 words when they are there
    expect(V2_VOCABULARY.some((p) => p.test("err instanceof WxBusinessError && err.errCode === 'ORDERNOTEXIST'"))).toBe(true);
    expect(V2_VOCABULARY.some((p) => p.test("/No Bill Exist/i.test(err.returnMsg)"))).toBe(true);
  });

  test('above the port, src/wechatpay is imported only for what is not the v2 payment API', () => {
    // the config modules read key material with the protocol's own readers (config-wxpay-v3.ts: the APIv3 keys)
    const imports = FILES.filter((f) => !speaksV2(f.rel) && f.rel !== 'config.ts' && f.rel !== 'config-wxpay-v3.ts').flatMap((f) =>
      [...f.text.matchAll(/from '(\.[^']+)'/g)]
        .map((m) => path.relative(SRC, path.resolve(path.dirname(f.file), m[1] as string)).split(path.sep).join('/'))
        .filter((target) => target === 'wechatpay' || target.startsWith('wechatpay/'))
        .filter((target) => !SHARED_WECHAT_MODULES.has(target))
        .map((target) => `${f.rel}: ${target}`),
    );
    expect(imports).toEqual([]);
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
