import type { Knex } from 'knex';
import request from 'supertest';
import { createTestShop, manualClock, type ManualClock, type TestShop } from '../../helpers/app';
import { freePort } from '../../e2e/helpers/processes';
import { ordersOfTrade } from '../../helpers/ledger';
import { paidTrade } from '../admin/helpers';
import { dingtalkSign, feishuSign } from '../../../src/outbox';

/**
 * The group robots get the message each documents, in the shop's language, with the amount, the
 * orders and a link to the admin page: WeCom's markdown, DingTalk's markdown signed with its
 * "加签" secret, Feishu's post signed in its body. The simulator's stand-in robot (/wxsim/robot)
 * plays all three over real HTTP, checks their formats and signatures as they do, and lists what it
 * got; in simulator mode with no channel set it is where the alerts go, so the demo shows them.
 */

const DING_SECRET = 'SEC0123456789abcdef0123456789abcdef';
const FEISHU_SECRET = 'feishu-secret-123';

describe('alerts to the group robots (the simulator\'s stand-in)', () => {
  let shop: TestShop;
  let clock: ManualClock;
  let knex: Knex;

  beforeAll(async () => {
    clock = manualClock(new Date());
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/wxsim`;
    shop = await createTestShop({
      clock,
      env: {
        PORT: String(port),
        SIM_TIME_SCALE: '1000',
        SWEEP_INTERVAL_SECONDS: '0',
        ALERT_DISPATCH_INTERVAL_SECONDS: '0',
        ALERT_WECOM_WEBHOOK_URL: `${base}/cgi-bin/webhook/send?key=test-key`,
        ALERT_DINGTALK_WEBHOOK_URL: `${base}/robot/send?access_token=test-token`,
        ALERT_DINGTALK_SECRET: DING_SECRET,
        ALERT_FEISHU_WEBHOOK_URL: `${base}/open-apis/bot/v2/hook/test-hook`,
        ALERT_FEISHU_SECRET: FEISHU_SECRET,
      },
    });
    knex = shop.db.knex;
  });
  afterAll(async () => {
    await shop?.close();
  });

  test('one paid order: each robot gets its own format, verified, with the amount, the order and the admin link', async () => {
    const { outTradeNo, totalFee } = await paidTrade(shop, [['TEA-MLH-100', 1]]);
    const [orderId] = ((await ordersOfTrade(knex, outTradeNo).pluck('orders.id')) as unknown[]).map(Number);
    expect(await shop.dispatcher.dispatchOnce()).toBe(3);
    const messages = (await knex('sim_robot_messages').orderBy('id').select('robot', 'verdict', 'body')) as { robot: string; verdict: string; body: string }[];
    expect(messages.map((m) => [m.robot, m.verdict]).sort()).toEqual([
      ['dingtalk', 'ok'],
      ['feishu', 'ok'],
      ['wecom', 'ok'],
    ]);
    const amount = `¥${(totalFee / 100).toFixed(2)}`;
    const link = `${shop.url}/admin/orders/${orderId}`;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a robot's JSON, read field by field below
    const body = (robot: string) => JSON.parse(messages.find((m) => m.robot === robot)?.body ?? '{}') as Record<string, any>;
    expect(body('wecom')).toEqual({ msgtype: 'markdown', markdown: { content: expect.stringContaining(`新订单已付款 ${amount}`) } });
    expect(body('wecom').markdown.content).toContain(`#${orderId}`);
    expect(body('wecom').markdown.content).toContain(`](${link})`);
    expect(body('dingtalk')).toMatchObject({ msgtype: 'markdown', markdown: { title: `新订单已付款 ${amount}`, text: expect.stringContaining(link) } });
    expect(body('feishu')).toMatchObject({ msg_type: 'post', timestamp: expect.any(String), sign: expect.any(String), content: { post: { zh_cn: { title: `新订单已付款 ${amount}` } } } });
    expect(JSON.stringify(body('feishu').content.post.zh_cn.content)).toContain(link);
    // the stand-in's page lists them
    const page = await request(shop.url).get('/wxsim/robot').expect(200);
    expect(page.text).toContain(`新订单已付款 ${amount}`);
    expect((await knex('outbox_deliveries').select('channel', 'status').orderBy('channel')).map((d) => `${d.channel}:${d.status}`)).toEqual(['dingtalk:delivered', 'feishu:delivered', 'wecom:delivered']);
  });

  test('a badly signed or unsigned message is refused as DingTalk and Feishu refuse it (and so would not count as delivered)', async () => {
    const now = clock().getTime();
    const ding = (query: string) => request(shop.url).post(`/wxsim/robot/send?access_token=t${query}`).send({ msgtype: 'markdown', markdown: { title: 'x', text: 'x' } });
    expect((await ding(`&timestamp=${now}&sign=${encodeURIComponent(dingtalkSign('SECanotherSecret0123456789', now))}`)).body).toEqual({ errcode: 310000, errmsg: 'sign not match' });
    expect((await ding('')).body.errcode).toBe(310000);
    expect((await ding(`&timestamp=${now - 2 * 3600_000}&sign=${encodeURIComponent(dingtalkSign(DING_SECRET, now - 2 * 3600_000))}`)).body.errcode).toBe(310000);
    expect((await ding(`&timestamp=${now}&sign=${encodeURIComponent(dingtalkSign(DING_SECRET, now))}`)).body).toEqual({ errcode: 0, errmsg: 'ok' });
    const seconds = Math.floor(now / 1000);
    const feishu = (sign: string) => request(shop.url).post('/wxsim/open-apis/bot/v2/hook/h').send({ timestamp: String(seconds), sign, msg_type: 'text', content: { text: 'x' } });
    expect((await feishu(feishuSign('wrong', seconds))).body.code).toBe(19021);
    expect((await feishu(feishuSign(FEISHU_SECRET, seconds))).body).toMatchObject({ code: 0 });
    // WeCom without its key, or with a message of no known type
    expect((await request(shop.url).post('/wxsim/cgi-bin/webhook/send').send({ msgtype: 'markdown', markdown: { content: 'x' } })).body.errcode).toBe(93000);
    expect((await request(shop.url).post('/wxsim/cgi-bin/webhook/send?key=k').send({ msgtype: 'nope' })).body.errcode).toBe(40008);
  });
});

describe('the demo: simulator mode with no channel set', () => {
  test('alerts go to the stand-in WeCom robot, in English when ALERT_LOCALE=en', async () => {
    const shop = await createTestShop({ env: { SIM_TIME_SCALE: '1000', SWEEP_INTERVAL_SECONDS: '0', ALERT_DISPATCH_INTERVAL_SECONDS: '0', ALERT_LOCALE: 'en' } });
    try {
      await paidTrade(shop, [['GEEK-CBL-01', 1]]);
      expect(shop.dispatcher.channels).toEqual(['wecom']);
      expect(await shop.dispatcher.dispatchOnce()).toBe(1);
      const page = await request(shop.url).get('/wxsim/robot').expect(200);
      expect(page.text).toContain('New order paid ¥');
      expect(page.text).toContain('Open in the admin');
    } finally {
      await shop.close();
    }
  });
});
