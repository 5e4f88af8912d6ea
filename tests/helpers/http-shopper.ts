import request from 'supertest';
import { RECEIVER, checkoutTokenOf, csrfOf } from './shopper';

/**
 * A shopper who knows the shop only through HTTP (no database handle: for a shop in a child
 * process, whose embedded database the test cannot open while it runs). Product ids come from the
 * catalog page; the code_url from the pay page's link to the simulator's phone.
 */
export class HttpShopper {
  readonly agent: ReturnType<typeof request.agent>;

  constructor(readonly baseUrl: string) {
    this.agent = request.agent(baseUrl);
  }

  /** cart -> checkout (WeChat Pay or cash on delivery) -> the pay page; returns out_trade_no and code_url */
  async buy(items: [sku: string, quantity: number][], payType: 'wxpay' | 'cod' = 'wxpay'): Promise<{ outTradeNo: string | undefined; codeUrl: string | undefined }> {
    const home = this.remember(await this.agent.get('/').expect(200));
    let csrf = csrfOf(home.text);
    for (const [sku, quantity] of items) {
      const id = new RegExp(`id="product-(\\d+)" data-sku="${sku}"`).exec(home.text)?.[1];
      if (!id) throw new Error(`no product ${sku} on the catalog page`);
      const res = this.remember(await this.agent.post('/cart/add').type('form').send({ _csrf: csrf, product_id: id, quantity: String(quantity) }));
      if (res.status !== 303) throw new Error(`add ${sku} answered ${res.status}`);
      if (res.headers['set-cookie']) csrf = csrfOf(this.remember(await this.agent.get('/').expect(200)).text);
    }
    const form = await this.agent.get('/checkout').expect(200);
    const res = this.remember(await this.agent.post('/checkout').type('form').send({ _csrf: csrfOf(form.text), checkout_token: checkoutTokenOf(form.text), pay_type: payType, ...RECEIVER }));
    if (res.status !== 303) throw new Error(`checkout answered ${res.status}: ${res.text.slice(0, 200)}`);
    if (payType === 'cod') return { outTradeNo: undefined, codeUrl: undefined };
    const outTradeNo = /^\/pay\/(\w+)$/.exec(res.headers.location ?? '')?.[1];
    if (!outTradeNo) throw new Error(`checkout went to ${res.headers.location}`);
    const page = await this.agent.get(`/pay/${outTradeNo}`);
    const href = /href="\/wxsim\/scan\?code_url=([^"]+)"/.exec(page.text)?.[1];
    return { outTradeNo, codeUrl: href ? decodeURIComponent(href.replace(/&amp;/g, '&')) : undefined };
  }

  /** the status poll's answer ({ state }), asked of `baseUrl` (another instance) with this shopper's session cookie */
  async status(outTradeNo: string, waitSeconds = 0, baseUrl = this.baseUrl): Promise<{ state?: string; error?: unknown }> {
    const res = await request(baseUrl).get(`/pay/${outTradeNo}/status?wait=${waitSeconds}`).set('Cookie', this.cookie);
    return res.body as { state?: string };
  }

  private readonly cookies = new Map<string, string>();

  /** keeps the cookies a response set (the agent keeps its own; this copy serves other instances) */
  private remember<T extends { headers: Record<string, unknown> }>(res: T): T {
    const set = res.headers['set-cookie'];
    for (const line of Array.isArray(set) ? (set as string[]) : []) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }

  /** the session cookie, as a Cookie header */
  get cookie(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}
