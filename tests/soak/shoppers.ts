import request from 'supertest';
import { USER_AGENTS } from '../helpers/mobile';
import { RECEIVER, checkoutTokenOf } from '../helpers/shopper';
import type { Measurements } from './measure';

/**
 * The soak's shoppers: sessions that arrive over time, each a browser on one device (a desktop pays
 * by QR code, a phone's browser by H5, WeChat's own browser by JSAPI, as the shop routes them), from
 * an address of its own (X-Forwarded-For through the load balancer, which the shops trust as they
 * trust nginx in deploy/). A session browses, fills a cart, checks out (WeChat Pay or cash on
 * delivery) and then does one of: pays, abandons, pays late, pays twice, or switches how to pay, in
 * the proportions of the mix; it may come back for another checkout. Refused at its limit of
 * unpaid checkouts, it pays one of them (from "my orders") or leaves, as a person would, and never
 * retries the refused checkout.
 *
 * A shopper who paid in WeChat but whose page never said so (it said closed, or the load ended),
 * or who was charged twice, writes to the shop's support, as people do; the admin answers by
 * querying that payment at WeChat.
 *
 * Everything goes over HTTP through the load balancer, as a browser and the payer's WeChat would:
 * the shop's pages and forms (CSRF tokens from the pages), the simulator's phone, H5 cashier, web
 * authorization and JS bridge, and the pay page's long poll.
 */

