import { ledgerOf } from '../../helpers/ledger';
import { stockOf } from '../../helpers/stock';
import { adminShop, loggedIn, type Admin } from '../admin/helpers';
import type { TestShop } from '../../helpers/app';

const HEADER = 'product_sku,title,seller,category,status,option_names,variant_sku,option_values,price_yuan,stock,variant_active,description';

/**
 * CSV import and export: a preview of each line before anything changes, a clear error per bad
 * line (and then nothing applied), idempotent by SKU code, stock changes as 'import' movements,
 * 10,000 lines in seconds; the export is UTF-8 with a BOM and Excel-safe, and imports back unchanged.
 */
describe('admin: CSV import and export of products and variants', () => {
  let shop: TestShop;
  let admin: Admin;
  let knex: TestShop['db']['knex'];

  beforeAll(async () => {
    shop = await adminShop();
    knex = shop.db.knex;
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });

  const upload = async (csv: string) => {
    const token = /name="_csrf" value="([^"]+)"/.exec((await admin.agent.get('/admin/products/import').expect(200)).text)?.[1] as string;
    return admin.agent.post('/admin/products/import/preview').field('_csrf', token).attach('file', Buffer.from(csv, 'utf8'), { filename: 'products.csv', contentType: 'text/csv' });
  };
  const apply = async (html: string) => {
    const action = /action="(\/admin\/products\/import\/[0-9a-f]{24}\/apply)"/.exec(html)?.[1];
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] as string;
    if (!action) throw new Error(`no apply form: ${html.slice(0, 400)}`);
    return admin.agent.post(action).type('form').send({ _csrf: token });
  };
  const counts = async () => ({ products: (await knex('products').count({ n: '*' }).first())?.n, variants: (await knex('product_variants').count({ n: '*' }).first())?.n, movements: (await knex('stock_movements').count({ n: '*' }).first())?.n });

  test('a file with bad lines: the preview names each one, offers no apply, and an apply forced anyway changes nothing', async () => {
    const before = await counts();
    const csv = `\uFEFF${HEADER}\r\nHAT-01,草帽,稻香农场,服饰,on_sale,尺码,HAT-01-S,S,39.9,10,yes,\r\nHAT-01,草帽,稻香农场,服饰,on_sale,尺码,HAT-01-L,L,39.999,10,yes,\r\nHAT-01,草帽,稻香农场,服饰,on_sale,尺码,HAT-01-S,S,39.9,-3,yes,\r\nTEA-LJ-250,明前西湖龙井 250g,山野茶园,茶叶,on_sale,,GEEK-CBL-01,,1,1,yes,\r\n`;
    const res = await upload(csv);
    expect(res.status).toBe(422);
    expect(res.text).toContain('价格“39.999”无效');
    expect(res.text).toContain('库存“-3”无效');
    expect(res.text).toContain('SKU“GEEK-CBL-01”属于另一个商品“GEEK-CBL-01”');
    expect(res.text).toContain('有 3 行有错误');
    expect(res.text).not.toMatch(/\/apply"/);
    const id = /data-line="2"/.test(res.text) ? (await knex('catalog_imports').orderBy('created_at', 'desc').first('id')).id : '';
    const token = /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1] as string;
    const forced = await admin.agent.post(`/admin/products/import/${id}/apply`).type('form').send({ _csrf: token });
    expect(forced.status).toBe(400);
    expect(forced.text).toContain('有 3 行有错误，没有导入任何内容');
    expect(await counts()).toEqual(before);
  });

  test('a good file: preview first (nothing changed), then apply; the same file again is all unchanged; stock moves as import', async () => {
    const before = await counts();
    const csv = `${HEADER}\nHAT-02,遮阳帽,稻香农场,夏季,on_sale,"颜色,尺码",HAT-02-R-S,"红,S",29.9,5,yes,"第一行\n第二行"\nHAT-02,遮阳帽,稻香农场,夏季,on_sale,"颜色,尺码",HAT-02-R-L,"红,L",31,4,yes,\nTEA-LJ-250,明前西湖龙井 250g,山野茶园,茶叶,on_sale,,TEA-LJ-250,,170,33,yes,\n`;
    const preview = await upload(csv);
    expect(preview.status).toBe(200);
    expect(preview.text).toMatch(/data-outcome="create_product">[^<]*<strong>1</);
    expect(preview.text).toMatch(/data-outcome="create_variant">[^<]*<strong>1</);
    expect(preview.text).toMatch(/data-outcome="update">[^<]*<strong>1</);
    expect(await counts()).toEqual(before);
    expect((await apply(preview.text)).status).toBe(303);
    expect(await stockOf(knex, 'HAT-02-R-L')).toBe(4);
    expect(await stockOf(knex, 'TEA-LJ-250')).toBe(33);
    expect((await knex('product_variants').where({ sku: 'TEA-LJ-250' }).first('price_fen')).price_fen).toBe(17000);
    const hat = await knex('products').where({ sku: 'HAT-02' }).first('price_fen', 'description', 'option_names');
    expect(hat).toEqual({ price_fen: 2990, description: '第一行\n第二行', option_names: ['颜色', '尺码'] });
    const teaMove = await knex('stock_movements as m').join('product_variants as v', 'v.id', 'm.variant_id').where('v.sku', 'TEA-LJ-250').orderBy('m.id', 'desc').first('m.reason', 'm.delta', 'm.operator');
    expect(teaMove).toEqual({ reason: 'import', delta: -7, operator: 'admin:boss' });
    const again = await upload(csv);
    expect(again.text).toMatch(/data-outcome="unchanged">[^<]*<strong>3</);
    const movements = (await counts()).movements;
    expect((await apply(again.text)).status).toBe(303);
    expect((await counts()).movements).toBe(movements);
    expect((await ledgerOf(shop)).discrepancies).toEqual([]);
  });

  test('the export is UTF-8 with a BOM, Excel-safe, and imports back with every line unchanged', async () => {
    await knex('products').where({ sku: 'HAT-02' }).update({ title: '=HYPERLINK("x")' });
    const res = await admin.agent.get('/admin/products.csv').buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks).toString('utf8')));
    });
    expect(res.status).toBe(200);
    const text = res.body as string;
    expect(text.startsWith(`\uFEFF${HEADER}\r\n`)).toBe(true);
    expect(text).toContain(`HAT-02,"'=HYPERLINK(""x"")"`);
    const back = await upload(text);
    expect(back.status).toBe(200);
    const lines = text.trim().split('\r\n').length - 1;
    expect(back.text).toMatch(new RegExp(`data-outcome="unchanged">[^<]*<strong>${lines}<`));
  });

  test('10,000 lines (1,000 products x 10 sizes, 100 sellers) preview and apply in seconds', async () => {
    const rows = [HEADER];
    for (let p = 0; p < 1000; p += 1) for (let s = 0; s < 10; s += 1) rows.push(`BULK-${p},批量商品 ${p} 号,商家${p % 100},批量,on_sale,尺码,BULK-${p}-${s},${s}号,${10 + s}.50,${s * 3},yes,`);
    const started = Date.now();
    const preview = await upload(rows.join('\n'));
    expect(preview.status).toBe(200);
    expect((await apply(preview.text)).status).toBe(303);
    const seconds = (Date.now() - started) / 1000;
    expect(Number((await knex('product_variants').where('sku', 'like', 'BULK-%').count({ n: '*' }).first())?.n)).toBe(10_000);
    expect(await stockOf(knex, 'BULK-999-9')).toBe(27);
    // seconds, not minutes (a generous bound for a loaded 2-core machine; it prints what it took)
    console.log(`import of 10,000 lines: ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(60);
  }, 180_000);
});
