import type { Knex } from 'knex';
import request from 'supertest';

export const RECEIVER = { receiver_name: '张三', receiver_mobile: '13800138000', receiver_address: '上海市浦东新区世纪大道100号' };

export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token in the page');
  return token;
}

export function checkoutTokenOf(html: string): string {
  const token = /name="checkout_token" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no checkout token in the page');
  return token;
}

export async function productIdOf(knex: Knex, sku: string): Promise<number> {
  const row = (await knex('products').where({ sku }).first('id')) as { id: number } | undefined;
  if (!row) throw new Error(`no product ${sku}`);
  return row.id;
}

/** A shopper in a browser: one cookie jar, talking to the shop over real HTTP. */
export class Shopper {
  readonly agent: ReturnType<typeof request.agent>;
  private token: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly knex: Knex,
  ) {
    this.agent = request.agent(baseUrl);
  }

  async csrf(): Promise<string> {
    if (!this.token) this.token = csrfOf((await this.agent.get('/').expect(200)).text);
    return this.token;
  }

  // (the agent attaches its cookies when a request is made: fetch the token before making one)
  async add(sku: string, quantity: number | string = 1, extra: Record<string, string> = {}) {
    const form = { _csrf: await this.csrf(), product_id: String(await productIdOf(this.knex, sku)), quantity: String(quantity), ...extra };
    const res = await this.agent.post('/cart/add').type('form').send(form);
    // the first line in the cart gives the session a new id and a new CSRF token
    if (res.headers['set-cookie']) this.token = undefined;
    return res;
  }

  async checkoutForm(): Promise<{ html: string; checkoutToken: string }> {
    const res = await this.agent.get('/checkout').expect(200);
    return { html: res.text, checkoutToken: checkoutTokenOf(res.text) };
  }

  async submitCheckout(fields: Record<string, string> = {}, checkoutToken?: string) {
    const token = checkoutToken ?? (await this.checkoutForm()).checkoutToken;
    const form = { _csrf: await this.csrf(), checkout_token: token, pay_type: 'wxpay', ...RECEIVER, ...fields };
    return this.agent.post('/checkout').type('form').send(form);
  }

  /** cart -> checkout (WeChat Pay) -> the out_trade_no the shop redirected to */
  async buy(items: [sku: string, quantity: number][]): Promise<string> {
    for (const [sku, quantity] of items) {
      const res = await this.add(sku, quantity);
      if (res.status !== 303) throw new Error(`add ${sku} answered ${res.status}: ${res.text.slice(0, 200)}`);
    }
    const res = await this.submitCheckout();
    const outTradeNo = /^\/pay\/(\w+)$/.exec(res.headers.location ?? '')?.[1];
    if (res.status !== 303 || !outTradeNo) throw new Error(`checkout answered ${res.status} ${res.headers.location}: ${res.text.slice(0, 300)}`);
    return outTradeNo;
  }
}

/** The simulator's phone: open the code_url and press Pay, as a shopper's WeChat would. */
export async function payOnPhone(baseUrl: string, codeUrl: string): Promise<request.Response> {
  const scan = await request(baseUrl).get('/wxsim/scan').query({ code_url: codeUrl }).expect(200);
  const token = /name="token" value="([^"]+)"/.exec(scan.text)?.[1];
  if (!token) throw new Error('no token on the phone page');
  return request(baseUrl).post('/wxsim/scan/pay').set('Origin', baseUrl).type('form').send({ code_url: codeUrl, token });
}
