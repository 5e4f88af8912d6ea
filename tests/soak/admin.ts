import request from 'supertest';
import { csrfOf } from '../helpers/shopper';
import type { Measurements } from './measure';

/**
 * The soak's admin, in the admin's own pages over HTTP (login, the paylog table and its filters,
 * a payment's detail and its action links, each action's confirmation page, the orders page): what
 * a merchant's staff does all day, at the soak's pace.
 *  - refunds: a paid payment refunded in full or in part; every flagged payment (late, double,
 *    conflict) refunded in full, as the flag asks;
 *  - follow-up of its refunds: Retry for one WeChat refused for now (NOTENOUGH, SYSTEMERROR,
 *    FREQUENCY_LIMITED), Sync (refundquery) for one still processing;
 *  - Query WeChat (orderquery) and Close (closeorder) on unpaid payments, and Query WeChat on each
 *    payment a shopper wrote to support about ("I paid, the page says closed", "charged twice");
 *  - cash on delivery: accept, then delivered and paid; a few cancelled;
 *  - shipping: the oldest orders of the awaiting-shipment queue shipped from their order page
 *    (SF Express and a tracking number of its shape), now and then one's tracking number corrected;
 *  - the CSV export, the dashboard, and the reconciliation of yesterday's bill (downloadbill).
 */

export interface AdminContext {
  front: string;
  m: Measurements;
  running: () => boolean;
  user: string;
  password: string;
  /** payments shoppers wrote to support about ("I paid, the page says closed", "charged twice"), oldest first */
  complaints: string[];
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

interface PaylogRow {
  outTradeNo: string;
  state: string;
  flag: string | undefined;
}

/** The rows of the paylog table. */
function rowsOf(html: string): PaylogRow[] {
  return [...html.matchAll(/<tr data-out-trade-no="(\w+)">([\s\S]*?)<\/tr>/g)].map((x) => ({
    outTradeNo: x[1] as string,
    state: /class="state state-(\w+)"/.exec(x[2] as string)?.[1] ?? '',
    flag: /class="flag flag-(\w+)"/.exec(x[2] as string)?.[1],
  }));
}

export class Admin {
  readonly agent: ReturnType<typeof request.agent>;
  /** payments this admin refunded whose refunds may need a Retry or a Sync (bounded) */
  private readonly watch = new Set<string>();

  constructor(private readonly ctx: AdminContext) {
    this.agent = request.agent(ctx.front);
    this.agent.set('X-Forwarded-For', '198.19.0.10');
  }

  private get m() {
    return this.ctx.m;
  }

  private get(label: string, path: string) {
    return this.m.timed(`GET /admin${label}`, () => this.agent.get(path).timeout(60_000));
  }

  private post(label: string, path: string, fields: Record<string, string>) {
    return this.m.timed(`POST /admin${label}`, () => this.agent.post(path).timeout(60_000).set('Origin', this.ctx.front).type('form').send(fields));
  }

