import type { Knex } from 'knex';
import type request from 'supertest';
import { Shopper, csrfOf } from './shopper';

/** User agents as the devices send them. */
export const USER_AGENTS = {
  desktop: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  wechat: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800322b) NetType/WIFI Language/zh_CN',
} as const;

/** A shopper on a given device: every request carries its user agent. */
export class DeviceShopper extends Shopper {
  constructor(baseUrl: string, knex: Knex, readonly userAgent: string) {
    super(baseUrl, knex);
    this.agent.set('User-Agent', userAgent);
  }

  /** A form POST on a page of the shop, with that page's CSRF token. */
  async postFrom(page: string, path: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
    const html = (await this.agent.get(page).expect(200)).text;
    let req = this.agent.post(path).type('form');
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    return req.send({ _csrf: csrfOf(html), ...fields });
  }
}

/** The location of a redirect, relative to the shop's own URL when it is on it. */
export function locationOf(res: request.Response, baseUrl: string): string {
  const location = String(res.headers.location ?? '');
  return location.startsWith(baseUrl) ? location.slice(baseUrl.length) : location;
}

/** Goes through WeChat's (the simulator's) silent web authorization the pay page sent the browser to, and back. */
export async function signInWithWechat(shopper: DeviceShopper, baseUrl: string, payPage: request.Response): Promise<{ code: string; state: string; callback: string }> {
  if (payPage.status !== 303) throw new Error(`the pay page answered ${payPage.status}, not a redirect to WeChat's web authorization`);
  const authorize = new URL(String(payPage.headers.location).replace(/#wechat_redirect$/, ''));
  const back = await shopper.agent.get(authorize.pathname + authorize.search).expect(302);
  const callback = new URL(String(back.headers.location));
  const code = callback.searchParams.get('code') ?? '';
  const state = callback.searchParams.get('state') ?? '';
  const path = callback.toString().slice(baseUrl.length);
  const done = await shopper.agent.get(path);
  if (done.status !== 303) throw new Error(`the web authorization's callback answered ${done.status}: ${done.text.slice(0, 300)}`);
  return { code, state, callback: path };
}
