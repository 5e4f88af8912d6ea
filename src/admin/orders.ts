import type { Knex } from 'knex';
import { Invalid } from '../errors';
import { ORDER_STATUSES, PAY_TYPES, type DeliveryStatus, type OrderStatus, type PayType } from '../ledger';
import { searchTerms } from './paylog-query';

/**
 * The admin's view of every order, whatever its pay type (the orders view beside the paylog). What
 * the merchant does with a cash-on-delivery order is the ledger's changeCodOrder.
 */

const PAGE_SIZE = 100;

export interface OrderFilter {
  payType?: (typeof PAY_TYPES)[number];
  status?: (typeof ORDER_STATUSES)[number];
  /** keyset: orders with a smaller id (older) */
  before?: number;
  /** the search box: an order number (`9`, `#9`: that order exactly), a receiver, a mobile number */
  q?: string;
}

export interface OrderListRow {
  id: number;
  created_at: Date;
  seller: string;
  pay_type: PayType;
  status: OrderStatus;
  total_fen: number;
  units: number;
  receiver_name: string;
  out_trade_no: string | null;
  delivery_status: DeliveryStatus;
  paid_at: Date | null;
  closed_at: Date | null;
}

export function parseOrderFilter(query: Record<string, unknown>): OrderFilter {
  const filter: OrderFilter = {};
  const { pay_type: payType, status, before, q } = query;
  if (typeof q === 'string' && q.trim() !== '') {
    const text = q.trim().replace(/\s+/g, ' ');
    if ([...text].length > 64 || !/^[\p{L}\p{N} _·()（）#＃+-]*$/u.test(text)) throw new Invalid('bad q', 'admin.error.badParam', { name: 'q' });
    filter.q = text;
  }
  if (payType !== undefined && payType !== '') {
    if (!PAY_TYPES.includes(payType as OrderFilter['payType'] & string)) throw new Invalid(`bad pay_type ${String(payType)}`, 'admin.error.badParam', { name: 'pay_type' });
    filter.payType = payType as OrderFilter['payType'];
  }
  if (status !== undefined && status !== '') {
    if (!ORDER_STATUSES.includes(status as OrderFilter['status'] & string)) throw new Invalid(`bad status ${String(status)}`, 'admin.error.badParam', { name: 'status' });
    filter.status = status as OrderFilter['status'];
  }
  if (before !== undefined && before !== '') {
    if (typeof before !== 'string' || !/^\d{1,15}$/.test(before)) throw new Invalid('bad before', 'admin.error.badParam', { name: 'before' });
    filter.before = Number(before);
  }
  return filter;
}

/** One page of orders, newest first, with their unit counts; `next` is the keyset of the next page. */
export async function listOrders(knex: Knex, filter: OrderFilter): Promise<{ rows: OrderListRow[]; next: number | undefined }> {
  const query = knex('orders')
    .select(
      'orders.id',
      'orders.created_at',
      'orders.seller',
      'orders.pay_type',
      'orders.status',
      'orders.total_fen',
      'orders.receiver_name',
      'orders.out_trade_no',
      'orders.delivery_status',
      'orders.paid_at',
      'orders.closed_at',
      knex.raw('(SELECT coalesce(sum(quantity), 0) FROM order_items WHERE order_items.order_id = orders.id)::int AS units'),
    )
    .orderBy('orders.id', 'desc')
    .limit(PAGE_SIZE + 1);
  if (filter.payType) query.where('orders.pay_type', filter.payType);
  if (filter.status) query.where('orders.status', filter.status);
  if (filter.before !== undefined) query.where('orders.id', '<', filter.before);
  for (const term of searchTerms(filter.q)) {
    if (term.exactOrder) {
      query.where('orders.id', term.orderId as number);
      continue;
    }
    query.where((w) => {
      w.where('orders.receiver_name', 'ilike', `%${term.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      if (term.orderId !== undefined) w.orWhere('orders.id', term.orderId);
      if (term.mobile !== undefined) w.orWhere('orders.receiver_mobile', 'like', `%${term.mobile}%`);
    });
  }
  const rows = (await query) as OrderListRow[];
  const more = rows.length > PAGE_SIZE;
  const page = more ? rows.slice(0, PAGE_SIZE) : rows;
  return { rows: page, next: more ? page[page.length - 1]?.id : undefined };
}
