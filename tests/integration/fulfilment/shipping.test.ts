import type { Knex } from 'knex';
import request from 'supertest';
import { csrfOf, loggedIn, adminShop, paidTrade, unpaidTrade, type Admin } from '../admin/helpers';
import { manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { expectCleanLedger, codOrder, refundOf, ordersOfTrade } from '../../helpers/ledger';
import { Shopper, payOnPhone } from '../../helpers/shopper';
import { waitFor } from '../admin/helpers';
import { newOutRefundNo, refundFailed, requestRefund } from '../../../src/ledger';

/**
 * Shipping as the merchant and the shopper meet it over HTTP, on the real shop: the queue, one
 * order shipped from its page (and refused while a refund is undecided), a tracking number
 * corrected, a batch CSV with good and bad lines previewed then applied, the packing list, the
 * shopper's timeline and "confirm receipt", the clock completing what nobody confirmed, cash on
 * delivery on the same path; and the ledger check clean after all of it.
 */

const DAY = 24 * 3600 * 1000;

describe('shipping, receipt and the clock', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let knex: Knex;
  let admin: Admin;

  beforeAll(async () => {
    clock = manualClock(new Date());
    shop = await adminShop({ clock });
    knex = shop.db.knex;
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop?.close();
  });

  const orderIdsOf = async (outTradeNo: string): Promise<[number, ...number[]]> => ((await ordersOfTrade(knex, outTradeNo).pluck('orders.id')) as unknown[]).map(Number) as [number, ...number[]];
  const ship = async (orderId: number, fields: Record<string, string>, lang = '') => {
    const page = await admin.agent.get(`/admin/orders/${orderId}${lang}`).expect(200);
    return admin.agent.post(`/admin/orders/${orderId}/ship${lang}`).type('form').send({ _csrf: csrfOf(page.text), ...fields });
  };

  test('a paid order waits in the queue with receiver, address and items; shipped from its page, the shopper follows the parcel and confirms receipt', async () => {
    const shopper = new Shopper(shop.url, knex);
    const outTradeNo = await shopper.buy([['TEA-MLH-100', 1]]);
    await shopper.agent.get(`/pay/${outTradeNo}`).expect(200);
    const { code_url: codeUrl } = (await knex('paylog').where({ out_trade_no: outTradeNo }).first('code_url')) as { code_url: string };
    expect((await payOnPhone(shop.url, codeUrl)).status).toBe(200);
    await waitFor('paid', async () => ((await knex('paylog').where({ out_trade_no: outTradeNo }).first('trade_state')) as { trade_state: string }).trade_state === 'SUCCESS');
    const [orderId] = await orderIdsOf(outTradeNo);

    // the success page says what happens next and leads to the order
    const success = await shopper.agent.get(`/pay/${outTradeNo}/success`).expect(200);
    expect(success.text).toContain(`href="/orders/${orderId}"`);
    expect(success.text).toContain('商家会尽快发货');

    const queue = await admin.agent.get('/admin/shipping').expect(200);
    expect(queue.text).toContain(`data-order-id="${orderId}"`);
    expect(queue.text).toContain('上海市浦东新区世纪大道100号');
    expect(queue.text).toContain('13800138000');

    // a tracking number that is not SF's shape: a 400 that says so, in the admin's language
    const wrong = await ship(Number(orderId), { courier: 'sf', tracking_no: '12345' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('运单号只能包含字母、数字和短横线');
    const wrongEn = await ship(Number(orderId), { courier: 'sf', tracking_no: 'YT1234567890123' }, '?lang=en');
    expect(wrongEn.status).toBe(400);
    expect(wrongEn.text).toContain('That does not look like this courier&#39;s tracking number');
    // (the admin's language is kept in the session: back to Chinese)
    await admin.agent.get('/admin/shipping?lang=zh').expect(200);
    expect(await knex('orders').where({ id: orderId }).first('delivery_status')).toEqual({ delivery_status: 'pending' });

    const shipped = await ship(Number(orderId), { courier: 'sf', tracking_no: 'sf 1234 5678 9012 3' });
    expect(shipped.status).toBe(303);
    expect(await knex('orders').where({ id: orderId }).first('status', 'delivery_status')).toEqual({ status: 'paid', delivery_status: 'shipped' });
    expect(await knex('shipments').where({ order_id: orderId }).first('courier', 'tracking_no', 'shipped_by')).toEqual({ courier: 'sf', tracking_no: 'SF1234567890123', shipped_by: 'admin:boss' });
    expect(await knex('order_log').where({ order_id: orderId, event: 'shipped' }).pluck('operator')).toEqual(['admin:boss']);
    const orderPage = await admin.agent.get(`/admin/orders/${orderId}`).expect(200);
    expect(orderPage.text).toContain('已发货：顺丰速运，运单号 SF1234567890123');

    // a wrong number corrected, the old and the new in the log
    const form = csrfOf(orderPage.text);
    expect((await admin.agent.post(`/admin/orders/${orderId}/tracking`).type('form').send({ _csrf: form, courier: 'zto', tracking_no: '773012345678' })).status).toBe(303);
    expect(await knex('shipments').where({ order_id: orderId }).first('courier', 'tracking_no')).toEqual({ courier: 'zto', tracking_no: '773012345678' });
    expect((await admin.agent.get(`/admin/orders/${orderId}?lang=en`).expect(200)).text).toContain('Tracking corrected: ZTO Express 773012345678 (was SF Express SF1234567890123)');
    await admin.agent.get('/admin/shipping?lang=zh').expect(200);

    // the shopper sees the parcel with the courier's own tracking page, in both languages, and confirms receipt
    const mine = await shopper.agent.get(`/orders/${orderId}`).expect(200);
    expect(mine.text).toContain('773012345678');
    expect(mine.text).toContain('中通快递');
    expect(mine.text).toMatch(/id="tracking-link"/);
    expect((await shopper.agent.get(`/orders/${orderId}?lang=en`).expect(200)).text).toContain('ZTO Express tracking number');
    await shopper.agent.get(`/orders/${orderId}?lang=zh`).expect(200);
    // nobody else's order
    expect((await request(shop.url).get(`/orders/${orderId}`)).status).toBe(404);
    const confirmed = await shopper.agent.post(`/orders/${orderId}/confirm-receipt`).type('form').send({ _csrf: csrfOf(mine.text) });
    expect(confirmed.status).toBe(303);
    expect(await knex('orders').where({ id: orderId }).first('delivery_status')).toEqual({ delivery_status: 'completed' });
    expect(await knex('outbox').whereRaw('? = ANY(order_ids)', [orderId]).orderBy('id').pluck('type')).toEqual(['order.paid', 'order.shipped', 'order.completed']);
    await expectCleanLedger(shop, clock());
  });

  test('an order with a refund still undecided cannot be shipped; once the refund settles, it can', async () => {
    const { outTradeNo } = await paidTrade(shop, [['TEA-MLH-100', 2]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    // the refund stored before WeChat is asked: PENDING
    const outRefundNo = newOutRefundNo(clock());
    await requestRefund(knex, { outTradeNo, orderId, outRefundNo, refundFee: 100, reason: '', operator: 'admin:boss', now: clock() });
    const page = await admin.agent.get(`/admin/orders/${orderId}`).expect(200);
    expect(page.text).toContain('id="ship-blocked"');
    expect(page.text).not.toContain('id="ship-form"');
    const refused = await ship(Number(orderId), { courier: 'sf', tracking_no: 'SF1234567890124' });
    expect(refused.status).toBe(303);
    expect(await knex('orders').where({ id: orderId }).first('delivery_status')).toEqual({ delivery_status: 'pending' });
    expect((await admin.agent.get(`/admin/orders/${orderId}`).expect(200)).text).toContain('有退款处理中');
    // WeChat refused the refund for good: decided, the order ships
    await refundFailed(knex, { outRefundNo, error: 'refused', final: true, operator: 'system', now: clock() });
    expect((await ship(Number(orderId), { courier: 'sf', tracking_no: 'SF1234567890124' })).status).toBe(303);
    expect(await knex('orders').where({ id: orderId }).first('delivery_status')).toEqual({ delivery_status: 'shipped' });
  });

  test('a batch CSV: every line previewed with its result, nothing changed until applied; then each good line ships and a second apply finds nothing', async () => {
    const a = (await orderIdsOf((await paidTrade(shop, [['TEA-MLH-100', 1]])).outTradeNo))[0];
    const b = (await orderIdsOf((await paidTrade(shop, [['GEEK-CBL-01', 1]])).outTradeNo))[0];
    const unpaid = (await orderIdsOf(await unpaidTrade(shop)))[0];
    const csv = [
      '订单号,快递公司,快递单号',
      `${a},顺丰,SF2234567890123`,
      `="${b}",ZTO Express,="773012345679"`,
      `${unpaid},顺丰,SF3234567890123`,
      '999999,顺丰,SF4234567890123',
      `${a},顺丰,SF2234567890123`,
      'x12,圆通,YT1234567890123',
      `${b},韵达,7.73012E+12`,
    ].join('\r\n');
    const form = await admin.agent.get('/admin/shipping/batch').expect(200);
    const preview = await admin.agent.post('/admin/shipping/batch').field('_csrf', csrfOf(form.text)).attach('file', Buffer.from(`\uFEFF${csv}`, 'utf8'), 'batch.csv');
    expect(preview.status).toBe(200);
    const outcomes = [...preview.text.matchAll(/data-line="(\d+)" data-tone="(\w+)" data-outcome="([\w.]*)"/g)].map((m) => [Number(m[1]), m[2], m[3]]);
    expect(outcomes).toEqual([
      [2, 'ok', 'shipped'],
      [3, 'ok', 'shipped'],
      [4, 'error', 'not_paid'],
      [5, 'error', 'unknown_order'],
      [6, 'error', 'duplicate_line'],
      [7, 'error', 'bad_order'],
      [8, 'error', 'duplicate_line'],
    ]);
    expect(preview.text).toContain('预览：2 行可以发货');
    // nothing shipped by the preview
    expect(Number(((await knex('shipments').whereIn('order_id', [a, b]).count({ n: '*' }).first()) as { n: string }).n)).toBe(0);

    const batch = /name="batch" value="([^"]+)"/.exec(preview.text)?.[1] as string;
    const applied = await admin.agent.post('/admin/shipping/batch/apply').type('form').send({ _csrf: csrfOf(preview.text), batch });
    expect(applied.status).toBe(200);
    expect(applied.text).toContain('完成：2 行已发货');
    expect(await knex('shipments').whereIn('order_id', [a, b]).orderBy('order_id').select('order_id', 'courier', 'tracking_no')).toEqual([
      { order_id: a, courier: 'sf', tracking_no: 'SF2234567890123' },
      { order_id: b, courier: 'zto', tracking_no: '773012345679' },
    ]);
    expect(await knex('orders').where({ id: unpaid }).first('delivery_status')).toEqual({ delivery_status: 'pending' });
    const again = await admin.agent.post('/admin/shipping/batch/apply').type('form').send({ _csrf: csrfOf(preview.text), batch });
    expect(again.status).toBe(303);

    // the same file uploaded again: those lines were shipped already with these very parcels
    const second = await admin.agent.post('/admin/shipping/batch').field('_csrf', csrfOf(form.text)).attach('file', Buffer.from(csv, 'utf8'), 'batch.csv');
    expect([...second.text.matchAll(/data-line="(\d+)" data-tone="(\w+)"/g)].slice(0, 2).map((m) => m[2])).toEqual(['same', 'same']);

    // a file with no order lines, and none at all: a 400 with the reason
    const empty = await admin.agent.post('/admin/shipping/batch').field('_csrf', csrfOf(form.text)).attach('file', Buffer.from('订单号,快递公司,快递单号\r\n'), 'batch.csv');
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('文件里没有订单行');
    // without the CSRF field the upload is refused
    expect((await admin.agent.post('/admin/shipping/batch').attach('file', Buffer.from(csv), 'batch.csv')).status).toBe(403);
  });

  test('the packing list: UTF-8 with a BOM, cash on delivery included with its address, formulas neutralised', async () => {
    await codOrder(shop, [['GEEK-PB-10K', 1]]);
    const cod = (await knex('orders').where({ pay_type: 'cod' }).orderBy('id', 'desc').first('id')) as { id: number };
    await knex('orders').where({ id: cod.id }).update({ receiver_address: '=HYPERLINK("http://evil","x")' });
    const res = await admin.agent.get('/admin/shipping.csv').buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const bytes = res.body as Buffer;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8').slice(1);
    const [header, ...lines] = text.split('\r\n');
    expect(header).toBe('订单号,下单时间,卖家,付款方式,金额（元）,收货人,电话,地址,商品,快递公司,快递单号');
    const codLine = lines.find((l) => l.startsWith(`${cod.id},`)) ?? '';
    expect(codLine).toContain('货到付款');
    expect(codLine).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    // the paylog's CSV keeps its long numbers as text for Excel
    const paylog = await admin.agent.get('/admin/paylog.csv').expect(200);
    expect(paylog.text).toMatch(/(^|,)="\d{24}",/m);
  });

  test('cash on delivery on the same path: shipped, then delivered and paid completes it', async () => {
    await codOrder(shop, [['TEA-LJ-250', 1]]);
    const { id } = (await knex('orders').where({ pay_type: 'cod' }).orderBy('id', 'desc').first('id')) as { id: number };
    expect((await ship(id, { courier: 'other', courier_name: '同城闪送', tracking_no: 'TC20261208' })).status).toBe(303);
    expect(await knex('orders').where({ id }).first('status', 'delivery_status')).toEqual({ status: 'unpaid', delivery_status: 'shipped' });
    const page = await admin.agent.get(`/admin/orders/${id}`).expect(200);
    expect(page.text).toContain('同城闪送 (其他快递)');
    expect(page.text).not.toContain(`/admin/orders/${id}/cancel`);
    expect((await admin.confirm(`/admin/orders/${id}/paid`)).status).toBe(303);
    expect(await knex('orders').where({ id }).first('status', 'delivery_status')).toEqual({ status: 'paid', delivery_status: 'completed' });
    expect(await knex('outbox').whereRaw('? = ANY(order_ids)', [id]).orderBy('id').pluck('type')).toEqual(['order.shipped', 'order.paid', 'order.completed']);
  });

  test('refunded in full before it left: never in the queue, never shipped', async () => {
    const { outTradeNo, totalFee } = await paidTrade(shop, [['GEEK-CBL-01', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    const { outcome } = await refundOf(shop, outTradeNo, totalFee, clock);
    expect(outcome.kind).toBe('accepted');
    for (let i = 0; i < 20 && (await knex('orders').where({ id: orderId }).first('status')).status !== 'refunded'; i += 1) {
      clock.advance(10_000);
      await shop.simulator?.runDueWork();
    }
    expect(await knex('orders').where({ id: orderId }).first('status', 'delivery_status')).toEqual({ status: 'refunded', delivery_status: 'cancelled' });
    expect((await admin.agent.get('/admin/shipping').expect(200)).text).not.toContain(`data-order-id="${orderId}"`);
    await ship(Number(orderId), { courier: 'sf', tracking_no: 'SF9234567890123' });
    expect(await knex('shipments').where({ order_id: orderId }).first()).toBeUndefined();
  });

  // last: it moves the clock ten days on (sessions made before then expire)
  test('the clock completes what nobody confirmed, AUTO_COMPLETE_DAYS after shipment, and not a day before', async () => {
    const { outTradeNo } = await paidTrade(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = await orderIdsOf(outTradeNo);
    expect((await ship(Number(orderId), { courier: 'jd', tracking_no: 'JDVA12345678901' })).status).toBe(303);
    clock.advance(9 * DAY);
    await shop.sweeper.sweepOnce();
    expect(await knex('orders').where({ id: orderId }).first('delivery_status')).toEqual({ delivery_status: 'shipped' });
    clock.advance(DAY);
    await shop.sweeper.sweepOnce();
    expect(await knex('orders').where({ id: orderId }).first('delivery_status')).toEqual({ delivery_status: 'completed' });
    expect(await knex('shipments').where({ order_id: orderId }).first('completed_by')).toEqual({ completed_by: 'system' });
    expect(await knex('order_log').where({ order_id: orderId }).orderBy('id', 'desc').first('event', 'operator')).toEqual({ event: 'completed_auto', operator: 'system' });
    await expectCleanLedger(shop, clock());
  });
});
