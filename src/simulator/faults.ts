import type { Knex } from 'knex';
import { API_NAMES, type ApiName } from './context';
import { OUT_TRADE_NO } from '../wechatpay/ids';

/**
 * Faults a test or a demo asks for: per merchant (every trade) or per trade (out_trade_no), each
 * applying `count` times.
 * - systemerror: the named API call (or any call) answers result_code=FAIL err_code=SYSTEMERROR
 *   (downloadbill, which has no result_code, answers return_code=FAIL return_msg=SYSTEMERROR);
 *   the call changes nothing. Counted per call.
 * - notify_duplicate: each delivery attempt of a payment notify is sent `copies` times at once.
 *   Counted per attempt.
 * - notify_bad_signature: a delivery attempt of a payment notify carries a signature made with
 *   another key (same algorithm, same length). Counted per attempt.
 * - notify_delay: a payment notify's first attempt waits `delay_seconds` (real seconds, not
 *   divided by the time scale). Counted per notify.
 * - notify_drop: a payment notify is never sent (kept with status 'dropped'). Counted per notify.
 */
export const DELIVERY_FAULT_KINDS = ['systemerror', 'notify_duplicate', 'notify_delay', 'notify_drop', 'notify_bad_signature'] as const;

/**
 * WeChat's own less friendly states, which a shop meets live and must survive (each from the v2
 * page named):
 * - orderquery_userpaying: orderquery of an unpaid trade answers trade_state USERPAYING
 *   (查询订单, trade_state; the docs list it for 付款码支付). Counted per query.
 * - orderquery_payerror: orderquery of an unpaid trade answers PAYERROR (查询订单, trade_state:
 *   支付失败, e.g. the bank refused). Counted per query.
 * - pay_after_expire: the phone may pay a trade past its time_expire or after closeorder (WeChat has
 *   been seen to take such payments; closeorder is best effort): the shop's late-payment path.
 *   The phone shows Pay while such a fault waits for the trade; counted per payment.
 * - refund_change / refund_close: an accepted refund ends CHANGE (退款异常: the card is gone) or
 *   REFUNDCLOSE (退款关闭) instead of SUCCESS (查询退款 refund_status_$n, 退款结果通知
 *   refund_status). Counted per refund.
 * - refund_slow: an accepted refund stays PROCESSING `delay_seconds` (real seconds) before it ends
 *   (a bank-card refund takes days live). Counted per refund.
 * - refund_notenough: the refund is refused NOTENOUGH, the merchant's balance is short (申请退款,
 *   err_code NOTENOUGH "基本账户余额不足"). Counted per refund call.
 * - notify_sign_type: a payment notify carries sign_type (signed with it), as some do (支付结果通知,
 *   field sign_type). Counted per notify.
 * - refund_unknown_error: the refund is made (it goes on to its end and its notify as usual) but
 *   the refund call answers result_code=FAIL with err_code SYSTEM_BUSY, a code no v2 page lists:
 *   an answer the shop cannot place, which must not be taken as a refusal. Counted per refund call.
 */
export const STATE_FAULT_KINDS = [
  'orderquery_userpaying',
  'orderquery_payerror',
  'pay_after_expire',
  'refund_change',
  'refund_close',
  'refund_slow',
  'refund_notenough',
  'notify_sign_type',
  'refund_unknown_error',
] as const;

export const FAULT_KINDS = [...DELIVERY_FAULT_KINDS, ...STATE_FAULT_KINDS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultInput {
  mchId: string;
  outTradeNo?: string;
  kind: FaultKind;
  api?: ApiName;
  count: number;
  delaySeconds?: number;
  copies?: number;
}

export interface Fault {
  id: number;
  mchId: string;
  outTradeNo: string | null;
  kind: FaultKind;
  api: ApiName | null;
  remaining: number;
  used: number;
  delaySeconds: number | null;
  copies: number | null;
  createdAt: string;
}

interface FaultRow {
  id: number;
  mch_id: string;
  out_trade_no: string | null;
  kind: FaultKind;
  api: ApiName | null;
  remaining: number;
  used: number;
  delay_seconds: number | null;
  copies: number | null;
  created_at: Date;
}

/** A fault request that cannot be taken; the message says which field and why. */
export class FaultInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultInputError';
  }
}


function intField(raw: unknown, name: string, min: number, max: number): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new FaultInputError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

function stringField(raw: unknown, name: string): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw new FaultInputError(`${name} must be a string`);
  return raw.trim();
}

