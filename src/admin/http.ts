import type { Request, Response, Router } from 'express';
import type { Knex } from 'knex';
import { Invalid, NotFound } from '../errors';
import { loadPathParam } from '../http/path-param';
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

/**
 * Every /paylog/:outTradeNo route of `router`: the number checked and its attempt loaded once, a
 * malformed or unknown one a 404 before any handler runs. Returns the handlers' accessor.
 */
export function loadAttemptParam(router: Router, knex: Knex): (req: Request) => Paylog {
  return loadPathParam(router, 'outTradeNo', async (value) => {
    const attempt = isOutTradeNo(value) ? await readAttempt(knex, value) : undefined;
    if (!attempt) throw new NotFound(`no paylog ${value}`, 'admin.error.noPaylog');
    return attempt;
  });
}
