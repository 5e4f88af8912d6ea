import request from 'supertest';
import type { Admin} from '../admin/helpers';
import { adminShop, loggedIn } from '../admin/helpers';
import { RECEIVER, Shopper, csrfOf } from '../../helpers/shopper';
import type { TestShop } from '../../helpers/app';

jest.setTimeout(180_000);

interface RouteLayer {
  name?: string;
  rawPath?: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
}

/** Every GET route of the app, walked from Express's own router (so a new page cannot be left out). */
function getRoutes(stack: RouteLayer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      if (!layer.route.methods.get) return [];
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      return paths.map((p) => `${prefix}${p}`.replace(/\/+$/, '') || '/');
    }
    if (layer.handle?.stack) {
      const mount = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
      return getRoutes(layer.handle.stack, `${prefix}${mount}`);
    }
    return [];
  });
}

/** What the receiver's details look like on a page: the name, the mobile, or the mobile masked. */
const PERSONAL = [RECEIVER.receiver_name, RECEIVER.receiver_mobile, `${RECEIVER.receiver_mobile.slice(0, 3)}****${RECEIVER.receiver_mobile.slice(-4)}`, '上海市浦东新区'];
const showsPersonalData = (text: string) => PERSONAL.some((p) => text.includes(p));

/**
 * Issue 26, item 5: every page that shows a receiver's name, mobile (full or masked) or address
 * answers Cache-Control: no-store, so no browser or shared proxy keeps it. Every GET route the app
 * has is asked for, as the orders' shopper, as a shopper who found the order by number and mobile,
 * and as the admin, with its path parameters filled in from real orders.
 */
describe('Cache-Control: no-store on every page with personal data', () => {
  let shop: TestShop;
  let owner: Shopper;
  let finder: Shopper;
  let admin: Admin;
  const params: Record<string, string> = {};

  beforeAll(async () => {
    shop = await adminShop({ env: { SWEEP_INTERVAL_SECONDS: '0' } });
    owner = new Shopper(shop.url, shop.db.knex);
    params.outTradeNo = await owner.buy([['TEA-MLH-100', 1]]);
    // and a cash-on-delivery checkout, whose "complete" page names the receiver
    await owner.add('GEEK-CBL-01', 1);
    const cod = await owner.submitCheckout({ pay_type: 'cod' });
    params.token = decodeURIComponent(/^\/checkout\/([^/]+)\/complete$/.exec(String(cod.headers.location))?.[1] ?? '');
    const order = (await shop.db.knex('orders').orderBy('id').first('id')) as { id: number };
    params.orderId = String(order.id);
    params.outRefundNo = 'NOREFUND0000000000001';
    finder = new Shopper(shop.url, shop.db.knex);
    const form = csrfOf((await finder.agent.get('/orders/find').expect(200)).text);
    const found = await finder.agent.post('/orders/find').type('form').send({ _csrf: form, order_id: params.orderId, mobile: RECEIVER.receiver_mobile });
    expect(found.status).toBe(303);
    admin = await loggedIn(shop);
  });
  afterAll(async () => {
    await shop.close();
  });

  test('every GET route, as each kind of visitor: where the answer shows personal data, it is no-store', async () => {
    const routes = [...new Set(getRoutes((shop.app as unknown as { router: { stack: RouteLayer[] } }).router.stack))].filter((r) => !r.startsWith('/wxsim'));
    expect(routes.length).toBeGreaterThan(20);
    const personalPages: string[] = [];
    const cached: string[] = [];
    for (const route of routes) {
      const path = route.replace(/:(\w+)/g, (_, name: string) => params[name] ?? 'x');
      for (const [who, agent] of [
        ['owner', owner.agent],
        ['finder', finder.agent],
        ['admin', admin.agent],
      ] as const) {
        const res = await agent.get(path).buffer(true);
        const body = typeof res.text === 'string' ? res.text : Buffer.isBuffer(res.body) ? res.body.toString('utf8') : JSON.stringify(res.body ?? '');
        if (!showsPersonalData(body)) continue;
        personalPages.push(`${who} ${route}`);
        if (!/\bno-store\b/.test(String(res.headers['cache-control']))) cached.push(`${who} ${route} (${res.status}, Cache-Control: ${res.headers['cache-control']})`);
      }
    }
    expect(cached).toEqual([]);
    // the pages the issue names are among those seen with personal data
    expect(personalPages).toEqual(expect.arrayContaining(['owner /orders', 'finder /orders', 'owner /checkout/:token/complete', 'admin /admin/paylog/:outTradeNo']));
  });

  test('the answers of /orders/find (a miss shows the mobile typed; a find leads to /orders) are no-store', async () => {
    const stranger = request.agent(shop.url);
    const token = csrfOf((await stranger.get('/orders/find').expect(200)).text);
    const miss = await stranger.post('/orders/find').type('form').send({ _csrf: token, order_id: params.orderId, mobile: '13900000000' });
    expect(miss.status).toBe(400);
    expect(miss.text).toContain('13900000000');
    expect(miss.headers['cache-control']).toContain('no-store');
    const hit = await stranger.post('/orders/find').type('form').send({ _csrf: token, order_id: params.orderId, mobile: RECEIVER.receiver_mobile });
    expect(hit.status).toBe(303);
    const list = await stranger.get('/orders');
    expect(showsPersonalData(list.text)).toBe(true);
    expect(list.headers['cache-control']).toContain('no-store');
  });
});
