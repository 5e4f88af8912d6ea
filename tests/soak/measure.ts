/**
 * What the soak measures while it runs: page latencies (a bounded reservoir per page), answer
 * statuses, counters (in total and per minute of the load), and memory samples per process. All
 * of it bounded: a reservoir keeps 2000 samples, a counter is a number, a memory series one sample
 * a second.
 */

export class Reservoir {
  private readonly samples: number[] = [];
  private seen = 0;
  constructor(private readonly size = 2000) {}
  add(value: number) {
    this.seen += 1;
    if (this.samples.length < this.size) this.samples.push(value);
    else {
      const i = Math.floor(Math.random() * this.seen);
      if (i < this.size) this.samples[i] = value;
    }
  }
  get count() {
    return this.seen;
  }
  quantile(q: number): number {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const pct = (part: number, whole: number): string => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);

/** Counters, latencies and statuses of one soak run; `minuteOf` places an event in a minute of the load. */
export class Measurements {
  readonly latency = new Map<string, Reservoir>();
  /** answers with this status, all pages together */
  answersWith(status: number): number {
    let n = 0;
    for (const statuses of this.statuses.values()) n += statuses.get(status) ?? 0;
    return n;
  }

  /** page -> status -> answers */
  readonly statuses = new Map<string, Map<number, number>>();
  readonly counters = new Map<string, number>();
  /** counter -> counts per minute of the load (index 0: the first minute) */
  readonly perMinute = new Map<string, number[]>();

  constructor(private readonly loadStartedAt: () => number) {}

  minuteNow(): number {
    return Math.max(0, Math.floor((Date.now() - this.loadStartedAt()) / 60_000));
  }

  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
    const minutes = this.perMinute.get(name) ?? [];
    const m = this.minuteNow();
    while (minutes.length <= m) minutes.push(0);
    minutes[m] = (minutes[m] as number) + by;
    this.perMinute.set(name, minutes);
  }

  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  inMinute(name: string, minute: number): number {
    return this.perMinute.get(name)?.[minute] ?? 0;
  }

  /** Runs one HTTP call, keeping its time under `page` and its status under `page status`. */
  async timed<T extends { status: number }>(page: string, call: () => PromiseLike<T>): Promise<T> {
    const started = performance.now();
    const res = await call();
    const reservoir = this.latency.get(page) ?? new Reservoir();
    this.latency.set(page, reservoir);
    reservoir.add(performance.now() - started);
    const statuses = this.statuses.get(page) ?? new Map<number, number>();
    this.statuses.set(page, statuses);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    return res;
  }

  latencyLines(): string[] {
    const lines = ['page latency (ms): page  requests  p50  p99  statuses'];
    for (const [page, r] of [...this.latency].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const codes = [...(this.statuses.get(page) ?? [])].map(([status, n]) => `${status}x${n}`).join(' ');
      lines.push(`  ${page.padEnd(58)} ${String(r.count).padStart(7)} ${r.quantile(0.5).toFixed(1).padStart(7)} ${r.quantile(0.99).toFixed(1).padStart(8)}  ${codes}`);
    }
    return lines;
  }
}

export interface MemorySample {
  /** ms since the load started */
  at: number;
  bytes: number;
}

/** One process's memory over the run: RSS every second, the live heap after a full GC every few. */
export class MemorySeries {
  readonly rss: MemorySample[] = [];
  readonly heap: MemorySample[] = [];
  constructor(readonly label: string) {}

  /** median RSS of each minute of the load, and its highest sample */
  rssPerMinute(): { median: number; max: number }[] {
    return perMinute(this.rss);
  }

  /** median live heap (after GC) of each minute of the load, and its highest sample */
  heapPerMinute(): { median: number; max: number }[] {
    return perMinute(this.heap);
  }
}

function perMinute(samples: MemorySample[]): { median: number; max: number }[] {
  const minutes: number[][] = [];
  for (const s of samples) {
    const m = Math.floor(s.at / 60_000);
    (minutes[m] ??= []).push(s.bytes);
  }
  return Array.from(minutes, (values) => ({ median: median(values ?? []), max: Math.max(...(values ?? [NaN])) }));
}

/** MiB, whole, of each minute's median: "207 231 232" */
export const mibList = (minutes: { median: number }[]): string => minutes.map((x) => (x.median / 1024 / 1024).toFixed(0)).join(' ');

/**
 * The samples' medians over the third and the last quarter of the run (by time): a level series
 * has them close; a growing one has the last above the third by what it grew over the second half.
 */
export function secondHalf(samples: MemorySample[]): { start: number; third: number; last: number } {
  const span = samples.at(-1)?.at ?? 0;
  return {
    start: samples[0]?.bytes ?? NaN,
    third: median(samples.filter((x) => x.at >= span / 2 && x.at < (span * 3) / 4).map((x) => x.bytes)),
    last: median(samples.filter((x) => x.at >= (span * 3) / 4).map((x) => x.bytes)),
  };
}
