import http from 'node:http';

/** One answer: status, headers (as Node joins them) and every raw header line, body as text. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/**
 * A shopper's browser reduced to what these tests need: a cookie jar and requests that leave from a
 * chosen loopback address (`from`, e.g. 127.0.0.11), so that every hop in front of the shop sees a
 * client address of its own and the test can tell whose address the shop recorded.
 */
export class ClientFrom {
  private readonly cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    readonly from: string,
    /** sent with every request: what a client may claim (X-Forwarded-For) */
    readonly headers: Record<string, string> = {},
  ) {}

  request(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Answer> {
    const url = new URL(path, this.baseUrl);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers: Record<string, string> = { ...this.headers, 'User-Agent': 'e2e-client-from' };
    if (this.cookies.size > 0) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers, localAddress: this.from }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          for (const cookie of res.headers['set-cookie'] ?? []) {
            const [pair = ''] = cookie.split(';');
            const eq = pair.indexOf('=');
            if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: text });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One product into the cart, then a cash-on-delivery checkout: the shop records this client's address on the order. */
  async checkOutCashOnDelivery(): Promise<Answer> {
    const home = await this.request('GET', '/');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(home.body)?.[1];
    const productId = /name="product_id" value="(\d+)"/.exec(home.body)?.[1];
    if (!csrf || !productId) throw new Error(`no CSRF token or product on the catalog (HTTP ${home.status})`);
    const added = await this.request('POST', '/cart/add', { _csrf: csrf, product_id: productId, quantity: '1' });
    if (added.status !== 303) throw new Error(`add to cart answered ${added.status}`);
    const form = await this.request('GET', '/checkout');
    const csrf2 = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
    const token = /name="checkout_token" value="([^"]+)"/.exec(form.body)?.[1];
    if (!csrf2 || !token) throw new Error(`no checkout form (HTTP ${form.status})`);
    return this.request('POST', '/checkout', {
      _csrf: csrf2,
      checkout_token: token,
      pay_type: 'cod',
      receiver_name: '张三',
      receiver_mobile: '13800138000',
      receiver_address: `上海市浦东新区世纪大道100号 ${this.from}`,
    });
  }
}