/** Reads a fault request (JSON or form fields, snake_case as the control API documents). */
export function parseFaultInput(raw: unknown): FaultInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FaultInputError('expected an object with mch_id and kind');
  const body = raw as Record<string, unknown>;
  const mchId = stringField(body.mch_id, 'mch_id');
  if (mchId === undefined || !/^\d{1,32}$/.test(mchId)) throw new FaultInputError('mch_id is required (the merchant id, digits)');
  const kind = stringField(body.kind, 'kind');
  if (kind === undefined || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new FaultInputError(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const outTradeNo = stringField(body.out_trade_no, 'out_trade_no');
  if (outTradeNo !== undefined && !OUT_TRADE_NO.test(outTradeNo)) throw new FaultInputError('out_trade_no must be 6..32 of [0-9A-Za-z_-|*]');
  const api = stringField(body.api, 'api');
  if (api !== undefined) {
    if (kind !== 'systemerror') throw new FaultInputError('api applies only to kind systemerror');
    if (!(API_NAMES as readonly string[]).includes(api)) throw new FaultInputError(`api must be one of ${API_NAMES.join(', ')}`);
  }
  const count = intField(body.count, 'count', 1, 100000) ?? 1;
  const delaySeconds = intField(body.delay_seconds, 'delay_seconds', 1, 86400);
  const delayed = kind === 'notify_delay' || kind === 'refund_slow';
  if (delayed && delaySeconds === undefined) throw new FaultInputError(`delay_seconds is required for ${kind}`);
  if (!delayed && delaySeconds !== undefined) throw new FaultInputError('delay_seconds applies only to notify_delay and refund_slow');
  const copies = intField(body.copies, 'copies', 2, 20);
  if (kind !== 'notify_duplicate' && copies !== undefined) throw new FaultInputError('copies applies only to notify_duplicate');
  return {
    mchId,
    outTradeNo,
    kind: kind as FaultKind,
    api: api as ApiName | undefined,
    count,
    delaySeconds,
    copies: kind === 'notify_duplicate' ? (copies ?? 2) : undefined,
  };
}

function toFault(row: FaultRow): Fault {
  return {
    id: row.id,
    mchId: row.mch_id,
    outTradeNo: row.out_trade_no,
    kind: row.kind,
    api: row.api,
    remaining: row.remaining,
    used: row.used,
    delaySeconds: row.delay_seconds,
    copies: row.copies,
    createdAt: row.created_at.toISOString(),
  };
}

/** Adds a fault for a merchant the simulator knows. */
export async function addFault(knex: Knex, now: Date, input: FaultInput): Promise<Fault> {
  const merchant = await knex('sim_merchants').where({ mch_id: input.mchId }).first('mch_id');
  if (!merchant) throw new FaultInputError(`mch_id ${input.mchId} is not a merchant of this simulator`);
  const [row] = (await knex('sim_faults')
    .insert({
      mch_id: input.mchId,
      out_trade_no: input.outTradeNo ?? null,
      kind: input.kind,
      api: input.api ?? null,
      remaining: input.count,
      used: 0,
      delay_seconds: input.delaySeconds ?? null,
      copies: input.copies ?? null,
      created_at: now,
    })
    .returning('*')) as FaultRow[];
  return toFault(row as FaultRow);
}

/** Every fault, used-up ones included (remaining 0), oldest first. */
export async function listFaults(knex: Knex): Promise<Fault[]> {
  const rows = (await knex('sim_faults').orderBy('id')) as FaultRow[];
  return rows.map(toFault);
}

export async function deleteFault(knex: Knex, id: number): Promise<boolean> {
  // returning(): knex-pglite answers a bare delete with a result object, not a row count
  const deleted = (await knex('sim_faults').where({ id }).delete().returning('id')) as { id: number }[];
  return deleted.length > 0;
}

/** True when a fault of this kind waits for this trade (or for every trade of the merchant); nothing is used up. */
export async function faultWaiting(knex: Knex, match: { mchId: string; kind: FaultKind; outTradeNo: string }): Promise<boolean> {
  const row = await knex('sim_faults')
    .where({ mch_id: match.mchId, kind: match.kind })
    .andWhere('remaining', '>', 0)
    .andWhere((q) => q.whereNull('out_trade_no').orWhere('out_trade_no', match.outTradeNo))
    .first('id');
  return row !== undefined;
}

/**
 * Takes one use of the matching fault, if any: a fault for this very trade before a merchant-wide
 * one, older before newer. Run it inside the transaction whose work the fault changes, so that a
 * rolled-back call gives the use back. SKIP LOCKED: a fault being taken elsewhere is not waited for.
 */
export async function takeFault(
  trx: Knex.Transaction,
  match: { mchId: string; kind: FaultKind; outTradeNo?: string; api?: ApiName },
): Promise<Fault | undefined> {
  const query = trx<FaultRow>('sim_faults')
    .where({ mch_id: match.mchId, kind: match.kind })
    .andWhere('remaining', '>', 0)
    .andWhere((q) => {
      q.whereNull('out_trade_no');
      if (match.outTradeNo !== undefined) q.orWhere('out_trade_no', match.outTradeNo);
    });
  if (match.api !== undefined) query.andWhere((q) => q.whereNull('api').orWhere('api', match.api as string));
  const row = (await query.orderByRaw('out_trade_no IS NULL, id').first().forUpdate().skipLocked()) as FaultRow | undefined;
  if (!row) return undefined;
  const [updated] = (await trx('sim_faults')
    .where({ id: row.id })
    .update({ remaining: row.remaining - 1, used: row.used + 1 })
    .returning('*')) as FaultRow[];
  return toFault(updated as FaultRow);
}
