import type { Clock } from '../../src/app';

export type ManualClock = Clock & { advance(ms: number): void; set(d: Date): void };

/** A test clock that only moves when told to (the one test double we allow: time). */
export function manualClock(start = new Date('2026-11-25T08:00:00Z')): ManualClock {
  let now = start.getTime();
  const clock = (() => new Date(now)) as ManualClock;
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (d) => {
    now = d.getTime();
  };
  return clock;
}
