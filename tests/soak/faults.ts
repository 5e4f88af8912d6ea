import type { Knex } from 'knex';
import { API_NAMES, type ApiName } from '../../src/simulator/context';
import { FAULT_KINDS, addFault, parseFaultInput, type FaultKind } from '../../src/simulator';
import type { Measurements } from './measure';

/**
 * Every fault the simulator has, kept armed through the load: each kind (SYSTEMERROR once per API,
 * since each API fails a different part of the shop) is injected again only once the last one of
 * it was used up, and no sooner than REARM_MS after it was last injected; one injection a second at
 * most, taking the kinds in turn. So faults are used as the load meets them, none piles up unused
 * behind an event that never comes, every kind waits for its event within the first SOAK_FAULTS.length
 * seconds, and the faults stay a minority of what they strike (a kind at most a use or two every
 * REARM_MS: of some 40 refunds a minute, the five refund faults take about a third; of some 200
 * payment notifies a minute, the five notify faults about 1 in 20). The list is made from the
 * simulator's own FAULT_KINDS and API_NAMES: a kind added there is injected here, and must be used,
 * without a change to the soak.
 */

export interface SoakFault {
  /** how the printout names it: the kind, or systemerror/<api> */
  label: string;
  kind: FaultKind;
  api?: ApiName;
  /** the fault's own fields (snake_case, as the control API takes them) */
  fields: Record<string, unknown>;
}

/** The fields some kinds need: real seconds, short enough that the settle phase sees them end. */
const FIELDS: Partial<Record<FaultKind, Record<string, unknown>>> = {
  notify_duplicate: { copies: 3 },
  notify_delay: { delay_seconds: 20 },
  refund_slow: { delay_seconds: 15 },
};

export const SOAK_FAULTS: readonly SoakFault[] = FAULT_KINDS.flatMap((kind): SoakFault[] =>
  kind === 'systemerror' ? API_NAMES.map((api) => ({ label: `systemerror/${api}`, kind, api, fields: { api } })) : [{ label: kind, kind, fields: FIELDS[kind] ?? {} }],
);

export interface FaultContext {
  knex: Knex;
  m: Measurements;
  mchId: string;
  clock: () => Date;
  running: () => boolean;
}

/** A kind is injected again no sooner than this after its last injection. */
export const REARM_MS = 15_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** The labels of the faults with uses left now. */
async function armedNow(knex: Knex, mchId: string): Promise<Set<string>> {
  const rows = (await knex('sim_faults').where({ mch_id: mchId }).andWhere('remaining', '>', 0).distinct('kind', 'api')) as { kind: string; api: string | null }[];
  return new Set(rows.map((r) => (r.kind === 'systemerror' && r.api ? `systemerror/${r.api}` : r.kind)));
}

/** The injector: once a second, the next fault in turn that has no use left waiting. */
export async function injectFaults(ctx: FaultContext): Promise<void> {
  let turn = 0;
  const lastInjected = new Map<string, number>();
  while (ctx.running()) {
    const armed = await armedNow(ctx.knex, ctx.mchId);
    for (let i = 0; i < SOAK_FAULTS.length; i += 1) {
      const fault = SOAK_FAULTS[(turn + i) % SOAK_FAULTS.length] as SoakFault;
      if (armed.has(fault.label) || Date.now() - (lastInjected.get(fault.label) ?? 0) < REARM_MS) continue;
      turn += i + 1;
      lastInjected.set(fault.label, Date.now());
      const count = 1 + Math.floor(Math.random() * 2);
      // straight into the simulator's table: its fault API over HTTP is the admin's (tested on its own)
      await addFault(ctx.knex, ctx.clock(), parseFaultInput({ mch_id: ctx.mchId, kind: fault.kind, count, ...fault.fields }));
      ctx.m.count(`faults injected: ${fault.label}`, count);
      break;
    }
    await pause(1000);
  }
}

export interface FaultUse {
  label: string;
  injected: number;
  used: number;
}

/** Injected (from the soak's own count) and used (the simulator's `used` column) per fault. */
export async function faultUse(knex: Knex, m: Measurements, mchId: string): Promise<FaultUse[]> {
  const rows = (await knex('sim_faults').where({ mch_id: mchId }).groupBy('kind', 'api').select('kind', 'api', knex.raw('sum(used)::int AS used'))) as { kind: string; api: string | null; used: number }[];
  return SOAK_FAULTS.map((f) => ({
    label: f.label,
    injected: m.get(`faults injected: ${f.label}`),
    used: rows.filter((r) => r.kind === f.kind && (f.api === undefined || r.api === f.api)).reduce((a, r) => a + r.used, 0),
  }));
}