  /**
   * Follows an action link: its confirmation page, then Yes (the page's form, as it is), then the
   * page it leads to, whose notice says how it went (tone ok, warn or error).
   */
  private async confirmAction(label: string, path: string): Promise<{ status: number; tone: string | undefined }> {
    const page = await this.get(label, path);
    if (page.status !== 200) return { status: page.status, tone: undefined };
    const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(page.text);
    if (!form) return { status: 0, tone: undefined };
    const fields = Object.fromEntries([...(form[2] as string).matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((x) => [x[1] as string, (x[2] as string).replace(/&amp;/g, '&')]));
    const res = await this.post(label, (form[1] as string).replace(/&amp;/g, '&'), fields);
    const location = res.status === 303 ? String(res.headers.location ?? '') : '';
    if (!location.startsWith('/admin')) return { status: res.status, tone: undefined };
    const after = await this.get(label.startsWith('/orders') ? '/orders?pay_type=cod' : '/paylog/:outTradeNo', location);
    const tone = /class="admin-notice tone-(\w+)"/.exec(after.text)?.[1];
    if (tone) this.m.count(`admin notices: ${tone}`);
    return { status: res.status, tone };
  }

  async login(): Promise<void> {
    const form = await this.agent.get('/admin/login');
    const res = await this.agent.post('/admin/login').set('Origin', this.ctx.front).type('form').send({ _csrf: csrfOf(form.text), username: this.ctx.user, password: this.ctx.password });
    if (res.status !== 303) throw new Error(`admin login answered ${res.status}`);
  }

  /** The admin's day: a round of work, a pause, again, while the load lasts. */
  async run(): Promise<void> {
    await this.login();
    let round = 0;
    while (this.ctx.running()) {
      round += 1;
      try {
        const list = await this.get('/paylog', '/admin/paylog');
        const rows = rowsOf(list.text);
        if (round % 10 === 0) await this.get('/paylog.csv', '/admin/paylog.csv');
        if (round % 10 === 5) await this.get('', '/admin');
        if (round % 15 === 7) await this.reconcile();
        const paid = rows.filter((r) => (r.state === 'SUCCESS' || r.state === 'REFUND') && !r.flag);
        // a refund every round: six fault kinds wait for a refund (refund_change, _close, _slow,
        // _notenough, _unknown_error, systemerror/refund), and a 60-second run must meet them all
        if (paid.length > 0) await this.refund(pick(paid).outTradeNo, Math.random() < 0.5 ? 'full' : 'part');
        await this.answerComplaints(3);
        if (round % 3 === 0) await this.refundFlagged();
        if (round % 2 === 0) await this.followUp();
        if (round % 2 === 1) await this.cashOnDelivery();
        await this.ship(3);
        const unpaid = rows.filter((r) => r.state === 'NOTPAY');
        if (unpaid.length > 0 && round % 4 === 1) await this.query(pick(unpaid).outTradeNo);
        // an old unpaid one (the table lists the newest first): closed by hand
        if (unpaid.length > 0 && round % 8 === 3) await this.close((unpaid.at(-1) as PaylogRow).outTradeNo);
      } catch (err) {
        this.m.count(`admin errors: ${(err as Error).message.slice(0, 80)}`);
      }
      await pause(300 + Math.random() * 400);
    }
  }

  /**
   * The awaiting-shipment queue (oldest first): up to `most` orders shipped from their order page's
   * form; one in ten shipped orders has its tracking number corrected afterwards.
   */
  private async ship(most: number): Promise<void> {
    const queue = await this.get('/shipping', '/admin/shipping');
    const ids = [...new Set([...queue.text.matchAll(/href="\/admin\/orders\/(\d+)#ship"/g)].map((x) => x[1] as string))].slice(0, most);
    for (const id of ids) {
      const page = await this.get('/orders/:orderId', `/admin/orders/${id}`);
      if (!page.text.includes(`action="/admin/orders/${id}/ship"`)) continue;
      const tracking = `SF${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
      const shipped = await this.post('/orders/:orderId/ship', `/admin/orders/${id}/ship`, { _csrf: csrfOf(page.text), courier: 'sf', courier_name: '', tracking_no: tracking });
      if (shipped.status !== 303) continue;
      const after = await this.get('/orders/:orderId', `/admin/orders/${id}`);
      const tone = /class="admin-notice tone-(\w+)"/.exec(after.text)?.[1];
      this.m.count(tone === 'ok' ? 'orders shipped' : `ship answered ${tone ?? 'no notice'}`);
      if (tone === 'ok' && Math.random() < 0.1 && after.text.includes(`action="/admin/orders/${id}/tracking"`)) {
        const corrected = await this.post('/orders/:orderId/tracking', `/admin/orders/${id}/tracking`, { _csrf: csrfOf(after.text), courier: 'sf', courier_name: '', tracking_no: `${tracking.slice(0, -1)}${(Number(tracking.at(-1)) + 1) % 10}` });
        if (corrected.status === 303) this.m.count('tracking numbers corrected');
      }
    }
  }

  /** Refund form (amount prefilled with what is left), the confirmation, Yes. */
  async refund(outTradeNo: string, how: 'full' | 'part' | 'flagged'): Promise<void> {
    const detail = await this.get('/paylog/:outTradeNo', `/admin/paylog/${outTradeNo}`);
    if (!detail.text.includes(`/admin/paylog/${outTradeNo}/refund"`)) return;
    const form = await this.get('/paylog/:outTradeNo/refund', `/admin/paylog/${outTradeNo}/refund`);
    const outRefundNo = /name="out_refund_no" value="([^"]+)"/.exec(form.text)?.[1];
    const left = /name="amount"[^>]*value="([\d.]+)"/.exec(form.text)?.[1];
    if (form.status !== 200 || !outRefundNo || !left) return;
    const leftFen = Math.round(Number(left) * 100);
    const fen = how === 'part' ? Math.max(1, Math.floor(leftFen * (0.2 + Math.random() * 0.5))) : leftFen;
    // a refund names its order: the one the form offers first (the first with money left)
    const orderId = /name="order_id" value="(\d+)" checked/.exec(form.text)?.[1];
    const fields = { _csrf: csrfOf(form.text), out_refund_no: outRefundNo, amount: (fen / 100).toFixed(2), reason: how === 'flagged' ? 'paid twice or late: refunded' : 'soak', ...(orderId ? { order_id: orderId } : {}) };
    const asked = await this.post('/paylog/:outTradeNo/refund', `/admin/paylog/${outTradeNo}/refund`, fields);
    if (asked.status !== 200) return;
    const yes = await this.post('/paylog/:outTradeNo/refund, confirmed', `/admin/paylog/${outTradeNo}/refund`, { ...fields, _csrf: csrfOf(asked.text), confirm: 'yes' });
    if (yes.status === 303) {
      this.m.count(how === 'part' ? 'partial refunds asked' : how === 'full' ? 'full refunds asked' : 'flagged payments refunded');
      this.m.count('refunds asked');
      this.watch.add(outTradeNo);
      if (this.watch.size > 200) this.watch.delete(this.watch.values().next().value as string);
    }
  }

