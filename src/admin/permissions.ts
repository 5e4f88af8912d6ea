import type { RequestHandler, Response } from 'express';
import { Forbidden } from '../errors';
import { memberCan, type Permission, type Role } from './roles';
import type { Member } from './staff';

/**
 * Every admin route names what it needs, as its first handler: `need('refund')`, or `signedIn`
 * for what every member may do (their own account). tests/integration/admin/roles.test.ts walks the
 * admin router and fails on a route without a guard, then asks every route as every role.
 */

export type Guard = RequestHandler & { permission: Permission | 'signed_in' };

/** The signed-in member's role (requireAdmin put it there). */
export function roleOf(res: Response): Role {
  return res.locals.adminRole as Role;
}

export function need(permission: Permission): Guard {
  const guard: RequestHandler = (req, res, next) => {
    // what the action is on, for its audit row even when refused (Express forgets a route's params once its error leaves it)
    res.locals.routeParams = { ...req.params };
    const member = res.locals.adminMember as Member | undefined;
    if (member && memberCan(member, permission)) return next();
    next(new Forbidden(`${roleOf(res)} may not ${permission}`, 'admin.error.forbidden'));
  };
  return Object.assign(guard, { permission });
}

export const signedIn: Guard = Object.assign(((_req, _res, next) => next()) as RequestHandler, { permission: 'signed_in' as const });
