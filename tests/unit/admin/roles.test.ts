import { PERMISSIONS, ROLES, can, isRole, memberCan, refundLimitOf, type Permission, type Role } from '../../../src/admin/roles';

/**
 * Who may do what, written out here by hand from issue 25 ("owner: everything, including staff and
 * settings; operations: orders, shipping, after-sales decisions, no refunds above what the owner
 * allows; finance: payments, refunds, reconcile, exports; read-only"), so that a grant added to or
 * dropped from roles.ts by mistake fails here.
 */
const EXPECTED: Record<Role, readonly Permission[]> = {
  owner: ['view', 'export', 'payments', 'refund', 'flags', 'orders', 'reconcile', 'catalog', 'settings', 'staff', 'audit'],
  operations: ['view', 'orders', 'catalog', 'refund'],
  finance: ['view', 'export', 'payments', 'refund', 'flags', 'reconcile'],
  readonly: ['view'],
};

describe('roles: what each may do', () => {
  test('the four roles, and every permission named in the expectation', () => {
    expect([...ROLES]).toEqual(['owner', 'operations', 'finance', 'readonly']);
    expect([...PERMISSIONS].sort()).toEqual([...EXPECTED.owner].sort());
  });

  test.each(ROLES.flatMap((role) => PERMISSIONS.map((permission) => [role, permission] as const)))('%s may %s: as the table says', (role, permission) => {
    expect(can(role, permission)).toBe(EXPECTED[role].includes(permission));
  });

  test('only the owner may touch staff, settings and the audit log', () => {
    for (const permission of ['staff', 'settings', 'audit'] as const) {
      expect(ROLES.filter((role) => can(role, permission))).toEqual(['owner']);
    }
  });

  test('isRole knows the four roles and nothing else', () => {
    for (const role of ROLES) expect(isRole(role)).toBe(true);
    for (const other of ['admin', 'Owner', '', 'read-only', undefined, 1, null]) expect(isRole(other)).toBe(false);
  });
});

describe('refunds by an operations member: up to what the owner allows', () => {
  test('operations: the limit the owner set; 0 (the default) is none at all', () => {
    expect(refundLimitOf({ role: 'operations', refund_limit_fen: 5000 })).toBe(5000);
    expect(refundLimitOf({ role: 'operations', refund_limit_fen: 0 })).toBe(0);
  });

  test('owner and finance have no limit; read-only may refund nothing', () => {
    expect(refundLimitOf({ role: 'owner', refund_limit_fen: 0 })).toBeUndefined();
    expect(refundLimitOf({ role: 'finance', refund_limit_fen: 0 })).toBeUndefined();
    expect(refundLimitOf({ role: 'readonly', refund_limit_fen: 100 })).toBe(0);
  });

  test('an operations member with no refund allowance may not refund (no button, no route); with one they may', () => {
    expect(memberCan({ role: 'operations', refund_limit_fen: 0 }, 'refund')).toBe(false);
    expect(memberCan({ role: 'operations', refund_limit_fen: 1 }, 'refund')).toBe(true);
    expect(memberCan({ role: 'operations', refund_limit_fen: 0 }, 'orders')).toBe(true);
    expect(memberCan({ role: 'finance', refund_limit_fen: 0 }, 'refund')).toBe(true);
    expect(memberCan({ role: 'readonly', refund_limit_fen: 100 }, 'refund')).toBe(false);
  });
});
