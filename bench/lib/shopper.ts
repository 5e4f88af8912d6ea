import http from 'node:http';

/**
 * A shopper in a browser, over plain node:http (keep-alive): one session cookie, the CSRF token
 * of its pages, the journey add to cart -> checkout -> pay page. The same steps as
 * tests/helpers/shopper.ts, without supertest, so that it can drive load.
 */

export const RECEIVER = { receiver_name: '张三', receiver_mobile: '13800138000', receiver_address: '上海市浦东新区世纪大道100号' };

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function httpRequest(
  agent: http.Agent,
  baseUrl: string,
  method: string,
  path: string,
  options: { cookie?: string; form?: Record<string, string>; body?: string; contentType?: string } = {},
): Promise<HttpAnswer> {
  const url = new URL(path, baseUrl);
  const body = options.form ? new URLSearchParams(options.form).toString() : options.body;
  const headers: http.OutgoingHttpHeaders = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (body !== undefined) {
    headers['content-type'] = options.form ? 'application/x-www-form-urlencoded' : (options.contentType ?? 'text/plain');
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function expectStatus(step: string, answer: HttpAnswer, status: number): void {
  if (answer.status !== status) throw new Error(`${step} answered ${answer.status} (expected ${status}): ${answer.body.slice(0, 200)}`);
}

function field(html: string, name: string): string {
  const value = new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1];
  if (!value) throw new Error(`no ${name} in the page`);
  return value;
}

export class BenchShopper {
  private cookie: string | undefined;
  private csrf: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly agent: http.Agent,
  ) {}

  get sessionCookie(): string | undefined {
    return this.cookie;
  }

  private async send(method: string, path: string, form?: Record<string, string>): Promise<HttpAnswer> {
    const answer = await httpRequest(this.agent, this.baseUrl, method, path, { cookie: this.cookie, form });
    const set = answer.headers['set-cookie']?.find((c) => c.startsWith('wxshop.sid='));
    const cookie = set?.split(';')[0];
    if (cookie && cookie !== this.cookie) {
      // a new session (the first cart line regenerates it, against fixation): a new CSRF token too
      this.cookie = cookie;
      this.csrf = undefined;
    }
    return answer;
  }

  /** the catalog page: a session with a CSRF token */
  async open(): Promise<void> {
    const home = await this.send('GET', '/');
    expectStatus('GET /', home, 200);
    this.csrf = field(home.body, '_csrf');
  }

  private async token(): Promise<string> {
    if (!this.csrf) await this.open();
    return this.csrf as string;
  }

  /** add to cart -> checkout -> pay page (with its QR code); returns the out_trade_no */
  async journey(productIds: number[]): Promise<string> {
    for (const productId of productIds) {
      const added = await this.send('POST', '/cart/add', { _csrf: await this.token(), product_id: String(productId), quantity: '1' });
      expectStatus('POST /cart/add', added, 303);
    }
    const form = await this.send('GET', '/checkout');
    expectStatus('GET /checkout', form, 200);
    this.csrf = field(form.body, '_csrf');
    const placed = await this.send('POST', '/checkout', { _csrf: this.csrf, checkout_token: field(form.body, 'checkout_token'), pay_type: 'wxpay', ...RECEIVER });
    expectStatus('POST /checkout', placed, 303);
    const outTradeNo = /^\/pay\/(\w+)$/.exec(String(placed.headers.location ?? ''))?.[1];
    if (!outTradeNo) throw new Error(`checkout redirected to ${placed.headers.location}`);
    const page = await this.send('GET', `/pay/${outTradeNo}`);
    expectStatus(`GET /pay/${outTradeNo}`, page, 200);
    if (!page.body.includes('<svg')) throw new Error('the pay page has no QR code');
    return outTradeNo;
  }
}
