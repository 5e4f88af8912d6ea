import request from 'supertest';
import { createTestShop, type TestShop } from '../../helpers/app';
import { csrfOf, productIdOf } from '../../helpers/shopper';

// real processes, a real database and the simulator over HTTP: on a busy shared machine this takes
// its time, and a test must not fail for being slow
jest.setTimeout(180_000);

describe('CSRF tokens survive what browsers do: tabs opened at once, and the session id changing on the first cart line', () => {
  let shop: TestShop;

  beforeAll(async () => {
    shop = await createTestShop({ env: { SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await shop.close();
  });

  test('pages opened at once in one session all carry a token that submits', async () => {
    const browser = request.agent(shop.url);
    const tea = String(await productIdOf(shop.db.knex, 'TEA-MLH-100'));
    // a session with a cart line (its id changed then), no form rendered since
    const home = csrfOf((await browser.get('/').expect(200)).text);
    await browser.post('/cart/add').type('form').send({ _csrf: home, product_id: tea, quantity: '1' }).expect(303);
    const pages = await Promise.all(['/', '/cart', '/checkout', '/cart', '/', '/checkout', '/', '/cart', '/checkout', '/'].map((path) => browser.get(path).expect(200)));
    const tokens = pages.map((p) => csrfOf(p.text));
    for (const token of tokens) {
      const res = await browser.post('/cart/update').type('form').send({ _csrf: token, product_id: tea, quantity: '2' });
      expect(res.status).toBe(303);
    }
  });

  test('a form opened in another tab before the first cart line still submits after it (same-origin), not from another site', async () => {
    const browser = request.agent(shop.url);
    const tea = String(await productIdOf(shop.db.knex, 'TEA-MLH-100'));
    const cable = String(await productIdOf(shop.db.knex, 'GEEK-CBL-01'));
    const tabOne = csrfOf((await browser.get('/').expect(200)).text);
    const tabTwo = csrfOf((await browser.get('/?lang=en').expect(200)).text);
    // tab one adds the first line: the session gets a new id
    const first = await browser.post('/cart/add').type('form').send({ _csrf: tabOne, product_id: tea, quantity: '1' });
    expect(first.status).toBe(303);
    expect(first.headers['set-cookie']).toBeDefined();
    // tab two's form, rendered with the old id, submitted by the browser from our own page
    const fromOurPage = await browser.post('/cart/add').set('Origin', shop.url).type('form').send({ _csrf: tabTwo, product_id: cable, quantity: '1' });
    expect(fromOurPage.status).toBe(303);
    const fetchMetadata = await browser.post('/cart/add').set('Sec-Fetch-Site', 'same-origin').type('form').send({ _csrf: tabTwo, product_id: cable, quantity: '1' });
    expect(fetchMetadata.status).toBe(303);
    // the same old token from another site (whoever planted the old session knows it): refused
    const crossSite = await browser.post('/cart/add').set('Origin', 'https://evil.example').set('Sec-Fetch-Site', 'cross-site').type('form').send({ _csrf: tabTwo, product_id: cable, quantity: '1' });
    expect(crossSite.status).toBe(403);
    expect((await browser.get('/cart').expect(200)).text).toContain('Cart (3)');
  });
});
