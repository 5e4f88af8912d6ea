import { adminPathOf, isAlertType, type AlertOrder, type AlertType } from '../ledger';
import { translator, type Locale } from '../i18n';
import { formatFen } from '../money';
import { courierText } from '../shipping/couriers-i18n';

/**
 * An outbox event as people read it in a group robot: a title and a few lines in the shop's
 * language (ALERT_LOCALE), with the amount, the orders and a link to the admin page. Each channel
 * lays these out the way its robot expects (wecom.ts, dingtalk.ts, feishu.ts).
 */

export interface OutboxEvent {
  /** outbox.id: the order of events */
  id: number;
  /** the public id receivers deduplicate by (stable across retries) */
  eventId: string;
  type: AlertType;
  data: Record<string, unknown>;
  createdAt: Date;
}

export interface AlertMessage {
  title: string;
  lines: string[];
  link: { text: string; url: string };
}

export function renderAlert(event: OutboxEvent, locale: Locale, shopName: string, baseUrl: string): AlertMessage {
  const t = translator(locale);
  const d = event.data;
  const orders = Array.isArray(d.orders) ? (d.orders as AlertOrder[]) : [];
  const amount = formatFen(Number(d.amount_fen ?? 0));
  const orderList = orders.map((o) => t('alert.orderLine', { id: o.id, amount: formatFen(o.amount_fen) })).join(t('alert.listSeparator'));
  const lines: string[] = [];
  let title: string;
  switch (isAlertType(event.type) ? event.type : 'order.paid') {
    case 'order.paid':
      title = t(d.late === true ? 'alert.order.paid.late' : 'alert.order.paid', { amount });
      lines.push(t(d.pay_type === 'cod' ? 'alert.payType.cod' : 'alert.payType.wxpay'));
      if (typeof d.out_trade_no === 'string') lines.push(t('alert.payment', { outTradeNo: d.out_trade_no }));
      break;
    case 'payment.needs_attention':
      title = t('alert.needsAttention', { amount });
      lines.push(t(`alert.reason.${String(d.reason)}`));
      lines.push(t('alert.payment', { outTradeNo: String(d.out_trade_no) }));
      if (typeof d.out_refund_no === 'string') lines.push(t('alert.refund', { outRefundNo: d.out_refund_no }));
      break;
    case 'order.shipped':
      title = t('alert.order.shipped', { amount });
      lines.push(t('alert.parcel', { courier: courierText(String(d.courier), d.courier_name, t), trackingNo: String(d.tracking_no) }));
      break;
    case 'order.completed':
      title = t('alert.order.completed', { amount });
      lines.push(t(`alert.completedBy.${String(d.by)}`));
      break;
    case 'reconcile.mismatch':
      title = t('alert.reconcile', { date: String(d.date), count: Number(d.differences ?? 0) });
      break;
    case 'aftersale.requested':
      title = t('alert.aftersale.requested', { amount, id: Number(d.aftersale_id), kind: t(`aftersale.kind.${String(d.kind)}`) });
      break;
    case 'aftersale.decided':
      title = t(`alert.aftersale.${String(d.decision)}`, { amount, id: Number(d.aftersale_id), kind: t(`aftersale.kind.${String(d.kind)}`) });
      lines.push(t(`alert.aftersale.by.${String(d.by)}`));
      break;
  }
  if (orderList) lines.unshift(t('alert.orders', { orders: orderList }));
  lines.push(t('alert.shop', { shop: shopName }));
  return { title, lines, link: { text: t('alert.link'), url: `${baseUrl.replace(/\/+$/, '')}${adminPathOf(event.type, d)}` } };
}
