import net from 'node:net';
import { v2ClientOf } from '../helpers/ledger';
import { createTestShop, type TestShop } from '../helpers/app';
import { addFault, merchantOf, shopOnClock, tradeWithQr } from '../helpers/settlement';
import { csrfOf, payOnPhone, type Shopper } from '../helpers/shopper';
import { createTestDatabase } from '../helpers/testdb';
import { adminShop, loggedIn, paidTrade, waitFor } from './admin/helpers';
import { manualClock } from '../helpers/clock';

/**
 * The shop against the simulator where WeChat is less kind than a demo (issue 17), end to end over
 * real HTTP: what the shop sends (spbill_create_ip, body) and how it survives what WeChat answers
 * (a notify signed the old way, a payment after time_expire, USERPAYING, PAYERROR, a refund that
 * ends CHANGE, closeorder's 5 minutes).
 */

const MINUTE = 60_000;
/** Here the poll never asks WeChat by itself. */
const quietShop = (env: NodeJS.ProcessEnv = {}) => shopOnClock({ POLL_QUERY_AFTER_SECONDS: '3600', PAY_QR_TTL_SECONDS: '600', ...env });

async function renew(shopper: Shopper, outTradeNo: string) {
  const page = await shopper.agent.get(`/pay/${outTradeNo}`);
  return shopper.agent.post(`/pay/${outTradeNo}/renew`).type('form').send({ _csrf: csrfOf(page.text) });
}

const simTrade = (shop: TestShop, outTradeNo: string) => shop.db.knex('sim_trades').where({ out_trade_no: outTradeNo }).first();
const paylogOf = (shop: TestShop, outTradeNo: string) => shop.db.knex('paylog').where({ out_trade_no: outTradeNo }).first();
/** The payment notifies the shop recorded for a trade (written just after the payment is settled). */
const verdictsOf = async (shop: TestShop, outTradeNo: string) => (await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo, kind: 'pay' }).orderBy('id').pluck('verdict')) as string[];

describe('what the shop sends to WeChat', () => {
  test('unifiedorder carries WXPAY_SPBILL_CREATE_IP (the calling machine for NATIVE), not the shopper\'s address', async () => {
    const { shop } = await quietShop({ WXPAY_SPBILL_CREATE_IP: '203.0.113.7' });
    try {
      const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      expect((await simTrade(shop, outTradeNo)).spbill_create_ip).toBe('203.0.113.7');
    } finally {
      await shop.close();
    }
  });

  test('a long Chinese item title is cut so that body stays within 127 UTF-8 bytes, and unifiedorder succeeds', async () => {
    const { shop } = await quietShop();
    try {
      await shop.db.knex('products').where({ sku: 'TEA-MLH-100' }).update({ title: '特级明前西湖龙井茶叶礼盒装'.repeat(4) });
      const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 2]]);
      const trade = await simTrade(shop, outTradeNo);
      expect(Buffer.byteLength(trade.body, 'utf8')).toBeLessThanOrEqual(127);
      expect(trade.body).toMatch(/^示例小店-特级明前西湖龙井.*…等2件$/);
    } finally {
      await shop.close();
    }
  });
});

