/** 简体中文 for the admin pages; admin-en.ts must have exactly the same keys (a unit test checks). */
export const adminZh = {
  'admin.title': '商户后台',
} as const;
