import type { Knex } from 'knex';
import { formatFen as yuan } from '../money';

/**
 * The ledger check's part for WeChat's side (check.ts runs it in its read-only snapshot, in
 * simulator mode, where the sim_* tables of the merchant hold it): each trade paid here is paid
 * there with the same transaction id and amount, no trade paid there is unpaid (or unknown) here, no
 * trade closed here can still be paid there, every refund there is ours with the same amount and
 * state, and the sums agree. Returns what WeChat took for our trades.
 */

export type WechatDiscrepancyKind =
  | 'paid_here_not_at_wechat'
  | 'paid_at_wechat_not_here'
  | 'closed_here_payable_at_wechat'
  | 'refund_mismatch_at_wechat'
  | 'totals_differ_from_wechat';

type Add = (kind: WechatDiscrepancyKind, subject: string, message: string) => void;

const PAID_STATES = ['SUCCESS', 'REFUND'];
const n = (v: number | string | null | undefined) => Number(v ?? 0);

export async function checkWechatSide(trx: Knex.Transaction, mchId: string, now: Date, add: Add): Promise<number> {
  const theirTrades = trx('sim_trades').where({ mch_id: mchId }).select('*').as('s');
  const pairs = (await trx('paylog AS p')
    .fullOuterJoin(theirTrades, 's.out_trade_no', 'p.out_trade_no')
    .select(
      trx.raw('coalesce(p.out_trade_no, s.out_trade_no) AS out_trade_no'),
      'p.trade_state AS ours',
      'p.transaction_id AS our_transaction_id',
      'p.total_fee AS our_fee',
      's.trade_state AS theirs',
      's.transaction_id AS their_transaction_id',
      's.total_fee AS their_fee',
      's.code_expires_at',
      's.time_expire',
    )) as {
    out_trade_no: string;
    ours: string | null;
    our_transaction_id: string | null;
    our_fee: number | null;
    theirs: string | null;
    their_transaction_id: string | null;
    their_fee: number | null;
    code_expires_at: Date | null;
    time_expire: Date | null;
  }[];
  let theirPaid = 0;
  let ourPaidThere = 0;
  for (const p of pairs) {
    const paidHere = p.ours !== null && PAID_STATES.includes(p.ours);
    const paidThere = p.theirs !== null && PAID_STATES.includes(p.theirs);
    if (paidThere && p.ours !== null) theirPaid += n(p.their_fee);
    if (paidHere) ourPaidThere += n(p.our_fee);
    if (paidHere && !paidThere) add('paid_here_not_at_wechat', p.out_trade_no, `is ${p.ours} here but ${p.theirs ?? 'unknown'} at WeChat`);
    else if (paidThere && !paidHere) add('paid_at_wechat_not_here', p.out_trade_no, `WeChat took ${yuan(n(p.their_fee))} (${p.their_transaction_id}) but it is ${p.ours ?? 'unknown'} here`);
    else if (paidHere && paidThere && (p.our_transaction_id !== p.their_transaction_id || p.our_fee !== p.their_fee)) {
      add('paid_here_not_at_wechat', p.out_trade_no, `paid here as ${p.our_transaction_id} ${yuan(n(p.our_fee))}, at WeChat as ${p.their_transaction_id} ${yuan(n(p.their_fee))}`);
    }
    const payableThere = p.theirs === 'NOTPAY' && p.code_expires_at !== null && p.code_expires_at > now && (p.time_expire === null || p.time_expire > now);
    if (p.ours === 'CLOSED' && payableThere) add('closed_here_payable_at_wechat', p.out_trade_no, 'is CLOSED here but its QR code can still be paid at WeChat');
  }
  if (theirPaid !== ourPaidThere) add('totals_differ_from_wechat', 'all trades', `paid here ${yuan(ourPaidThere)}, WeChat took ${yuan(theirPaid)} for our trades`);

  const theirRefunds = trx('sim_refunds')
    .join('sim_trades', 'sim_trades.id', 'sim_refunds.trade_id')
    .where('sim_refunds.mch_id', mchId)
    .select('sim_refunds.out_refund_no', 'sim_refunds.status', 'sim_refunds.refund_fee', 'sim_trades.out_trade_no')
    .as('s');
  const refundPairs = (await trx('refunds AS r')
    .fullOuterJoin(theirRefunds, 's.out_refund_no', 'r.out_refund_no')
    .select(
      trx.raw('coalesce(r.out_refund_no, s.out_refund_no) AS out_refund_no'),
      'r.status AS ours',
      'r.refund_fee AS our_fee',
      'r.out_trade_no AS our_trade',
      's.status AS theirs',
      's.refund_fee AS their_fee',
      's.out_trade_no AS their_trade',
    )) as { out_refund_no: string; ours: string | null; our_fee: number | null; our_trade: string | null; theirs: string | null; their_fee: number | null; their_trade: string | null }[];
  for (const r of refundPairs) {
    if (r.theirs === null) {
      // never reached WeChat: fine while it waits for a retry, wrong once it claims money
      if (r.ours === 'SUCCESS' || r.ours === 'PROCESSING') add('refund_mismatch_at_wechat', r.out_refund_no, `is ${r.ours} here but WeChat has no such refund`);
      continue;
    }
    if (r.ours === null) {
      add('refund_mismatch_at_wechat', r.out_refund_no, `WeChat refunds ${yuan(n(r.their_fee))} of ${r.their_trade} but we never asked for it`);
      continue;
    }
    if (r.our_fee !== r.their_fee || r.our_trade !== r.their_trade) add('refund_mismatch_at_wechat', r.out_refund_no, `is ${yuan(n(r.our_fee))} of ${r.our_trade} here, ${yuan(n(r.their_fee))} of ${r.their_trade} at WeChat`);
    else if ((r.theirs === 'SUCCESS') !== (r.ours === 'SUCCESS')) add('refund_mismatch_at_wechat', r.out_refund_no, `is ${r.ours} here but ${r.theirs} at WeChat`);
  }
  return theirPaid;
}