/** A free port on 127.0.0.1, so a restarted shop answers at the notify_url its orders carry. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('payment notifies are verified in the algorithm they come in', () => {
  test('orders made while the shop signed HMAC-SHA256 are still accepted when paid after it switched to MD5', async () => {
    const testDb = await createTestDatabase();
    const port = String(await freePort());
    const env = { PORT: port, SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0', POLL_QUERY_AFTER_SECONDS: '3600' };
    let shop = await createTestShop({ testDb, env: { ...env, WXPAY_SIGN_TYPE: 'HMAC-SHA256' } });
    try {
      const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      expect((await simTrade(shop, outTradeNo)).sign_type).toBe('HMAC-SHA256');
      await shop.stop();
      shop = await createTestShop({ testDb, env: { ...env, WXPAY_SIGN_TYPE: 'MD5' } });
      expect(merchantOf(shop).signType).toBe('MD5');
      expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
      await waitFor('the notify', async () => (await verdictsOf(shop, outTradeNo)).length > 0);
      expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('SUCCESS');
      const log = await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo }).orderBy('id');
      expect(log.map((l: { verdict: string }) => l.verdict)).toEqual(['paid']);
      expect(log[0].raw_body).toMatch(/<sign><!\[CDATA\[[0-9A-F]{64}\]\]><\/sign>/);
    } finally {
      await shop.close();
    }
  });

  test('a notify that carries sign_type is accepted', async () => {
    const { shop } = await quietShop();
    try {
      const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      await addFault(shop, { out_trade_no: outTradeNo, kind: 'notify_sign_type' });
      await payOnPhone(shop.url, paylog.code_url);
      await waitFor('the notify', async () => (await verdictsOf(shop, outTradeNo)).length > 0);
      expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('SUCCESS');
      const [log] = await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo });
      expect(log.verdict).toBe('paid');
      expect(log.raw_body).toContain('<sign_type><![CDATA[MD5]]></sign_type>');
    } finally {
      await shop.close();
    }
  });
});

describe('a payment WeChat accepts after time_expire and a close', () => {
  test('the sweeper closed the trade here and at WeChat; the late payment still lands, is kept and flagged for the admin', async () => {
    const { shop, clock } = await quietShop();
    try {
      const { outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      clock.advance(11 * MINUTE);
      await shop.sweeper.sweepOnce();
      expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('CLOSED');
      expect((await simTrade(shop, outTradeNo)).trade_state).toBe('CLOSED');

      await addFault(shop, { out_trade_no: outTradeNo, kind: 'pay_after_expire' });
      expect((await payOnPhone(shop.url, paylog.code_url)).status).toBe(200);
      await waitFor('the late notify', async () => (await verdictsOf(shop, outTradeNo)).length > 0);
      const settled = await paylogOf(shop, outTradeNo);
      expect(settled).toMatchObject({ trade_state: 'SUCCESS', flag: 'late_payment', total_fee: paylog.total_fee });
      expect(settled.transaction_id).toBe((await simTrade(shop, outTradeNo)).transaction_id);
      const verdicts = (await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo }).pluck('verdict')) as string[];
      expect(verdicts).toEqual(['late_payment']);
    } finally {
      await shop.close();
    }
  });
});

describe('USERPAYING and PAYERROR in orderquery', () => {
  test('"pay again" while WeChat says USERPAYING is refused with a message and changes nothing; once it passes, it goes on', async () => {
    const { shop, clock } = await quietShop();
    try {
      const { shopper, outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      clock.advance(11 * MINUTE);
      await addFault(shop, { out_trade_no: outTradeNo, kind: 'orderquery_userpaying' });
      const paylogsBefore = await shop.db.knex('paylog').count({ n: '*' }).first();
      const refused = await renew(shopper, outTradeNo);
      expect(refused.status).toBe(409);
      expect(refused.text).toContain('微信正在处理这笔支付');
      expect(await shop.db.knex('paylog').count({ n: '*' }).first()).toEqual(paylogsBefore);
      expect((await simTrade(shop, outTradeNo)).trade_state).toBe('NOTPAY');

      const again = await renew(shopper, outTradeNo);
      expect(again.status).toBe(303);
      expect(again.headers.location).not.toBe(`/pay/${outTradeNo}`);
      expect((await simTrade(shop, outTradeNo)).trade_state).toBe('CLOSED');
    } finally {
      await shop.close();
    }
  });

  test('the sweeper leaves a trade WeChat says is USERPAYING open, and closes it on a later round', async () => {
    const { shop, clock } = await quietShop({ SWEEP_BATCH_SIZE: '10' });
    try {
      const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      clock.advance(11 * MINUTE);
      await addFault(shop, { out_trade_no: outTradeNo, kind: 'orderquery_userpaying' });
      await shop.sweeper.sweepOnce();
      expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('NOTPAY');
      expect((await simTrade(shop, outTradeNo)).trade_state).toBe('NOTPAY');
      clock.advance(2 * MINUTE);
      await shop.sweeper.sweepOnce();
      expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('CLOSED');
      expect((await simTrade(shop, outTradeNo)).trade_state).toBe('CLOSED');
    } finally {
      await shop.close();
    }
  });

  test('"pay again" after PAYERROR closes the failed attempt at WeChat before making a new one', async () => {
    const { shop, clock } = await quietShop();
    try {
      const { shopper, outTradeNo, paylog } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
      clock.advance(11 * MINUTE);
      await addFault(shop, { out_trade_no: outTradeNo, kind: 'orderquery_payerror' });
      const res = await renew(shopper, outTradeNo);
      expect(res.status).toBe(303);
      expect(res.headers.location).not.toBe(`/pay/${outTradeNo}`);
      expect((await simTrade(shop, outTradeNo)).trade_state).toBe('CLOSED');
      // the old code can no longer be paid
      expect((await payOnPhone(shop.url, paylog.code_url).catch((err: unknown) => err)) as { status?: number }).not.toMatchObject({ status: 200 });
    } finally {
      await shop.close();
    }
  });
});

describe('the admin against WeChat\'s closeorder rule and a refund that ends CHANGE', () => {
  let shop: TestShop;
  const clock = manualClock(new Date());
  beforeAll(async () => {
    shop = await adminShop({ clock });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('closing sooner than 5 minutes after the order is refused with a message, here and at WeChat; after 5 minutes both close', async () => {
    const admin = await loggedIn(shop);
    const { outTradeNo } = await tradeWithQr(shop, [['TEA-MLH-100', 1]]);
    clock.advance(4 * MINUTE);
    const early = await admin.confirm(`/admin/paylog/${outTradeNo}/close`);
    expect(early.status).toBe(303);
    const page = await admin.agent.get(early.headers.location ?? '/admin').expect(200);
    expect(page.text).toContain('微信只允许在下单 5 分钟后关闭交易');
    expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('NOTPAY');
    expect((await simTrade(shop, outTradeNo)).trade_state).toBe('NOTPAY');

    clock.advance(MINUTE);
    await admin.confirm(`/admin/paylog/${outTradeNo}/close`);
    expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('CLOSED');
    expect((await simTrade(shop, outTradeNo)).trade_state).toBe('CLOSED');
  });

  test('a refund that WeChat ends CHANGE (the card is gone) is recorded CHANGE from its notify, and the admin sees it', async () => {
    const admin = await loggedIn(shop);
    const { outTradeNo } = await paidTrade(shop, [['TEA-MLH-100', 1]]);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'refund_change' });
    const { res, outRefundNo } = await admin.refund(outTradeNo, '0.10', '换货');
    expect(res.status).toBe(303);
    // the notify is recorded just after the refund row is settled: wait for both
    await waitFor('the CHANGE notify', async () => ((await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo, kind: 'refund' }).pluck('verdict')) as string[]).includes('changed'));
    expect(await shop.db.knex('refunds').where({ out_refund_no: outRefundNo }).first()).toMatchObject({ refund_fee: 10, status: 'CHANGE' });
    expect((await paylogOf(shop, outTradeNo)).trade_state).not.toBe('CLOSED');
    const detail = await admin.agent.get(`/admin/paylog/${outTradeNo}`).expect(200);
    expect(detail.text).toContain('CHANGE');
  });
});

describe('a refund that WeChat closes (REFUNDCLOSE)', () => {
  let shop: TestShop;
  const clock = manualClock(new Date());
  beforeAll(async () => {
    shop = await adminShop({ clock });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('is recorded REFUNDCLOSE from its notify, and its amount can be refunded again, at WeChat and here', async () => {
    const admin = await loggedIn(shop);
    const { outTradeNo, totalFee } = await paidTrade(shop, [['TEA-MLH-100', 1]]);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'refund_close' });
    const whole = (totalFee / 100).toFixed(2);
    const first = await admin.refund(outTradeNo, whole, '退款');
    // the notify is recorded just after the refund row is settled: wait for both
    await waitFor('the REFUNDCLOSE notify', async () => ((await shop.db.knex('notify_log').where({ out_trade_no: outTradeNo, kind: 'refund' }).pluck('verdict')) as string[]).includes('closed'));
    expect((await shop.db.knex('refunds').where({ out_refund_no: first.outRefundNo }).first()).status).toBe('REFUNDCLOSE');
    // WeChat wants refunds of one trade a minute apart
    clock.advance(MINUTE);
    const second = await admin.refund(outTradeNo, whole, '再次退款');
    expect(second.res.status).toBe(303);
    await waitFor('the second refund', async () => (await shop.db.knex('refunds').where({ out_refund_no: second.outRefundNo }).first()).status === 'SUCCESS');
    expect((await paylogOf(shop, outTradeNo)).trade_state).toBe('REFUND');
    expect((await simTrade(shop, outTradeNo)).refunded_fee).toBe(totalFee);
  });
});

describe('reconciling a refund that was still in progress when WeChat made the bill', () => {
  const DAY = 24 * 3600 * 1000;
  /** Beijing noon two days back: the next morning is still in the past, where a session made now lives. */
  const noon = new Date(Math.floor(Date.now() / DAY) * DAY - 2 * DAY + 4 * 3600 * 1000);
  const day = new Date(noon.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  const clock = manualClock(noon);
  let shop: TestShop;
  beforeAll(async () => {
    shop = await adminShop({ clock });
  });
  afterAll(async () => {
    await shop.close();
  });

  const resultOf = (html: string) => /id="reconcile-result" data-kind="([^"]+)" data-differences="([^"]*)"/.exec(html)?.slice(1);

  // 交易账单详细说明: "出账后退款状态不会更新": the bill keeps PROCESSING; ours moved on to SUCCESS
  test('the bill says PROCESSING for good, ours says SUCCESS: no difference, before or after the refund ends', async () => {
    const admin = await loggedIn(shop);
    const { outTradeNo } = await paidTrade(shop, [['TEA-MLH-100', 1]]);
    await addFault(shop, { out_trade_no: outTradeNo, kind: 'refund_slow', delay_seconds: 86400 });
    const { outRefundNo } = await admin.refund(outTradeNo, '0.20', '部分退款');
    expect((await shop.db.knex('refunds').where({ out_refund_no: outRefundNo }).first()).status).toBe('PROCESSING');

    clock.set(new Date(new Date(`${day}T00:00:00+08:00`).getTime() + DAY + 10 * 3600 * 1000));
    const first = await admin.agent.get(`/admin/reconcile?date=${day}`).expect(200);
    expect(resultOf(first.text)).toEqual(['compared', '0']);

    clock.advance(DAY);
    await shop.simulator?.runDueWork();
    await waitFor('the refund notify', async () => (await shop.db.knex('refunds').where({ out_refund_no: outRefundNo }).first()).status === 'SUCCESS');
    const bill = await v2ClientOf(shop).downloadBill({ billDate: day.replace(/-/g, ''), billType: 'REFUND' });
    expect(bill.rows.find((r) => r['商户退款单号'] === outRefundNo)?.['退款状态']).toBe('PROCESSING');
    const again = await admin.agent.get(`/admin/reconcile?date=${day}`).expect(200);
    expect(resultOf(again.text)).toEqual(['compared', '0']);
  });
});
