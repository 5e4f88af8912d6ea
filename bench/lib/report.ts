/** One line of the bench's table and of bench/results/latest.json. */
export interface Figure {
  name: string;
  value: number | null;
  unit: string;
  /** what this machine can do at best for the same work, measured in the same run */
  ceiling: number | null;
  /** value / ceiling */
  ratio: number | null;
  /** e.g. "ratio >= 0.5" or "value < 200": what the issue asks of this figure */
  target: string | null;
}

function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function figure(name: string, value: number | null | undefined, unit: string, ceiling: number | null | undefined = null, target: string | null = null): Figure {
  const v = value === undefined || value === null || Number.isNaN(value) ? null : round(value);
  const c = ceiling === undefined || ceiling === null || Number.isNaN(ceiling) ? null : round(ceiling);
  const ratio = v !== null && c !== null && c !== 0 ? Math.round((1000 * (value as number)) / (ceiling as number)) / 1000 : null;
  return { name, value: v, unit, ceiling: c, ratio, target };
}

/** true / false when the figure has a target it can be judged by, else null */
export function met(f: Figure): boolean | null {
  const m = /^(ratio|value) (>=|<=|<|>) (-?[\d.]+)$/.exec(f.target ?? '');
  if (!m) return null;
  const actual = m[1] === 'ratio' ? f.ratio : f.value;
  if (actual === null) return false;
  const bound = Number(m[3]);
  switch (m[2]) {
    case '>=':
      return actual >= bound;
    case '<=':
      return actual <= bound;
    case '<':
      return actual < bound;
    default:
      return actual > bound;
  }
}

function show(v: number | null, unit: string): string {
  if (v === null) return '-';
  return `${v.toLocaleString('en-US', { maximumFractionDigits: 3 })} ${unit}`;
}

export function table(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const ok = met(f);
    return [f.name, show(f.value, f.unit), show(f.ceiling, f.unit), f.ratio === null ? '-' : f.ratio.toFixed(3), f.target ?? '-', ok === null ? '' : ok ? 'yes' : 'NO'];
  });
  const head = ['figure', 'ours', 'ceiling', 'ratio', 'target', 'met'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
