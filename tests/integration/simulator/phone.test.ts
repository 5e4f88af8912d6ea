import { formatBeijingTime, parsePaymentNotify } from '../../../src/wechatpay';
import { MD5_MERCHANT, MERCHANTS, newOutTradeNo, orderArgs, startHarness, startReceiver, type Harness, type Receiver } from './harness';

describe('the phone: scanning a code_url and paying', () => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    h = await startHarness();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  const md5 = () => h.client(MD5_MERCHANT, 'MD5');
  const tradeRow = (outTradeNo: string) => h.knex('sim_trades').where({ out_trade_no: outTradeNo }).first();
  const notifications = (tradeId: number) => h.knex('sim_notifications').where({ trade_id: tradeId }).orderBy('id');

  test('the scan page shows payee, amount in yuan from integer fen, body and out_trade_no, with Pay and Cancel forms', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await md5().unifiedOrder(orderArgs(outTradeNo, receiver.url, { totalFee: 123456, body: '西湖龙井 250g' }));
    const page = await h.scan(order.codeUrl);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<strong data-field="merchant">测试小店</strong>');
    expect(page.html).toContain('data-fen="123456">¥1234.56<');
    expect(page.html).toContain('西湖龙井 250g');
    expect(page.html).toContain(outTradeNo);
    expect(page.html).toMatch(/<form method="post" action="\/wxsim\/scan\/pay"/);
    expect(page.html).toMatch(/<form method="post" action="\/wxsim\/scan\/cancel"/);
    expect(page.token).toBe((await tradeRow(outTradeNo)).phone_token);
    expect(page.html).not.toMatch(/<script/i);
  });

  test('every phone page has one h1, and the paid page gives the time as people read it, in Beijing time', async () => {
    const h1s = (html: string) => [...html.matchAll(/<h1[^>]*>([^<]*)<\/h1>/g)].map((m) => m[1]);
    const order = await md5().unifiedOrder(orderArgs(newOutTradeNo(), receiver.url, { totalFee: 100 }));
    expect(h1s((await h.scan(order.codeUrl)).html)).toEqual(['确认付款 · Confirm payment']);
    expect(h1s((await h.scan('weixin://wxpay/bizpayurl?pr=ZZZZZZZ')).html)).toHaveLength(1);
    expect(h1s(await (await fetch(`${h.baseUrl}/`)).text())).toHaveLength(1);
    const paid = await h.pay(order.codeUrl);
    expect(h1s(paid.html)).toEqual(['支付成功 · Payment successful']);
    const beijing = new Date(h.clock().getTime() + 8 * 3600 * 1000).toISOString();
    const people = `${beijing.slice(0, 10)} ${beijing.slice(11, 19)}`;
    expect(paid.html).toContain(`<dd data-field="time_end"><time datetime="${h.clock().toISOString()}">${people}</time> <span class="muted">北京时间 · Beijing time</span></dd>`);
    expect(paid.html).not.toContain(formatBeijingTime(h.clock()));
    await h.sim.runDueWork(); // its notify delivered, so later tests count only their own
  });

  test('one fen is shown as ¥0.01, and the page carries a CSP without inline script', async () => {
    const order = await md5().unifiedOrder(orderArgs(newOutTradeNo(), receiver.url, { totalFee: 1 }));
    const res = await fetch(`${h.baseUrl}/scan?code_url=${encodeURIComponent(order.codeUrl)}`);
    expect(await res.text()).toContain('data-fen="1">¥0.01<');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain('unsafe-inline');
  });

  test('a body with markup is escaped on the page', async () => {
    const order = await md5().unifiedOrder(orderArgs(newOutTradeNo(), receiver.url, { body: '<img src=x onerror=alert(1)>' }));
    const page = await h.scan(order.codeUrl);
    expect(page.html).not.toContain('<img src=x');
    expect(page.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  test('an unknown or malformed code_url is a 404 page', async () => {
    expect((await h.scan('weixin://wxpay/bizpayurl?pr=ZZZZZZZ')).status).toBe(404);
    const bad = await h.scan('https://evil.example/?pr=abc');
    expect(bad.status).toBe(404);
    expect(bad.html).toContain('二维码无效');
    expect((await h.pay('weixin://wxpay/bizpayurl?pr=ZZZZZZZ', { token: 'x' })).status).toBe(404);
  });

  test.each(MERCHANTS)('%s: Pay makes the trade SUCCESS and the signed notify reaches notify_url, verified by the notify parser', async (_name, merchant, signType) => {
    const outTradeNo = newOutTradeNo();
    const order = await h.client(merchant, signType).unifiedOrder(orderArgs(outTradeNo, receiver.url, { attach: 'cart=9', totalFee: 2500 }));
    const seen = receiver.requests.length;
    const paid = await h.pay(order.codeUrl);
    expect(paid.status).toBe(200);
    expect(paid.html).toContain('支付成功');

    const row = await tradeRow(outTradeNo);
    expect(row).toMatchObject({ trade_state: 'SUCCESS', bank_type: 'OTHERS', cash_fee: 2500, is_subscribe: 'N' });
    expect(row.transaction_id).toMatch(/^4200\d{24}$/);
    expect(row.openid).toMatch(/^o[\w-]{27}$/);
    expect(row.time_end.getTime()).toBe(h.clock().getTime());
    expect(paid.html).toContain(row.transaction_id);

    expect(await h.sim.runDueWork()).toBe(1);
    expect(receiver.requests).toHaveLength(seen + 1);
    const request = receiver.requests[seen]!;
    expect(request.contentType).toMatch(/^text\/xml/);
    const notice = await parsePaymentNotify(request.body, { appId: merchant.appId, mchId: merchant.mchId, apiKey: merchant.apiKey });
    expect(notice).toMatchObject({
      outTradeNo,
      transactionId: row.transaction_id,
      totalFee: 2500,
      cashFee: 2500,
      feeType: 'CNY',
      timeEnd: formatBeijingTime(h.clock()),
      openid: row.openid,
      bankType: 'OTHERS',
      tradeType: 'NATIVE',
      attach: 'cart=9',
    });
    expect(notice.fields.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
    expect(notice.fields.sign_type).toBeUndefined();
    const [note] = await notifications(row.id);
    expect(note).toMatchObject({ kind: 'pay', status: 'delivered', attempts: 1, url: receiver.url, last_error: null });
    expect(note.delivered_at.getTime()).toBe(h.clock().getTime());
  });

  test('paying a paid code again is refused with a page that says so; nothing changes and no second notify is queued', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await md5().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const { token } = await h.scan(order.codeUrl);
    expect((await h.pay(order.codeUrl, { token })).status).toBe(200);
    const before = await tradeRow(outTradeNo);
    const again = await h.pay(order.codeUrl, { token });
    expect(again.status).toBe(409);
    expect(again.html).toContain('该订单已支付');
    expect(await tradeRow(outTradeNo)).toEqual(before);
    expect(await notifications(before.id)).toHaveLength(1);
    expect((await h.scan(order.codeUrl)).html).toContain('该订单已支付');
  });

  test('Cancel leaves the trade NOTPAY and queues nothing, as backing out on a phone does', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await md5().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const res = await h.pay(order.codeUrl, { action: 'cancel' });
    expect(res.status).toBe(200);
    expect(res.html).toContain('已取消支付');
    const row = await tradeRow(outTradeNo);
    expect(row.trade_state).toBe('NOTPAY');
    expect(await notifications(row.id)).toHaveLength(0);
  });

  test.each([
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'Sec-Fetch-Site': 'same-site' }],
    ['an Origin of another site', { Origin: 'http://evil.example' }],
    ['Origin: null (a sandboxed frame)', { Origin: 'null' }],
  ])('a Pay POST with %s is refused with 403 and the trade stays NOTPAY', async (_case, headers) => {
    const outTradeNo = newOutTradeNo();
    const order = await md5().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const res = await h.pay(order.codeUrl, { headers });
    expect(res.status).toBe(403);
    expect((await tradeRow(outTradeNo)).trade_state).toBe('NOTPAY');
  });

  test('a same-origin Pay POST from a browser (Sec-Fetch-Site and Origin of this host) is accepted', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await md5().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const res = await h.pay(order.codeUrl, { headers: { 'Sec-Fetch-Site': 'same-origin', Origin: new URL(h.baseUrl).origin } });
    expect(res.status).toBe(200);
    expect((await tradeRow(outTradeNo)).trade_state).toBe('SUCCESS');
  });

  test('a Pay POST without the page\'s token, or with another trade\'s token, is refused with 403', async () => {
    const outTradeNo = newOutTradeNo();
    const order = await md5().unifiedOrder(orderArgs(outTradeNo, receiver.url));
    const other = await md5().unifiedOrder(orderArgs(newOutTradeNo(), receiver.url));
    const otherToken = (await h.scan(other.codeUrl)).token;
    expect((await h.pay(order.codeUrl, { token: '' })).status).toBe(403);
    expect((await h.pay(order.codeUrl, { token: otherToken })).status).toBe(403);
    expect((await tradeRow(outTradeNo)).trade_state).toBe('NOTPAY');
  });

  test('the phone\'s home page and stylesheet are served by the router itself', async () => {
    const home = await fetch(`${h.baseUrl}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('action="/wxsim/scan"');
    const css = await fetch(`${h.baseUrl}/phone.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    const missing = await fetch(`${h.baseUrl}/no-such-page`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('找不到页面');
  });
});
