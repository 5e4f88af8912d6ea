import { markPaid, paymentNeedsAdmin, type MarkPaidOutcome } from '../ledger';
import { recordNotify, refusalStatus, type NotifyAnswer, type WebhookDeps } from './notify-log';

const ANSWER_BY_OUTCOME: Record<MarkPaidOutcome, { status: number; reply: string | undefined }> = {
  paid: { status: 200, reply: undefined },
  late_payment: { status: 200, reply: undefined },
  double_payment: { status: 200, reply: undefined },
  duplicate: { status: 200, reply: undefined },
  // kept for the admin; WeChat retrying for a day would change nothing
  conflict: { status: 200, reply: undefined },
  amount_mismatch: { status: 409, reply: 'amount does not match the order' },
  unknown_trade: { status: 404, reply: 'unknown out_trade_no' },
};

/**
 * WeChat's payment notify, end to end: read and verified by the provider (signature over the raw
 * body, our merchant, an integer CNY amount) into the ledger's news, settled through markPaid
 * (which compares the amount with our record under a row lock), recorded in notify_log, and
 * answered "taken" only once the state is durably stored or already was. The common cases (paid,
 * duplicate) store their notify_log row in markPaid's own statement; the rest in a write of their
 * own. A database failure answers 500 so WeChat retries.
 */
export async function handlePaymentNotify(deps: WebhookDeps, headers: WebhookHeaders, raw: Buffer, source?: string): Promise<NotifyAnswer> {
  const receivedAt = deps.clock();
  const text = raw.toString('utf8');
  const { provider } = deps;
  const reading = await provider.readPaymentNotify(headers, raw);
  if (reading.kind === 'refused') {
    const status = refusalStatus(reading.verdict);
    // the record of an unverified one is counted, not repeated (notify-log.ts)
    await recordNotify(deps.knex, {
      kind: 'pay',
      refused: true,
      verified: reading.verified,
      source,
      outTradeNo: reading.claimed.outTradeNo,
      transactionId: reading.claimed.transactionId,
      verdict: reading.verdict,
      detail: reading.message,
      rawBody: text,
      receivedAt,
    }).catch((logErr: unknown) => deps.logger.error({ err: logErr }, 'could not record a refused notify'));
    return { ...provider.notifyReply({ ok: false, status, message: reading.message }, headers), verdict: reading.verdict };
  }

  const { news } = reading;
  let outcome: MarkPaidOutcome;
  let recorded: boolean;
  try {
    const result = await markPaid(deps.knex, { ...news, source: 'notify', now: receivedAt }, { rawBody: text, source, receivedAt });
    outcome = result.outcome;
    recorded = result.recorded;
  } catch (err) {
    deps.logger.error({ err, outTradeNo: news.outTradeNo }, 'notify could not be settled; WeChat will retry');
    await recordNotify(deps.knex, { kind: 'pay', source, outTradeNo: news.outTradeNo, transactionId: news.transactionId, verdict: 'error', detail: String(err), rawBody: text, receivedAt }).catch(() => undefined);
    return { ...provider.notifyReply({ ok: false, status: 500, message: 'temporarily unable to store the payment' }, headers), verdict: 'error' };
  }

  const { status, reply } = ANSWER_BY_OUTCOME[outcome];
  if (!recorded) {
    await recordNotify(deps.knex, { kind: 'pay', source, outTradeNo: news.outTradeNo, transactionId: news.transactionId, verdict: outcome, detail: reply, rawBody: text, receivedAt }).catch((err: unknown) =>
      deps.logger.error({ err, outTradeNo: news.outTradeNo }, 'could not record a notify'),
    );
  }
  if (paymentNeedsAdmin(outcome)) deps.logger.warn({ outTradeNo: news.outTradeNo, outcome }, 'payment needs an admin');
  return { ...provider.notifyReply(reply === undefined ? { ok: true } : { ok: false, status, message: reply }, headers), verdict: outcome };
}

export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;