export const DEVICES = ['desktop', 'phone', 'wechat'] as const;
export type Device = (typeof DEVICES)[number];
export const BEHAVIOURS = ['pay', 'abandon', 'late', 'twice', 'switch'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

export interface ShopperMix {
  /** which device a new session is on (weights) */
  devices: Record<Device, number>;
  /** what a WeChat Pay checkout then does (weights) */
  behaviours: Record<Behaviour, number>;
  /** share of checkouts paid cash on delivery */
  cod: number;
  /** share of payers who press "I have paid" instead of waiting for the page to notice */
  check: number;
  /** chance that a session checks out once more after a checkout (up to MAX_VISITS) */
  again: number;
  /** share of sessions refused at their limit that pay an open checkout (the others leave) */
  limitPays: number;
}

/**
 * The mix, and why: most checkouts are paid at once (a shop's conversion after checkout is high);
 * one in six is abandoned (the QR code expires, the sweeper closes it, the stock comes back); the
 * rest are the paths that break shops: paying after the code expired (late payment, or refused and
 * paid again), paying twice (two phones on one QR code; a phone that switched to the QR code and
 * then paid in the cashier it had left open: a double payment for an admin to refund) and
 * switching the way to pay. Devices as a Chinese shop sees them (most traffic on phones, much of it
 * inside WeChat). COD as a minority way to pay.
 */
export const DEFAULT_MIX: ShopperMix = {
  devices: { desktop: 40, phone: 35, wechat: 25 },
  behaviours: { pay: 60, abandon: 15, late: 8, twice: 6, switch: 11 },
  cod: 0.12,
  check: 0.25,
  again: 0.4,
  limitPays: 0.6,
};

export const MAX_VISITS = 4;

/** Reads SOAK_MIX ("late=0,cod=0.2,...": any device or behaviour weight, or cod, check, again, limitPays) over the default. */
export function parseMix(raw: string | undefined): ShopperMix {
  const mix: ShopperMix = { ...DEFAULT_MIX, devices: { ...DEFAULT_MIX.devices }, behaviours: { ...DEFAULT_MIX.behaviours } };
  for (const part of (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', text = ''] = part.split('=').map((p) => p.trim());
    const value = Number(text);
    if (text === '' || !Number.isFinite(value) || value < 0) throw new Error(`SOAK_MIX: ${JSON.stringify(part)} is not name=number (a number >= 0)`);
    if ((DEVICES as readonly string[]).includes(name)) mix.devices[name as Device] = value;
    else if ((BEHAVIOURS as readonly string[]).includes(name)) mix.behaviours[name as Behaviour] = value;
    else if (name === 'cod' || name === 'check' || name === 'again' || name === 'limitPays') {
      if (value > 1) throw new Error(`SOAK_MIX: ${name} is a share from 0 to 1`);
      mix[name] = name === 'again' ? Math.min(value, 0.9) : value;
    } else throw new Error(`SOAK_MIX: unknown name ${JSON.stringify(name)} (devices ${DEVICES.join(', ')}; behaviours ${BEHAVIOURS.join(', ')}; cod, check, again, limitPays)`);
  }
  const sum = (weights: Record<string, number>) => Object.values(weights).reduce((a, b) => a + b, 0);
  if (sum(mix.devices) <= 0 || sum(mix.behaviours) <= 0) throw new Error('SOAK_MIX: the device weights and the behaviour weights must each add up to more than 0');
  return mix;
}

function weighted<T extends string>(weights: Record<T, number>): T {
  const entries = Object.entries(weights) as [T, number][];
  let r = Math.random() * entries.reduce((a, [, w]) => a + w, 0);
  for (const [name, w] of entries) {
    r -= w;
    if (r < 0) return name;
  }
  return (entries.find(([, w]) => w > 0) as [T, number])[0];
}

export function describeMix(mix: ShopperMix): string[] {
  const shares = (weights: Record<string, number>) => {
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    return Object.entries(weights)
      .map(([k, w]) => `${k} ${Math.round((100 * w) / total)}%`)
      .join(', ');
  };
  return [
    `  devices: ${shares(mix.devices)} (desktop pays by QR code, phone by H5, wechat by JSAPI)`,
    `  after a WeChat Pay checkout: ${shares(mix.behaviours)}`,
    `  cash on delivery ${Math.round(mix.cod * 100)}% of checkouts; "I have paid" pressed by ${Math.round(mix.check * 100)}% of payers; another checkout in the same session ${Math.round(mix.again * 100)}% (at most ${MAX_VISITS}); refused at the limit: ${Math.round(mix.limitPays * 100)}% pay an open checkout, the rest leave`,
    `  ${Math.round(COMING_BACK_SHARE * 100)}% of arrivals: a shopper who ordered earlier, back at "my orders" to confirm the receipt of what was shipped`,
  ];
}

export interface ShopperContext {
  front: string;
  m: Measurements;
  mix: ShopperMix;
  running: () => boolean;
  /** how long a payment attempt is offered, in real milliseconds (PAY_QR_TTL_SECONDS on the soak's clock) */
  offerMs: number;
  /** a shopper who paid in WeChat and was not shown it, or was charged twice, writes to the shop's support (the admin reads it) */
  complain: (outTradeNo: string) => void;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** a person reading a page or reaching for the phone */
const think = (min = 150, max = 600) => pause(min + Math.random() * (max - min));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/** What the payer's WeChat needs to pay one attempt: a QR code, the H5 cashier the shop sent the browser to, or the bridge's signed parameters. */
type Payable =
  | { way: 'qr'; outTradeNo: string; codeUrl: string }
  | { way: 'cashier'; outTradeNo: string; url: URL; token: string }
  | { way: 'bridge'; outTradeNo: string; params: Record<string, string> };

type PayResult = 'paid' | 'refused' | 'failed';

const PHONE_UA = USER_AGENTS.wechat;

/** One browser: a cookie jar, a device, an address. */
class Session {
  readonly agent: ReturnType<typeof request.agent>;
  private csrf = '';
  /** the last pay page's HTML */
  private page = '';
  /** this session placed an order: coming back, it looks whether one was shipped */
  ordered = false;

  constructor(
    private readonly ctx: ShopperContext,
    readonly device: Device,
    readonly ip: string,
  ) {
    this.agent = request.agent(ctx.front);
    this.agent.set('User-Agent', device === 'desktop' ? USER_AGENTS.desktop : device === 'phone' ? USER_AGENTS.iphone : USER_AGENTS.wechat);
    this.agent.set('X-Forwarded-For', ip);
  }

  private get m() {
    return this.ctx.m;
  }

  /** a page of the shop; its CSRF token (one per session) is remembered */
  private async get(label: string, path: string) {
    const res = await this.m.timed(`GET ${label}`, () => this.agent.get(path).timeout(30_000));
    const token = /name="_csrf" value="([^"]+)"/.exec(res.text ?? '')?.[1];
    if (token) this.csrf = token;
    return res;
  }

  /** a form post, as the browser sends it (Origin, the form's CSRF token) */
  private post(label: string, path: string, fields: Record<string, string>) {
    return this.m.timed(`POST ${label}`, () => this.agent.post(path).timeout(30_000).set('Origin', this.ctx.front).type('form').send({ _csrf: this.csrf, ...fields }));
  }

  /** A whole visit; false when the session leaves. */
  async visit(): Promise<boolean> {
    const { mix } = this.ctx;
    const home = await this.get('/', '/');
    if (Math.random() < 0.3) await this.get('/cart', '/cart');
    if (this.ordered) await this.receive();
    else if (Math.random() < 0.15) await this.get('/orders', '/orders');
    const inStock = [...home.text.matchAll(/name="product_id" value="(\d+)"/g)].map((x) => x[1] as string);
    const lines = 1 + Math.floor(Math.random() * 3);
    for (let i = 0; i < lines && inStock.length > 0; i += 1) {
      await think(100, 400);
      const res = await this.post('/cart/add', '/cart/add', { product_id: pick(inStock), quantity: Math.random() < 0.8 ? '1' : '2' });
      if (res.status !== 303) this.m.count(`cart line refused ${res.status}`);
      // the first line gives the session a new id, and so a new CSRF token
      if (res.headers['set-cookie']) await this.get('/', '/');
    }
    await think();
    const form = await this.get('/checkout', '/checkout');
    if (form.status !== 200) {
      this.m.count('visits without a cart (nothing in stock to add)');
      return true;
    }
    const cod = Math.random() < mix.cod;
    this.m.count('checkouts');
    const done = await this.post('/checkout', '/checkout', { checkout_token: checkoutTokenOf(form.text), pay_type: cod ? 'cod' : 'wxpay', ...RECEIVER });
    if (done.status === 409) {
      this.m.count('checkouts refused at a limit (409)');
      return this.atLimit();
    }
    if (done.status !== 303) {
      this.m.count(`checkouts refused ${done.status}`);
      return false;
    }
    this.ordered = true;
    const location = String(done.headers.location ?? '');
    if (cod) {
      this.m.count('cash on delivery orders');
      await this.get('/checkout/:token/complete', location);
      return true;
    }
    const outTradeNo = /^\/pay\/(\w+)$/.exec(location)?.[1];
    if (!outTradeNo) {
      this.m.count(`checkout went elsewhere: ${location.slice(0, 40)}`);
      return false;
    }
    const behaviour = weighted(mix.behaviours);
    this.m.count(`behaviour: ${behaviour}`);
    await this[behaviour](outTradeNo);
    return true;
  }

  /** Back at "my orders": each of its orders (at most 3) opened, and a shipped one's receipt confirmed. */
  async receive(): Promise<void> {
    const orders = await this.get('/orders', '/orders');
    const ids = [...new Set([...orders.text.matchAll(/href="\/orders\/(\d+)"/g)].map((x) => x[1] as string))].slice(0, 3);
    for (const id of ids) {
      const page = await this.get('/orders/:orderId', `/orders/${id}`);
      if (!page.text.includes(`action="/orders/${id}/confirm-receipt"`)) continue;
      const res = await this.post('/orders/:orderId/confirm-receipt', `/orders/${id}/confirm-receipt`, {});
      this.m.count(res.status === 303 ? 'receipts confirmed by shoppers' : `confirm receipt answered ${res.status}`);
    }
  }

  /** Refused at a limit: pay one of the open checkouts ("my orders", Pay now), or leave. */
  private async atLimit(): Promise<boolean> {
    if (Math.random() >= this.ctx.mix.limitPays) {
      this.m.count('sessions at a limit that left');
      return false;
    }
    const orders = await this.get('/orders', '/orders');
    const open = /href="\/pay\/(\w+)"/.exec(orders.text)?.[1];
    if (!open) {
      this.m.count('sessions at a limit with nothing to pay (left)');
      return false;
    }
    this.m.count('sessions at a limit that paid an open checkout');
    await this.pay(open);
    return true;
  }

  // ---- the behaviours

  async pay(outTradeNo: string): Promise<void> {
    let payable = await this.startPaying(outTradeNo);
    if (!payable) {
      // WeChat failed the shop (a SYSTEMERROR on unifiedorder, say): a person tries again once
      await think(500, 1500);
      payable = await this.startPaying(outTradeNo);
    }
    if (!payable) {
      this.m.count('payers who gave up (no way to pay offered)');
      return;
    }
    await think();
    const result = await this.payWith(payable);
    if (result !== 'paid') {
      this.m.count(`payments ${result}`);
      return;
    }
    await this.awaitSuccess(payable.outTradeNo, Math.random() < this.ctx.mix.check);
  }

  async abandon(outTradeNo: string): Promise<void> {
    const payable = await this.startPaying(outTradeNo);
    // some press Cancel in WeChat first; then the tab is closed: the sweeper closes the attempt
    if (payable && Math.random() < 0.3) await this.cancelIn(payable);
    this.m.count('abandoned checkouts');
  }

  async late(outTradeNo: string): Promise<void> {
    const payable = await this.startPaying(outTradeNo);
    if (!payable) return;
    // back after the attempt's time is up (and likely closed by the sweeper): WeChat may still take it
    await this.waitUntil(Date.now() + this.ctx.offerMs + 1000 + Math.random() * 8000);
    if (!this.ctx.running()) return;
    const result = await this.payWith(payable);
    if (result === 'paid') {
      this.m.count('late payments WeChat took (pay_after_expire)');
      await this.awaitSuccess(payable.outTradeNo, false);
      return;
    }
    this.m.count('late payments refused by WeChat');
    // the pay page says expired or closed: pay again, or put the items back in the cart
    const page = await this.get('/pay/:outTradeNo', `/pay/${payable.outTradeNo}`);
    if (page.status === 200 && page.text.includes(`action="/pay/${payable.outTradeNo}/renew"`)) {
      const renewed = await this.post('/pay/:outTradeNo/renew', `/pay/${payable.outTradeNo}/renew`, {});
      const next = /^\/pay\/(\w+)$/.exec(String(renewed.headers.location ?? ''))?.[1];
      if (renewed.status === 303 && next && next !== payable.outTradeNo) {
        this.m.count('late payers who paid again (renewed)');
        return this.pay(next);
      }
    }
    if (page.status === 200 && page.text.includes(`action="/pay/${payable.outTradeNo}/buy-again"`)) {
      const again = await this.post('/pay/:outTradeNo/buy-again', `/pay/${payable.outTradeNo}/buy-again`, {});
      if (again.status === 303) this.m.count('late payers who put the items back in the cart');
    }
  }

  async twice(outTradeNo: string): Promise<void> {
    const first = await this.startPaying(outTradeNo);
    if (!first) return;
    if (first.way === 'qr') {
      // two phones scan one QR code and both press Pay: WeChat takes one
      const results = await Promise.all([this.payWith(first), this.payWith(first)]);
      this.m.count(`two phones on one QR code: ${results.sort().join(' + ')}`);
      if (results.includes('paid')) await this.awaitSuccess(outTradeNo, false);
      return;
    }
    // the cashier (or the bridge) is open; the shopper switches to the QR code, pays it with
    // another phone, then pays in the cashier left open as well: a double payment
    const switched = await this.switchTo(outTradeNo, 'NATIVE');
    if (!switched) return;
    const qr = await this.startPaying(switched, { allowQr: true });
    if (!qr) return;
    const one = await this.payWith(qr);
    const two = await this.payWith(first);
    this.m.count(`paid twice (QR code, then the ${first.way} left open): ${one} + ${two}`);
    if (one === 'paid' || two === 'paid') await this.awaitSuccess(switched, false);
    // charged twice in WeChat: a person writes to the shop's support about the second charge
    if (one === 'paid' && two === 'paid') this.ctx.complain(first.outTradeNo);
  }

  async switch(outTradeNo: string): Promise<void> {
    if (this.device === 'desktop') return this.pay(outTradeNo); // a desktop has one way: the QR code
    const own = this.device === 'phone' ? 'MWEB' : 'JSAPI';
    // some pressed Pay first and came back without paying
    if (Math.random() < 0.5) {
      const started = await this.startPaying(outTradeNo);
      if (started && Math.random() < 0.5) await this.cancelIn(started);
    }
    const toQr = await this.switchTo(outTradeNo, 'NATIVE');
    if (!toQr) return;
    this.m.count('switched to the QR code');
    if (Math.random() < 0.3) {
      await think();
      const back = await this.switchTo(toQr, own);
      if (!back) return;
      this.m.count(`switched back to ${own}`);
      return this.pay(back);
    }
    const qr = await this.startPaying(toQr, { allowQr: true });
    if (!qr) return;
    await think();
    if ((await this.payWith(qr)) === 'paid') await this.awaitSuccess(toQr, Math.random() < this.ctx.mix.check);
  }

  // ---- paying

  /**
   * Opens the pay page and does what the device's page offers: the QR code (its phone link), the
   * H5 Pay button (to WeChat's cashier), or the JSAPI Pay button (after WeChat's web authorization,
   * the bridge's signed parameters). Undefined when the page offers no way to pay now.
   */
  private async startPaying(outTradeNo: string, options: { allowQr?: boolean } = {}): Promise<Payable | undefined> {
    const page = await this.openPayPage(outTradeNo);
    if (page.status !== 200) {
      this.m.count(page.status === 502 ? 'pay pages without a way to pay (WeChat failing)' : `pay pages answered ${page.status}`);
      return undefined;
    }
    this.page = page.text;
    const phone = /href="\/wxsim\/scan\?code_url=([^"]+)"/.exec(page.text)?.[1];
    if (phone) {
      if (this.device !== 'desktop' && !options.allowQr) this.m.count('phones shown a QR code');
      return { way: 'qr', outTradeNo, codeUrl: decodeURIComponent(phone.replace(/&amp;/g, '&')) };
    }
    if (page.text.includes(`action="/pay/${outTradeNo}/h5"`)) {
      await think();
      const pressed = await this.post('/pay/:outTradeNo/h5', `/pay/${outTradeNo}/h5`, {});
      const location = String(pressed.headers.location ?? '');
      if (pressed.status !== 303 || !location.includes('/wxsim/h5pay/checkmweb')) {
        this.m.count(`H5 Pay answered ${pressed.status}${pressed.status === 303 ? ' (back to the pay page)' : ''}`);
        return undefined;
      }
      // the browser follows the redirect to WeChat's cashier, which stays open in its tab
      const url = new URL(location);
      const opened = await this.m.timed('GET /wxsim/h5pay/checkmweb', () => this.agent.get(url.pathname + url.search).timeout(30_000).set('Referer', `${this.ctx.front}/pay/${outTradeNo}`));
      const token = /name="token" value="([^"]+)"/.exec(opened.text)?.[1];
      if (opened.status !== 200 || !token) {
        this.m.count(`WeChat's cashier answered ${opened.status}${token ? '' : ' without a Pay button'}`);
        return undefined;
      }
      return { way: 'cashier', outTradeNo, url, token };
    }
    if (page.text.includes('id="pay-jsapi"')) {
      await think();
      const res = await this.m.timed('POST /pay/:outTradeNo/jsapi', () =>
        this.agent.post(`/pay/${outTradeNo}/jsapi`).timeout(30_000).set('Origin', this.ctx.front).set('X-CSRF-Token', this.csrf).set('Accept', 'application/json').type('form').send({}),
      );
      const params = (res.body as { params?: Record<string, string> }).params;
      if (res.status !== 200 || !params) {
        this.m.count(`JSAPI Pay answered ${res.status}${params ? '' : ' without parameters'}`);
        return undefined;
      }
      return { way: 'bridge', outTradeNo, params };
    }
    this.m.count('pay pages without a Pay button or QR code');
    return undefined;
  }

  /**
   * The pay page; in WeChat's browser, the first time, through WeChat's silent web authorization
   * (the simulator's cookie is this browser's WeChat user) and back.
   */
  private async openPayPage(outTradeNo: string) {
    const page = await this.get('/pay/:outTradeNo', `/pay/${outTradeNo}`);
    const authorize = page.status === 303 ? String(page.headers.location ?? '') : '';
    if (!authorize.includes('/wxsim/connect/oauth2/authorize')) return page;
    const url = new URL(authorize.replace(/#wechat_redirect$/, ''));
    const back = await this.m.timed('GET /wxsim/connect/oauth2/authorize', () => this.agent.get(url.pathname + url.search).timeout(30_000));
    const callback = new URL(String(back.headers.location ?? ''), this.ctx.front);
    const done = await this.get('/pay/oauth', callback.pathname + callback.search);
    if (done.status !== 303) {
      this.m.count(`web authorization answered ${done.status}`);
      return done;
    }
    return this.get('/pay/:outTradeNo', `/pay/${outTradeNo}`);
  }

  /** The payer's WeChat pays: the phone scans and pays, or the cashier's Pay, or the bridge. */
  private async payWith(p: Payable): Promise<PayResult> {
    if (p.way === 'qr') {
      // the phone is another device: no cookies of this browser
      const phone = () => request(this.ctx.front).get('/wxsim/scan').timeout(30_000).set('User-Agent', PHONE_UA).query({ code_url: p.codeUrl });
      const scan = await this.m.timed('GET /wxsim/scan', phone);
      const token = /name="token" value="([^"]+)"/.exec(scan.text)?.[1];
      if (!token || !scan.text.includes('/scan/pay')) return 'refused';
      const paid = await this.m.timed('POST /wxsim/scan/pay', () =>
        request(this.ctx.front).post('/wxsim/scan/pay').timeout(30_000).set('User-Agent', PHONE_UA).set('Origin', this.ctx.front).type('form').send({ code_url: p.codeUrl, token }),
      );
      return paid.status === 200 ? 'paid' : paid.status === 409 ? 'refused' : 'failed';
    }
    if (p.way === 'cashier') {
      // Pay on the cashier the browser has open (its token from when it opened)
      const paid = await this.m.timed('POST /wxsim/h5pay/pay', () =>
        this.agent
          .post('/wxsim/h5pay/pay')
          .timeout(30_000)
          .set('Origin', this.ctx.front)
          .type('form')
          .send({ prepay_id: p.url.searchParams.get('prepay_id') ?? '', package: p.url.searchParams.get('package') ?? '', token: p.token, redirect_url: p.url.searchParams.get('redirect_url') ?? '' }),
      );
      if (paid.status === 302) {
        // back on the shop's page, which waits for WeChat's word
        const back = new URL(String(paid.headers.location));
        await this.get('/pay/:outTradeNo?returned=1', back.pathname + back.search);
        return 'paid';
      }
      return paid.status === 409 ? 'refused' : 'failed';
    }
    const answer = await this.m.timed('POST /wxsim/jsapi/pay', () => this.agent.post('/wxsim/jsapi/pay').timeout(30_000).set('Content-Type', 'application/json').send(p.params));
    const ok = (answer.body as { err_msg?: string }).err_msg === 'get_brand_wcpay_request:ok';
    return ok ? 'paid' : answer.status === 200 ? 'refused' : 'failed';
  }

  /** Cancel in WeChat: the phone's or the cashier's Cancel (the bridge's is the payer closing it). */
  private async cancelIn(p: Payable): Promise<void> {
    if (p.way === 'qr') {
      const scan = await this.m.timed('GET /wxsim/scan', () => request(this.ctx.front).get('/wxsim/scan').timeout(30_000).set('User-Agent', PHONE_UA).query({ code_url: p.codeUrl }));
      const token = /name="token" value="([^"]+)"/.exec(scan.text)?.[1];
      if (token) {
        await this.m.timed('POST /wxsim/scan/cancel', () =>
          request(this.ctx.front).post('/wxsim/scan/cancel').timeout(30_000).set('User-Agent', PHONE_UA).set('Origin', this.ctx.front).type('form').send({ code_url: p.codeUrl, token }),
        );
      }
    } else if (p.way === 'cashier') {
      const fields = { prepay_id: p.url.searchParams.get('prepay_id') ?? '', package: p.url.searchParams.get('package') ?? '', token: p.token, redirect_url: p.url.searchParams.get('redirect_url') ?? '' };
      await this.m.timed('POST /wxsim/h5pay/cancel', () => this.agent.post('/wxsim/h5pay/cancel').timeout(30_000).set('Origin', this.ctx.front).type('form').send(fields));
    }
    this.m.count(`cancelled in WeChat (${p.way})`);
  }

  /** The visible switch on the pay page: a new attempt paid another way; its out_trade_no. */
  private async switchTo(outTradeNo: string, tradeType: 'NATIVE' | 'MWEB' | 'JSAPI'): Promise<string | undefined> {
    const page = await this.openPayPage(outTradeNo);
    if (page.status !== 200 || !page.text.includes(`name="trade_type" value="${tradeType}"`)) {
      this.m.count(`no switch to ${tradeType} offered (${page.status})`);
      return undefined;
    }
    const res = await this.post('/pay/:outTradeNo/switch', `/pay/${outTradeNo}/switch`, { trade_type: tradeType });
    const next = /^\/pay\/(\w+)$/.exec(String(res.headers.location ?? ''))?.[1];
    if (res.status !== 303 || !next || next === outTradeNo) {
      this.m.count(`switch answered ${res.status}`);
      return undefined;
    }
    return next;
  }

  /**
   * The pay page after paying: "I have paid" pressed, or its long poll (on whichever instance the
   * connection reaches) until it says paid, then the success page.
   */
  private async awaitSuccess(outTradeNo: string, pressCheck: boolean): Promise<void> {
    let current = outTradeNo;
    if (pressCheck && this.page.includes(`action="/pay/${current}/check"`)) {
      const checked = await this.post('/pay/:outTradeNo/check', `/pay/${current}/check`, {});
      if (String(checked.headers.location ?? '').endsWith('/success')) {
        await this.get('/pay/:outTradeNo/success', String(checked.headers.location));
        this.m.count('success pages seen');
        return;
      }
    }
    let last = '';
    for (let i = 0; i < 8 && this.ctx.running(); i += 1) {
      const status = await this.m.timed('GET /pay/:outTradeNo/status', () => this.agent.get(`/pay/${current}/status?wait=10`).timeout(30_000));
      const body = status.body as { state?: string; redirect?: string };
      last = body.state ?? String(status.status);
      if (body.state === 'SUCCESS') {
        await this.get('/pay/:outTradeNo/success', body.redirect ?? `/pay/${current}/success`);
        this.m.count('success pages seen');
        return;
      }
      if (body.state === 'MOVED' && body.redirect) current = body.redirect.slice('/pay/'.length);
      else if (body.state === 'CLOSED' || body.state === 'EXPIRED') break;
      else if (status.status !== 200) await pause(1000);
    }
    // paid in WeChat, and the shop's page did not say so: a person writes to the shop's support
    this.m.count(this.ctx.running() ? `paid, but the page said ${last}: wrote to support` : 'paid, the page still waiting when the load ended: wrote to support');
    this.ctx.complain(current);
  }

  private async waitUntil(at: number): Promise<void> {
    while (Date.now() < at && this.ctx.running()) await pause(Math.min(1000, at - Date.now()));
  }
}

