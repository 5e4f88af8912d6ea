import http from 'node:http';
import type { Knex } from 'knex';
import type request from 'supertest';
import type { TestShop } from '../../helpers/app';
import { type Admin, adminShop, insertPaylog, loggedIn } from './helpers';
import { scaled } from '../../helpers/timeouts';

/** RFC 4180: quoted cells may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) throw new Error('the CSV does not end with CRLF');
  return rows;
}

/** supertest's parser hook: the body as raw bytes (to see the BOM) */
const asBuffer = (res: request.Response, done: (err: Error | null, body: unknown) => void) => {
  const stream = res as unknown as http.IncomingMessage;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
};

describe('the paylog CSV export', () => {
  let shop: TestShop;
  let admin: Admin;
  beforeAll(async () => {
    shop = await adminShop();
    admin = await loggedIn(shop);
    const knex = shop.db.knex;
    await insertPaylog(knex, { out_trade_no: 'C00000000001', trade_state: 'SUCCESS', total_fee: 1, body: '示例小店-西湖龙井茶等3件', create_time: new Date('2026-11-20T02:00:00Z') });
    await insertPaylog(knex, { out_trade_no: 'C00000000002', trade_state: 'SUCCESS', total_fee: 123456, body: 'He said "hi", then left\nfor good', create_time: new Date('2026-11-20T03:00:00Z') });
    await insertPaylog(knex, { out_trade_no: 'C00000000003', trade_state: 'NOTPAY', total_fee: 100, body: '=HYPERLINK("http://evil.example")', create_time: new Date('2026-11-20T04:00:00Z') });
    await insertPaylog(knex, { out_trade_no: 'C00000000004', trade_state: 'SUCCESS', total_fee: 1000, flag: 'late_payment', shopper_id: '+cmd', create_time: new Date('2026-11-20T05:00:00Z') });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('is a UTF-8 attachment with a BOM, Chinese intact, yuan with two decimals from fen, proper quoting', async () => {
    const res = await admin.agent.get('/admin/paylog.csv').buffer(true).parse(asBuffer);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="paylog-\d{4}-\d{2}-\d{2}\.csv"$/);
    const bytes = res.body as Buffer;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(bytes.subarray(3).toString('utf8'));
    expect(rows[0]).toEqual(['支付单号', '创建时间（北京时间）', '支付时间（北京时间）', '金额（元）', '已退款（元）', '状态', '微信交易号', '支付方式', '订单数', '买家', '标记', '商品描述']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['C00000000004', 'C00000000003', 'C00000000002', 'C00000000001']);
    const byNo = new Map(rows.slice(1).map((r) => [r[0], r]));
    expect(byNo.get('C00000000001')?.slice(1, 6)).toEqual(['2026-11-20 10:00:00', '2026-11-20 10:00:00', '0.01', '0.00', 'SUCCESS']);
    expect(byNo.get('C00000000001')?.[11]).toBe('示例小店-西湖龙井茶等3件');
    expect(byNo.get('C00000000002')?.[3]).toBe('1234.56');
    expect(byNo.get('C00000000002')?.[11]).toBe('He said "hi", then left\nfor good');
    expect(bytes.toString('utf8')).toContain('"He said ""hi"", then left\nfor good"');
    // a cell a spreadsheet would run as a formula is neutralised
    expect(byNo.get('C00000000003')?.[11]).toBe('\'=HYPERLINK("http://evil.example")');
    expect(byNo.get('C00000000004')?.[9]).toBe("'+cmd");
    expect(byNo.get('C00000000004')?.[10]).toBe('late_payment');
    expect(byNo.get('C00000000003')?.[2]).toBe('');
    expect(rows.every((r) => r.length === 12)).toBe(true);
  });

  test('takes the same filters as the table, and English headers with ?lang=en', async () => {
    const res = await admin.agent.get('/admin/paylog.csv?state=SUCCESS&q=C0000000000&lang=en').buffer(true).parse(asBuffer);
    expect(res.status).toBe(200);
    const rows = parseCsv((res.body as Buffer).subarray(3).toString('utf8'));
    expect(rows[0]?.[0]).toBe('out_trade_no');
    expect(rows[0]?.[3]).toBe('Amount (yuan)');
    expect(rows.slice(1).map((r) => r[0])).toEqual(['C00000000004', 'C00000000002', 'C00000000001']);
    const empty = await admin.agent.get('/admin/paylog.csv?state=REFUND').buffer(true).parse(asBuffer);
    expect(parseCsv((empty.body as Buffer).subarray(3).toString('utf8'))).toHaveLength(1);
    const bad = await admin.agent.get('/admin/paylog.csv?state=NOPE');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-disposition']).toBeUndefined();
  });
});

describe('the CSV export of 100,000 rows', () => {
  let shop: TestShop;
  let admin: Admin;
  let knex: Knex;
  const ROWS = 100_000;
  beforeAll(async () => {
    shop = await adminShop();
    admin = await loggedIn(shop);
    knex = shop.db.knex;
    await knex.raw(
      `INSERT INTO paylog (out_trade_no, shopper_id, total_fee, trade_state, transaction_id, pay_time, create_time, body)
       SELECT 'B' || lpad(g::text, 8, '0'), 's_bulk', 100 + g % 9900,
              CASE WHEN g % 2 = 0 THEN 'SUCCESS' ELSE 'NOTPAY' END,
              CASE WHEN g % 2 = 0 THEN '42000000' || lpad(g::text, 20, '0') END,
              CASE WHEN g % 2 = 0 THEN t.ts END,
              t.ts, '示例小店-茉莉花茶'
       FROM generate_series(1, ?) AS g, LATERAL (SELECT timestamptz '2026-11-01 00:00:00+08' + g * interval '1 second' AS ts) AS t`,
      [ROWS],
    );
  }, scaled(120_000));
  afterAll(async () => {
    await shop.close();
  });

  test('streams every row in bounded batches, and stops reading the database while the client does not read', async () => {
    const batches: { sql: string; limit: unknown }[] = [];
    const onQuery = (q: { sql: string; bindings?: unknown[] }) => {
      if (/from "paylog"/.test(q.sql) && /order by/i.test(q.sql)) batches.push({ sql: q.sql, limit: q.bindings?.[q.bindings.length - 1] });
    };
    knex.on('query', onQuery);
    const cookie = (admin.agent as unknown as { jar: { getCookies(o: unknown): { toValueString(): string } } }).jar
      .getCookies({ domain: '127.0.0.1', path: '/admin', secure: false, script: false })
      .toValueString();
    try {
      const url = new URL('/admin/paylog.csv', shop.url);
      const result = await new Promise<{ lines: number; bytes: number; batchesWhilePaused: number; first: string; last: string }>((resolve, reject) => {
                const req = http.get(url, { headers: { cookie } }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
          let lines = 0;
          let bytes = 0;
          let first = '';
          let tail = '';
          let paused = false;
          let batchesWhilePaused = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            const text = chunk.toString('latin1');
            for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
            if (first === '') first = chunk.subarray(0, 200).toString('utf8');
            tail = (tail + chunk.toString('utf8')).slice(-400);
            if (!paused) {
              // a slow client: stop reading for a while after the first chunk
              paused = true;
              res.pause();
              setTimeout(() => {
                batchesWhilePaused = batches.length;
                res.resume();
              }, 1500);
            }
          });
          res.on('end', () => resolve({ lines, bytes, batchesWhilePaused, first, last: tail }));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      expect(result.first.startsWith('\uFEFF支付单号,')).toBe(true);
      expect(result.lines).toBe(ROWS + 1);
      // newest first: the last line is the oldest row, B00000001 (1 fen over 100, NOTPAY)
      expect(result.last.trimEnd().split('\r\n').pop()).toBe('B00000001,2026-11-01 00:00:01,,1.01,0.00,NOTPAY,,NATIVE,0,s_bulk,,示例小店-茉莉花茶');
      // read in batches of 1000, each a keyset query (never OFFSET), never all at once
      expect(batches.length).toBeGreaterThanOrEqual(ROWS / 1000);
      expect(batches.filter((b) => !/ limit \$\d+$/i.test(b.sql) || /offset/i.test(b.sql) || b.limit !== 1000)).toEqual([]);
      // while the client read nothing, the server stopped once the socket buffers were full
      expect(result.batchesWhilePaused).toBeLessThan(ROWS / 1000 / 2);
      // (memory is bounded by the batches and the back-pressure above; the heap's peak is left
      // out: it is mostly garbage, whose collection follows the machine's load, not this code)
    } finally {
      knex.off('query', onQuery);
    }
  }, scaled(120_000));
});
