import type { Request } from 'express';
import type { CodOutcome, MarkPaidOutcome, SettleRefundOutcome } from '../ledger';
import { fenToYuanString, formatFen } from '../money';
import type { Translate } from '../i18n';
import type { CloseTradeOutcome } from '../pay/service';
import type { SendRefundOutcome, SyncRefundOutcome } from '../refunds/service';
import type { CloseOutcome, QueryOutcome } from './actions';
import type { AdminNotice } from './auth';

/**
 * What the admin is told after an action, in their language: one sentence per outcome, its tone,
 * and WeChat's answer field by field. Records over every outcome, so a new outcome of the ledger
 * fails to compile here until it has its sentence.
 */

/** The notice of the previous request (POST -> redirect -> GET), once. */
export function takeNotice(req: Request): AdminNotice | undefined {
  const notice = req.session.adminNotice;
  if (notice) delete req.session.adminNotice;
  return notice;
}

const QUERY_NOTICES: Record<MarkPaidOutcome | 'none', AdminNotice['tone']> = {
  none: 'ok',
  paid: 'ok',
  duplicate: 'ok',
  late_payment: 'warn',
  double_payment: 'warn',
  conflict: 'warn',
  amount_mismatch: 'warn',
  unknown_trade: 'error',
};

const CLOSE_NOTICES: Record<CloseTradeOutcome, AdminNotice['tone']> = {
  closed: 'ok',
  already_closed: 'ok',
  paid: 'warn',
  too_early: 'warn',
  paying: 'warn',
  unknown_trade: 'error',
};

const SYNC_NOTICES: Record<SettleRefundOutcome, AdminNotice['tone']> = {
  refunded: 'ok',
  fully_refunded: 'ok',
  closed: 'ok',
  duplicate: 'ok',
  changed: 'warn',
  conflict: 'warn',
  mismatch: 'warn',
  unknown_refund: 'error',
};

const COD_NOTICES: Record<CodOutcome, AdminNotice['tone']> = {
  done: 'ok',
  already: 'ok',
  unknown_order: 'error',
  not_cod: 'error',
  not_open: 'warn',
};

const TRADE_STATE_WORDS = new Set(['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR']);

/** WeChat's trade_state in the admin's words, its code beside them; a state we do not know as it came. */
function tradeStateText(state: string, t: Translate): string {
  return TRADE_STATE_WORDS.has(state) ? t('admin.wxstate', { text: t(`admin.remark.tradeState.${state}`), code: state }) : state;
}

/** time_end is Beijing time written yyyyMMddHHmmss */
function wxTimeText(timeEnd: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(timeEnd);
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}` : timeEnd;
}

/** What WeChat answered, in the admin's language (the field names stay beside their labels). */
export function queryNotice(outcome: QueryOutcome, t: Translate): AdminNotice {
  if (outcome.kind === 'not_at_wechat') return { tone: 'warn', key: 'admin.notice.query.notAtWechat' };
  if (outcome.kind === 'failed') return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  const a = outcome.answer;
  const field = (name: string) => `${t(`admin.wxfield.${name}`)} (${name})`;
  const details: [string, string][] = [[field('trade_state'), tradeStateText(a.tradeState, t)]];
  if (a.tradeStateDesc) details.push([field('trade_state_desc'), a.tradeStateDesc]);
  if (a.transactionId) details.push([field('transaction_id'), a.transactionId]);
  if (a.totalFee !== undefined) details.push([field('total_fee'), formatFen(a.totalFee)]);
  if (a.timeEnd) details.push([field('time_end'), wxTimeText(a.timeEnd)]);
  const settled = outcome.settled ?? 'none';
  return { tone: QUERY_NOTICES[settled], key: `admin.notice.query.${settled}`, params: { state: settled === 'none' ? tradeStateText(a.tradeState, t) : a.tradeState }, details };
}

export function closeNotice(outcome: CloseOutcome): AdminNotice {
  if (outcome.kind === 'failed') return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  return { tone: CLOSE_NOTICES[outcome.outcome], key: `admin.notice.close.${outcome.outcome}` };
}

const REFUSAL_KEYS: Record<string, string> = {
  FREQUENCY_LIMITED: 'refund.notice.frequencyLimited',
  INVALID_REQ_TOO_MUCH: 'refund.notice.frequencyLimited',
  NOTENOUGH: 'refund.notice.notEnough',
  SYSTEMERROR: 'refund.notice.systemError',
  BIZERR_NEED_RETRY: 'refund.notice.systemError',
};

export function refundNotice(outcome: SendRefundOutcome, refundFee: number): AdminNotice {
  const amount = fenToYuanString(refundFee);
  switch (outcome.kind) {
    case 'accepted':
      return { tone: 'ok', key: outcome.status === 'SUCCESS' ? 'refund.notice.succeeded' : 'refund.notice.accepted', params: { amount } };
    case 'not_pending':
      return { tone: 'ok', key: 'refund.notice.notPending', params: { status: outcome.status } };
    case 'unknown':
      return { tone: 'error', key: 'refund.notice.unknown', params: { message: outcome.message } };
    case 'refused':
      return { tone: 'error', key: REFUSAL_KEYS[outcome.errCode] ?? 'refund.notice.refused', params: { code: outcome.errCode, message: outcome.message } };
  }
}

export function syncNotice(outcome: SyncRefundOutcome): AdminNotice {
  switch (outcome.kind) {
    case 'settled':
      return { tone: SYNC_NOTICES[outcome.outcome], key: `refund.notice.sync.${outcome.outcome}`, params: { status: outcome.status } };
    case 'processing':
      return { tone: 'ok', key: 'refund.notice.sync.processing', params: { status: outcome.status } };
    case 'not_at_wechat':
      return { tone: 'warn', key: 'refund.notice.sync.notAtWechat' };
    case 'failed':
      return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  }
}

export function codNotice(outcome: CodOutcome, orderId: number): AdminNotice {
  return { tone: COD_NOTICES[outcome], key: `admin.orders.notice.${outcome}`, params: { id: orderId } };
}
