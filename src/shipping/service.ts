import type { Knex } from 'knex';
import { Invalid } from '../errors';
import { correctShipment, decideShip, readFulfilmentStates, shipOrder, type CorrectOutcome, type Parcel, type ShipOutcome } from '../ledger';
import { COURIER_CODES, MAX_COURIER_NAME, OTHER, courierNamed, normalizeTracking, trackingProblem } from './couriers';
import { cellText, parseCsv } from './csv-read';

/**
 * Shipping as the merchant does it: one order from its page, many from a CSV (批量发货) with a
 * preview of every line's result before anything changes, a wrong tracking number corrected. The
 * state changes are the ledger's (shipOrder, correctShipment); this file reads what the merchant
 * typed or uploaded into parcels, with messages in the admin's language.
 */

/** A parcel from the ship form (courier code, `other`'s name, tracking number), or Invalid with the reason. */
export function parcelOfForm(body: Record<string, unknown>): Parcel {
  const courier = typeof body.courier === 'string' ? body.courier.trim() : '';
  if (!COURIER_CODES.includes(courier)) throw new Invalid(`unknown courier ${courier}`, 'ship.error.courier');
  const nameRaw = typeof body.courier_name === 'string' ? body.courier_name.trim() : '';
  if (courier === OTHER && (nameRaw === '' || [...nameRaw].length > MAX_COURIER_NAME)) throw new Invalid('other courier without a name', 'ship.error.courierName', { max: MAX_COURIER_NAME });
  const trackingNo = normalizeTracking(typeof body.tracking_no === 'string' ? body.tracking_no : '');
  const problem = trackingProblem(courier, trackingNo);
  if (problem) throw new Invalid(`tracking number ${trackingNo}: ${problem}`, `ship.error.tracking.${problem}`);
  return { courier, courierName: courier === OTHER ? nameRaw : null, trackingNo };
}

export function shipOne(knex: Knex, input: { orderId: number; parcel: Parcel; operator: string; now: Date }): Promise<ShipOutcome> {
  return shipOrder(knex, input);
}

export function correctOne(knex: Knex, input: { orderId: number; parcel: Parcel; operator: string; now: Date }): Promise<CorrectOutcome> {
  return correctShipment(knex, input);
}

// ---- the batch (批量发货) -------------------------------------------------------------------

export const MAX_BATCH_LINES = 1000;

export type BatchProblem = 'bad_order' | 'duplicate_line' | 'courier' | 'courier_name' | `tracking.${'missing' | 'scientific' | 'malformed' | 'wrong_shape'}`;

export interface BatchLine {
  /** the line of the file (1 = the first) */
  line: number;
  orderText: string;
  courierText: string;
  trackingText: string;
  orderId: number | undefined;
  parcel: Parcel | undefined;
  /** what reading the line found wrong, before any order was looked at */
  problem: BatchProblem | undefined;
  /** what shipping it would do now (preview), or did (applied) */
  outcome: ShipOutcome | undefined;
}

const HEADERS = {
  order: /^(#|订单|订单号|订单编号|order|order ?(no|number|id)?)$/i,
  tracking: /(快递单号|运单号|物流单号|tracking|waybill)/i,
  courier: /(快递公司|物流公司|快递|承运|courier|carrier)/i,
};

/** Which columns hold the order, the courier and the tracking number: by the header's names, else the first three. */
function columnsOf(header: readonly string[]): { order: number; courier: number; tracking: number; hasHeader: boolean } {
  const cells = header.map((c) => cellText(c));
  const order = cells.findIndex((c) => HEADERS.order.test(c));
  const tracking = cells.findIndex((c) => HEADERS.tracking.test(c));
  const courier = cells.findIndex((c, i) => i !== tracking && HEADERS.courier.test(c));
  if (order >= 0 && tracking >= 0 && courier >= 0) return { order, courier, tracking, hasHeader: true };
  return { order: 0, courier: 1, tracking: 2, hasHeader: !/^#?\d+$/.test(cells[0] ?? '') };
}

/** The lines of an uploaded CSV read into parcels (nothing looked up yet). */
export function readBatch(text: string): BatchLine[] {
  const rows = parseCsv(text);
  if (rows.length === 0) throw new Invalid('empty batch', 'ship.batch.empty');
  const columns = columnsOf(rows[0] ?? []);
  const body = columns.hasHeader ? rows.slice(1) : rows;
  if (body.length === 0) throw new Invalid('empty batch', 'ship.batch.empty');
  if (body.length > MAX_BATCH_LINES) throw new Invalid('batch too long', 'ship.batch.tooLong', { max: MAX_BATCH_LINES });
  const seen = new Set<number>();
  return body.map((row, index) => {
    const orderText = cellText(row[columns.order]);
    const courierText = cellText(row[columns.courier]);
    const trackingText = cellText(row[columns.tracking]);
    const line: BatchLine = { line: index + (columns.hasHeader ? 2 : 1), orderText, courierText, trackingText, orderId: undefined, parcel: undefined, problem: undefined, outcome: undefined };
    const idText = orderText.replace(/^#/, '');
    if (!/^\d{1,15}$/.test(idText)) return { ...line, problem: 'bad_order' };
    const orderId = Number(idText);
    if (seen.has(orderId)) return { ...line, orderId, problem: 'duplicate_line' };
    seen.add(orderId);
    if (courierText === '') return { ...line, orderId, problem: 'courier' };
    const known = courierNamed(courierText);
    const courier = known?.code ?? OTHER;
    if (!known && [...courierText].length > MAX_COURIER_NAME) return { ...line, orderId, problem: 'courier_name' };
    const trackingNo = normalizeTracking(trackingText);
    const problem = trackingProblem(courier, trackingNo);
    if (problem) return { ...line, orderId, problem: `tracking.${problem}` };
    return { ...line, orderId, parcel: { courier, courierName: known ? null : courierText, trackingNo } };
  });
}

/** Each line's result if the batch were applied now (nothing changes). */
export async function previewBatch(knex: Knex, lines: readonly BatchLine[]): Promise<BatchLine[]> {
  const ids = lines.flatMap((l) => (l.parcel && l.orderId !== undefined ? [l.orderId] : []));
  const states = await readFulfilmentStates(knex, ids);
  return lines.map((l) => {
    if (!l.parcel || l.orderId === undefined) return l;
    const found = states.get(l.orderId);
    return { ...l, outcome: decideShip(found?.state, found?.shipment, l.parcel).outcome };
  });
}

/** Ships every good line, each order in its own transaction (decided again under lock); returns each line's result. */
export async function applyBatch(knex: Knex, lines: readonly BatchLine[], operator: string, now: Date): Promise<BatchLine[]> {
  const done: BatchLine[] = [];
  for (const l of lines) {
    if (!l.parcel || l.orderId === undefined) done.push(l);
    else done.push({ ...l, outcome: await shipOrder(knex, { orderId: l.orderId, parcel: l.parcel, operator, now }) });
  }
  return done;
}

/** How a line reads in the preview: will ship (or did), nothing to do, or why not. */
export function lineVerdict(line: BatchLine): { tone: 'ok' | 'same' | 'error'; key: string } {
  if (line.problem) return { tone: 'error', key: `ship.batch.problem.${line.problem}` };
  if (line.outcome === 'shipped') return { tone: 'ok', key: 'ship.outcome.shipped' };
  if (line.outcome === 'already') return { tone: 'same', key: 'ship.outcome.already' };
  return { tone: 'error', key: `ship.outcome.${line.outcome ?? 'unknown_order'}` };
}
