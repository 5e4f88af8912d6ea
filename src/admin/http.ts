import type { Request, Response, Router } from 'express';
import type { Knex } from 'knex';
import { Invalid, NotFound } from '../errors';
import { isOutTradeNo, readAttempt, type Paylog } from '../ledger';

/** What every admin route file parses the same way. */

/** Refuses any query parameter not named (a typo must not silently show the wrong data). */
export function onlyParams(req: Request, allowed: readonly string[]): void {
  for (const [name, value] of Object.entries(req.query)) {
    if (!allowed.includes(name) && name !== 'lang') throw new Invalid(`unexpected query parameter ${name}`, 'admin.error.badParam', { name });
    if (typeof value !== 'string') throw new Invalid(`repeated query parameter ${name}`, 'admin.error.badParam', { name });
  }
}

export function formText(req: Request, name: string, max: number): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return '';
  if (typeof value !== 'string' || value.length > max) throw new Invalid(`bad form field ${name}`, 'admin.error.badField', { name });
  return value;
}

/** The confirmation page's "yes" (every action is a GET confirmation, then a POST with confirm=yes). */
export function confirmed(req: Request): boolean {
  return (req.body as Record<string, unknown> | undefined)?.confirm === 'yes';
}

export function detailUrl(outTradeNo: string): string {
  return `/admin/paylog/${encodeURIComponent(outTradeNo)}`;
}

export const operatorOf = (req: Request) => `admin:${req.session.adminUser ?? '?'}`;

export interface ConfirmPage {
  title: string;
  text: string;
  textParams?: Record<string, string | number>;
  action: string;
  back: string;
  fields?: Record<string, string>;
  danger?: boolean;
  nav?: string;
}

export function confirmPage(res: Response, data: ConfirmPage): void {
  res.render('admin/confirm', { nav: 'paylog', textParams: {}, fields: {}, danger: false, ...data });
}

const attempts = new WeakMap<Request, Paylog>();

/**
 * Every /paylog/:outTradeNo route of `router`: the number checked and its attempt loaded once
 * (Express's router.param), a malformed or unknown one a 404 before any handler runs.
 */
export function loadAttemptParam(router: Router, knex: Knex): void {
  router.param('outTradeNo', async (req, _res, next, value: string) => {
    const attempt = isOutTradeNo(value) ? await readAttempt(knex, value) : undefined;
    if (!attempt) throw new NotFound(`no paylog ${value}`, 'admin.error.noPaylog');
    attempts.set(req, attempt);
    next();
  });
}

/** The attempt loadAttemptParam loaded for this request. */
export function attemptOf(req: Request): Paylog {
  const attempt = attempts.get(req);
  if (!attempt) throw new Error('admin route without its :outTradeNo parameter');
  return attempt;
}
