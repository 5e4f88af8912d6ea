import type { Browser, Page } from 'playwright-core';
import { expectAccessible } from './axe';
import { seeText, type Locale } from './journey';

/**
 * The team half of issue 25 in real Chromium: the owner invites an operations member, who logs in
 * with the password shown once, must change it, ships the paid order from its page, sees no refund
 * button on its payment, and whose forged refund POST (a valid CSRF token, confirm=yes) answers 403
 * and refunds nothing; the owner reads the shipment in the audit log. axe-core on the staff,
 * account and audit pages and on the 403 page.
 */

const TEXTS = {
  zh: { shipped: '已发货', forbidden: '您的角色不能进行这项操作。' },
  en: { shipped: 'Shipped', forbidden: 'Your role may not do this.' },
} as const;

export async function operationsShipsButCannotRefund(options: { browser: Browser; baseUrl: string; locale: Locale; owner: Page; outTradeNo: string; orderId: number; shot: (page: Page, name: string) => Promise<void> }): Promise<void> {
  const { browser, baseUrl: base, locale, owner, outTradeNo, orderId } = options;
  const t = TEXTS[locale];
  const username = `ops.${locale}${String(Date.now()).slice(-6)}`;

  // the owner invites: the first password is on this answer only
  await owner.goto(`${base}/admin/staff?lang=${locale}`);
  await expectAccessible(owner, 'the staff page');
  await owner.locator('#invite-username').fill(username);
  await owner.locator('#invite-role').selectOption('operations');
  await owner.locator('form.staff-invite button[type="submit"]').click();
  await owner.locator('#invited').waitFor();
  const firstPassword = (await owner.locator('#invited .one-time-password').innerText()).trim();
  expect(firstPassword.length).toBeGreaterThanOrEqual(16);
  expect(await owner.locator(`tr[data-username="${username}"]`).getAttribute('data-role')).toBe('operations');
  await expectAccessible(owner, 'the staff page with an invitation');
  await options.shot(owner, `${locale}-team-01-staff-invited`);

  const context = await browser.newContext();
  try {
    const ops = await context.newPage();
    await ops.goto(`${base}/admin/login?lang=${locale}`);
    await ops.locator('input[name="username"]').fill(username);
    await ops.locator('input[name="password"]').fill(firstPassword);
    await ops.locator('form button[type="submit"]').click();
    // a password someone else chose: changed first
    await ops.waitForURL(`${base}/admin/account`);
    await ops.locator('#must-change').waitFor();
    await expectAccessible(ops, 'the account page');
    const ownPassword = `ops-own-${String(Date.now()).slice(-8)}`;
    await ops.locator('#current-password').fill(firstPassword);
    await ops.locator('#new-password').fill(ownPassword);
    await ops.locator('#new-password-again').fill(ownPassword);
    await ops.locator('form[action="/admin/account/password"] button[type="submit"]').click();
    await ops.waitForURL(`${base}/admin/account`);
    expect(await ops.locator('#must-change').count()).toBe(0);
    expect(await ops.locator('#account-error').count()).toBe(0);
    // no staff, settings or audit in an operations member's menu
    for (const href of ['/admin/staff', '/admin/settings', '/admin/audit']) expect(await ops.locator(`header a[href="${href}"]`).count()).toBe(0);

    // ships the order from its page
    await ops.goto(`${base}/admin/orders/${orderId}`);
    await ops.locator('#ship-form-courier').selectOption('sf');
    await ops.locator('#ship-form-tracking').fill(`SF${String(Date.now()).slice(-9)}0001`);
    const [shipped] = await Promise.all([
      ops.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/admin/orders/${orderId}/ship`)),
      ops.locator('#ship-form button[type="submit"]').click(),
    ]);
    expect([shipped.status(), shipped.status() === 303 ? '' : await shipped.text()]).toEqual([303, '']);
    await ops.waitForLoadState('load');
    await seeText(ops.locator('#delivery-status'), t.shipped, `order ${orderId} shipped by operations`);
    await options.shot(ops, `${locale}-team-02-operations-shipped`);

    // but cannot refund: no button on the payment, the form refused, a forged POST refused
    await ops.goto(`${base}/admin/paylog/${outTradeNo}`);
    expect(await ops.locator('#trade-state').getAttribute('data-state')).toBe('SUCCESS');
    expect(await ops.locator(`a[href$="/refund"]`).count()).toBe(0);
    const csrf = (await ops.locator('input[name="_csrf"]').first().getAttribute('value')) as string;
    const form = await ops.goto(`${base}/admin/paylog/${outTradeNo}/refund`);
    expect(form?.status()).toBe(403);
    await seeText(ops.locator('main .error-message'), t.forbidden, 'the refusal of the refund form');
    await expectAccessible(ops, 'the 403 page');
    const forged = await ops.request.post(`${base}/admin/paylog/${outTradeNo}/refund`, {
      form: { _csrf: csrf, out_refund_no: `R${String(Date.now()).padStart(26, '0')}`, amount: '0.01', reason: '', order_id: String(orderId), confirm: 'yes' },
      headers: { Accept: 'text/html' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain(t.forbidden);

    // nothing was refunded; the owner sees who shipped in the audit log
    await owner.goto(`${base}/admin/paylog/${outTradeNo}`);
    expect(await owner.locator('#refunded-fee').getAttribute('data-fen')).toBe('0');
    expect(await owner.locator(`a[href$="/refund"]`).count()).toBe(1);
    await owner.goto(`${base}/admin/audit?actor=${encodeURIComponent(username)}`);
    await expectAccessible(owner, 'the audit log');
    const rows = owner.locator('tr[data-audit-id]');
    const lines = (await rows.allInnerTexts()).join('\n');
    expect(lines).toContain('POST /orders/:orderId/ship');
    expect(lines).toMatch(/POST \/paylog\/:outTradeNo\/refund\s+outTradeNo=\S+\s+403/);
    await options.shot(owner, `${locale}-team-03-audit`);
  } finally {
    await context.close();
  }
}
