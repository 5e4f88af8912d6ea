import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './ipc';

/** A V8 .cpuprofile (as written by `node --cpu-prof` or the inspector's Profiler.stop). */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  frame: string;
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  idlePct: number;
  topSelf: ProfileLine[];
  byPackage: { name: string; selfPct: number }[];
  /** inclusive time of the app's own functions (src/**), the biggest first */
  appTotal: ProfileLine[];
}

function shortUrl(url: string): string {
  const stripped = url.replace(/^file:\/\//, '');
  const nm = stripped.lastIndexOf('/node_modules/');
  if (nm >= 0) return stripped.slice(nm + '/node_modules/'.length);
  if (stripped.startsWith(ROOT)) return path.relative(ROOT, stripped);
  return stripped;
}

function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const stripped = url.replace(/^file:\/\//, '');
  const nm = stripped.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = stripped.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? '?');
  }
  if (stripped.startsWith('node:')) return 'node internals';
  if (stripped.startsWith(ROOT)) return `app ${path.relative(ROOT, stripped).split('/').slice(0, 2).join('/')}`;
  return stripped;
}

/** Self and inclusive time by frame, and self time by package; idle time left out of the percentages. */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (id: number) => {
    const f = (byId.get(id) as CpuProfile['nodes'][number]).callFrame;
    return f.url === '' ? f.functionName || '(anonymous)' : `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const packages = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    busy += dt;
    const k = key(id);
    self.set(k, (self.get(k) ?? 0) + dt);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const fk = key(at);
      if (seen.has(fk)) continue;
      seen.add(fk);
      total.set(fk, (total.get(fk) ?? 0) + dt);
    }
  });
  const pct = (v: number) => Math.round((1000 * v) / Math.max(1, busy)) / 10;
  const topSelf = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, v]) => ({ frame, selfPct: pct(v), totalPct: pct(total.get(frame) ?? 0) }));
  const appTotal = [...total.entries()]
    .filter(([frame]) => / (src|views)\//.test(frame))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, v]) => ({ frame, selfPct: pct(self.get(frame) ?? 0), totalPct: pct(v) }));
  const byPackage = [...packages.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, v]) => ({ name, selfPct: pct(v) }));
  return { file: path.relative(ROOT, file), busyMs: Math.round(busy / 1000), idlePct: Math.round((1000 * idle) / Math.max(1, busy + idle)) / 10, topSelf, byPackage, appTotal };
}

export function formatProfile(name: string, s: ProfileSummary): string {
  const lines = [`profile of the app during "${name}" (${s.file}): ${s.busyMs} ms busy, ${s.idlePct}% idle`];
  lines.push('  self%  total%  frame (top by self time)');
  for (const l of s.topSelf) lines.push(`  ${l.selfPct.toFixed(1).padStart(5)}  ${l.totalPct.toFixed(1).padStart(6)}  ${l.frame}`);
  lines.push('  self%  package');
  for (const p of s.byPackage) lines.push(`  ${p.selfPct.toFixed(1).padStart(5)}  ${p.name}`);
  lines.push('  total%  app frame (inclusive)');
  for (const l of s.appTotal) lines.push(`  ${l.totalPct.toFixed(1).padStart(6)}  ${l.frame}`);
  return lines.join('\n');
}

/** A V8 sampling heap profile (HeapProfiler.getSamplingProfile, or `node --heap-prof`). */
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * What the live memory was allocated by: self size by allocating frame and by package, and the
 * inclusive size of the app's own frames, in bytes per `per` (e.g. per held request).
 */
export function formatHeapProfile(name: string, file: string, per: number, top = 15): string {
  const { head } = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: HeapNode };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const packages = new Map<string, number>();
  let all = 0;
  const key = (f: HeapNode['callFrame']) => (f.url === '' ? f.functionName || '(anonymous)' : `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`);
  const walk = (node: HeapNode, stack: string[]): number => {
    const k = key(node.callFrame);
    let size = node.selfSize;
    if (node.selfSize > 0) {
      self.set(k, (self.get(k) ?? 0) + node.selfSize);
      const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
      packages.set(pkg, (packages.get(pkg) ?? 0) + node.selfSize);
      all += node.selfSize;
    }
    const inner = [...stack, k];
    for (const child of node.children) size += walk(child, inner);
    if (!stack.includes(k)) total.set(k, (total.get(k) ?? 0) + size);
    return size;
  };
  walk(head, []);
  const b = (v: number) => `${(v / per).toFixed(0).padStart(6)} B`;
  const lines = [`live heap by allocation site during "${name}" (${path.relative(ROOT, file)}): ${(all / per / 1024).toFixed(1)} KiB sampled per held request`];
  lines.push('   per req  frame (top by self size)');
  for (const [frame, v] of [...self.entries()].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${b(v)}  ${frame}`);
  lines.push('   per req  package');
  for (const [pkg, v] of [...packages.entries()].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${b(v)}  ${pkg}`);
  lines.push('   per req  frame (inclusive), JavaScript outside node itself');
  const interesting = [...total.entries()].filter(([frame]) => / \S+:\d+$/.test(frame) && !frame.includes(' node:'));
  for (const [frame, v] of interesting.sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${b(v)}  ${frame}`);
  return lines.join('\n');
}
