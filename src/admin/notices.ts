import type { Request } from 'express';
import type { CodOutcome, MarkPaidOutcome, ResolveFlagDecision, SettleRefundOutcome } from '../ledger';
import { fenToYuanString, formatFen } from '../money';
import { formatDateTime, type Translate } from '../i18n';
import type { RefundHold } from '../payments';
import type { CloseTradeOutcome } from '../pay/attempts';
import type { AbandonOutcome, SendRefundOutcome, SyncRefundOutcome } from '../refunds/service';
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
  amount_mismatch: 'warn',
  unknown_trade: 'error',
};

const SYNC_NOTICES: Record<SettleRefundOutcome, AdminNotice['tone']> = {
  refunded: 'ok',
  fully_refunded: 'ok',
  succeeded_after_close: 'warn',
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

/** The fact the shop acts on in the admin's words, the provider's own word for the state beside them. */
function stateText(fact: QueryFact, state: string, t: Translate): string {
  return t('admin.wxstate', { text: t(`admin.fact.${fact}`), code: state });
}

type QueryFact = Extract<QueryOutcome, { kind: 'answered' }>['fact'];

/** What WeChat answered, in the admin's language. */
export function queryNotice(outcome: QueryOutcome, t: Translate): AdminNotice {
  if (outcome.kind === 'not_at_wechat') return { tone: 'warn', key: 'admin.notice.query.notAtWechat' };
  if (outcome.kind === 'failed') return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  const said = outcome.said;
  const details: [string, string][] = [[t('admin.said.state'), stateText(outcome.fact, said.state, t)]];
  if (said.description) details.push([t('admin.said.description'), said.description]);
  if (said.transactionId) details.push([t('admin.said.transactionId'), said.transactionId]);
  if (said.amountFen !== undefined) details.push([t('admin.said.amount'), formatFen(said.amountFen)]);
  if (said.paidAt) details.push([t('admin.said.paidAt'), formatDateTime(said.paidAt, true)]);
  const settled = outcome.settled ?? 'none';
  return { tone: QUERY_NOTICES[settled], key: `admin.notice.query.${settled}`, params: { state: settled === 'none' ? stateText(outcome.fact, said.state, t) : said.state }, details };
}

export function closeNotice(outcome: CloseOutcome): AdminNotice {
  if (outcome.kind === 'failed') return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
  return { tone: CLOSE_NOTICES[outcome.outcome], key: `admin.notice.close.${outcome.outcome}` };
}

/** Why a refund waits, as the admin is told what to do about it. */
const HOLD_KEYS: Record<RefundHold, string> = {
  balance: 'refund.notice.notEnough',
  frequency: 'refund.notice.frequencyLimited',
  provider_error: 'refund.notice.systemError',
  no_answer: 'refund.notice.unknown',
  unrecognised: 'refund.notice.unknown',
};

export function refundNotice(outcome: SendRefundOutcome, refundFee: number, t: Translate): AdminNotice {
  const amount = fenToYuanString(refundFee);
  switch (outcome.kind) {
    case 'accepted':
      return { tone: 'ok', key: outcome.status === 'SUCCESS' ? 'refund.notice.succeeded' : 'refund.notice.accepted', params: { amount } };
    case 'not_pending':
      return { tone: 'ok', key: 'refund.notice.notPending', params: { status: outcome.status } };
    case 'unknown':
      return { tone: 'error', key: HOLD_KEYS[outcome.hold], params: { message: outcome.message } };
    case 'asked': {
      // an answer nobody could place: the refund waits, and what WeChat said when asked right after
      const sync = syncNotice(outcome.sync);
      return { tone: sync.tone === 'ok' ? 'warn' : sync.tone, key: 'refund.notice.asked', params: { message: outcome.message }, details: [[t('refund.notice.askedNow'), t(sync.key, sync.params)]] };
    }
    case 'refused':
      return { tone: 'error', key: 'refund.notice.refused', params: { message: outcome.message } };
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

const FLAG_NOTICES: Record<ResolveFlagDecision, AdminNotice['tone']> = {
  resolve: 'ok',
  already_resolved: 'ok',
  no_flag: 'warn',
  unknown: 'error',
};

export function flagNotice(decision: ResolveFlagDecision): AdminNotice {
  return { tone: FLAG_NOTICES[decision], key: `admin.flag.notice.${decision}` };
}

export function abandonNotice(outcome: AbandonOutcome, t: Translate): AdminNotice {
  switch (outcome.kind) {
    case 'abandoned':
      return { tone: 'ok', key: 'refund.notice.abandoned' };
    case 'too_early':
      return { tone: 'warn', key: 'refund.notice.abandonTooEarly', params: { minutes: outcome.minutes } };
    case 'not_pending':
      return { tone: 'ok', key: 'refund.notice.notPending', params: { status: outcome.status } };
    case 'failed':
      return { tone: 'error', key: 'admin.notice.wechatFailed', params: { message: outcome.message } };
    case 'at_wechat': {
      const sync = syncNotice(outcome.sync);
      return { tone: 'warn', key: 'refund.notice.abandonAtWechat', details: [[t('refund.notice.askedNow'), t(sync.key, sync.params)]] };
    }
  }
}