  /** Every flagged payment not handled yet: refunded in full (what the flag is for), then marked handled with a note. */
  private async refundFlagged(): Promise<void> {
    const list = await this.get('/paylog?flag=open', '/admin/paylog?flag=open');
    for (const row of rowsOf(list.text).filter((r) => r.state === 'SUCCESS' || r.state === 'REFUND').slice(0, 3)) {
      await this.refund(row.outTradeNo, 'flagged');
      const detail = await this.get('/paylog/:outTradeNo', `/admin/paylog/${row.outTradeNo}`);
      if (!detail.text.includes('id="flag-note"')) continue;
      const handled = await this.post('/paylog/:outTradeNo/flag', `/admin/paylog/${row.outTradeNo}/flag`, { _csrf: csrfOf(detail.text), note: 'refunded by the soak' });
      if (handled.status === 303) this.m.count('flags marked handled');
    }
  }

  /** A refunded payment's detail: Retry a refund WeChat refused for now, Sync one still processing. */
  private async followUp(): Promise<void> {
    const outTradeNo = [...this.watch][Math.floor(Math.random() * this.watch.size)];
    if (!outTradeNo) return;
    const detail = await this.get('/paylog/:outTradeNo', `/admin/paylog/${outTradeNo}`);
    const links = [...detail.text.matchAll(/href="(\/admin\/paylog\/\w+\/refunds\/\w+\/(retry|sync))"/g)];
    if (links.length === 0) {
      this.watch.delete(outTradeNo);
      return;
    }
    for (const [, path, action] of links) {
      const { status } = await this.confirmAction(`/paylog/:outTradeNo/refunds/:outRefundNo/${action as string}`, path as string);
      if (status === 303) this.m.count(action === 'retry' ? 'refunds retried' : 'refunds synced with WeChat (refundquery)');
    }
  }