/** Addresses shoppers come from (198.18.0.0/15, the benchmarking range): some share one, as offices and mobile networks do. */
const ADDRESSES = 2000;
const addressOf = (i: number) => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;

/** Sessions that ordered and left, oldest first: some come back days later (on the shop's clock) to their orders. */
const gone: Session[] = [];
const GONE_MAX = 5000;
/** the share of arrivals that are such a shopper coming back (to confirm the receipt of what was shipped) */
export const COMING_BACK_SHARE = 0.1;

/**
 * One shopper slot: sessions one after another, each arriving after a pause (exponential, mean 1 s)
 * and leaving after its visits. SOAK_SHOPPERS slots make that many sessions at once. One arrival
 * in ten is the oldest session that ordered and left, back at "my orders" (the admin ships the
 * oldest orders first, so theirs are the ones shipped by now).
 */
export async function shopperSlot(ctx: ShopperContext): Promise<void> {
  const { m, mix } = ctx;
  while (ctx.running()) {
    await pause(-Math.log(1 - Math.random()) * 1000);
    if (!ctx.running()) break;
    const back = gone.length > 0 && Math.random() < COMING_BACK_SHARE ? gone.shift() : undefined;
    if (back) {
      m.count('shoppers back at their orders');
      await back.receive().catch((err: unknown) => m.count(`shopper errors: ${(err as Error).message.slice(0, 80)}`));
      continue;
    }
    const session = new Session(ctx, weighted(mix.devices), addressOf(Math.floor(Math.random() * ADDRESSES)));
    m.count('sessions arrived');
    m.count(`sessions on ${session.device}`);
    try {
      for (let visit = 1; visit <= MAX_VISITS && ctx.running(); visit += 1) {
        if (!(await session.visit())) break;
        if (Math.random() >= mix.again) break;
        m.count('sessions that came back for another checkout');
        await think(500, 2000);
      }
    } catch (err) {
      m.count(`shopper errors: ${(err as Error).message.slice(0, 80)}`);
      await pause(200);
    }
    if (session.ordered) {
      gone.push(session);
      if (gone.length > GONE_MAX) gone.shift();
    }
  }
}
