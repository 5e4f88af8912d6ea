/**
 * Who on the team may do what, decided once (pure, table-tested in tests/unit/admin/roles.test.ts).
 * Every admin route names the permission it needs (src/admin/permissions.ts); the pages show only
 * what the viewer's role may do.
 */

export const ROLES = ['owner', 'operations', 'finance', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  /** the dashboard, the payments and orders as lists and details */
  'view',
  /** CSV exports of payments and orders */
  'export',
  /** ask WeChat about a payment, close an unpaid one */
  'payments',
  /** refund (operations: up to the amount the owner allows them) */
  'refund',
  /** mark a flagged payment or refund handled */
  'flags',
  /** settle orders by hand: cash on delivery, shipping, after-sales decisions */
  'orders',
  /** a day's reconciliation against WeChat's bill */
  'reconcile',
  /** products, stock and images */
  'catalog',
  /** the shop's settings and the simulator's faults */
  'settings',
  /** staff: invite, change roles, remove */
  'staff',
  /** the audit log */
  'audit',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Readonly<Record<Role, readonly Permission[]>> = {
  owner: PERMISSIONS,
  operations: ['view', 'orders', 'catalog', 'refund'],
  finance: ['view', 'export', 'payments', 'refund', 'flags', 'reconcile'],
  readonly: ['view'],
};

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/**
 * What this member may do: their role's grants, less refunds for an operations member the owner
 * has allowed none (a limit of 0), so that no refund button is shown and no refund route answers.
 */
export function memberCan(member: { role: Role; refund_limit_fen: number }, permission: Permission): boolean {
  if (!can(member.role, permission)) return false;
  return permission !== 'refund' || refundLimitOf(member) !== 0;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * The most one refund by this member may be, in fen: unlimited (undefined) but for operations,
 * whose limit the owner sets (0 by default: none until the owner allows it).
 */
export function refundLimitOf(member: { role: Role; refund_limit_fen: number }): number | undefined {
  if (!can(member.role, 'refund')) return 0;
  return member.role === 'operations' ? member.refund_limit_fen : undefined;
}