  /** Every PENDING refund retried (after the load, so that WeChat's temporary refusals end). */
  async retryPending(outTradeNos: string[]): Promise<void> {
    for (const outTradeNo of outTradeNos) {
      const detail = await this.get('/paylog/:outTradeNo', `/admin/paylog/${outTradeNo}`);
      for (const [, path] of detail.text.matchAll(/href="(\/admin\/paylog\/\w+\/refunds\/\w+\/retry)"/g)) {
        await this.confirmAction('/paylog/:outTradeNo/refunds/:outRefundNo/retry', path as string);
      }
    }
  }

  /**
   * The support inbox: each payment written about is queried at WeChat (which settles a payment the
   * shop missed); when WeChat could not be asked (the notice says so), it stays in the inbox.
   */
  async answerComplaints(max = Infinity): Promise<void> {
    for (const outTradeNo of this.ctx.complaints.splice(0, max)) {
      const tone = await this.query(outTradeNo, 'a complaint');
      if (tone === 'error' || tone === undefined) this.ctx.complaints.push(outTradeNo);
    }
  }

  private async query(outTradeNo: string, why = 'unpaid'): Promise<string | undefined> {
    const { status, tone } = await this.confirmAction('/paylog/:outTradeNo/query', `/admin/paylog/${outTradeNo}/query`);
    if (status === 303) this.m.count(`payments queried at WeChat by the admin (${why})`);
    return tone;
  }

  private async close(outTradeNo: string): Promise<void> {
    const detail = await this.get('/paylog/:outTradeNo', `/admin/paylog/${outTradeNo}`);
    if (!detail.text.includes(`/admin/paylog/${outTradeNo}/close"`)) return;
    const { status } = await this.confirmAction('/paylog/:outTradeNo/close', `/admin/paylog/${outTradeNo}/close`);
    if (status === 303) this.m.count('payments closed by the admin');
  }

  /** Cash-on-delivery orders waiting: accepted, delivered and paid; one in ten cancelled. */
  private async cashOnDelivery(): Promise<void> {
    const page = await this.get('/orders?pay_type=cod', '/admin/orders?pay_type=cod&status=unpaid');
    const actions = [...page.text.matchAll(/href="\/admin\/orders\/(\d+)\/(accept|paid|cancel)"/g)].map((x) => ({ id: x[1] as string, action: x[2] as string }));
    const ids = [...new Set(actions.map((a) => a.id))].slice(0, 4);
    for (const id of ids) {
      const offered = new Set(actions.filter((a) => a.id === id).map((a) => a.action));
      const action = offered.has('cancel') && Math.random() < 0.1 ? 'cancel' : offered.has('accept') ? 'accept' : offered.has('paid') ? 'paid' : undefined;
      if (!action) continue;
      const { status } = await this.confirmAction(`/orders/:orderId/${action}`, `/admin/orders/${id}/${action}`);
      if (status === 303) this.m.count(`cash on delivery: ${action}`);
    }
  }

  /** Yesterday's reconciliation (the page's default date); when WeChat failed it, Run again, up to twice more. */
  private async reconcile(): Promise<void> {
    const page = await this.get('/reconcile', '/admin/reconcile');
    const date = /name="date"[^>]*value="([\d-]+)"/.exec(page.text)?.[1];
    if (!date) return;
    for (let run = 1; run <= 3; run += 1) {
      const res = await this.get('/reconcile?date=:date', `/admin/reconcile?date=${date}`);
      const kind = /id="reconcile-result" data-kind="(\w+)"/.exec(res.text)?.[1] ?? String(res.status);
      this.m.count(`reconciliations: ${kind}${run > 1 ? ' (run again)' : ''}`);
      if (kind !== 'failed') return;
    }
  }
}
