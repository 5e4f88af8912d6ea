/**
 * The load, from a process of its own, against 127.0.0.1 only. Commands (over IPC, from run.ts):
 * - cannon: autocannon for a few seconds (one path, optional rotating or use-once bodies)
 * - journeys: N concurrent shoppers doing add to cart -> checkout -> pay page
 * - hold-prepare / hold-open / hold-state / burst / hold-close: many long requests held open on
 *   their own sockets (raw node:http), then notifies for some of them, timing each poller's answer
 */
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { progress, serveIpc } from './lib/ipc';
import { BenchShopper, httpRequest } from './lib/shopper';
import { percentiles } from './lib/stats';

function assertLocal(url: string): URL {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`load goes to 127.0.0.1 only, not ${u.hostname}`);
  return u;
}

interface CannonArgs {
  url: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** a JSON file with an array of bodies */
  bodiesFile?: string;
  /** once: each body at most one time, in order; rotate: round and round */
  bodyMode?: 'once' | 'rotate';
  /** a response counts as good when its status is 2xx and (when set) its body contains this */
  expectBody?: string;
  connections: number;
  seconds: number;
  label: string;
}

async function cannon(args: CannonArgs) {
  const base = assertLocal(args.url);
  const bodies = args.bodiesFile ? (JSON.parse(fs.readFileSync(args.bodiesFile, 'utf8')) as string[]) : undefined;
  let next = 0;
  let good = 0;
  let bad = 0;
  const badSamples: string[] = [];
  const request: autocannon.Request = { method: (args.method ?? 'GET') as autocannon.Request['method'], path: args.path, headers: args.headers ?? {} };
  if (bodies) {
    request.setupRequest = (req) => {
      const body = bodies[next % bodies.length] as string;
      next += 1;
      return { ...req, body };
    };
  }
  if (args.expectBody !== undefined) {
    const marker = args.expectBody;
    request.onResponse = (status, body) => {
      if (status >= 200 && status < 300 && body.includes(marker)) good += 1;
      else {
        bad += 1;
        if (badSamples.length < 3) badSamples.push(`${status} ${body.slice(0, 160)}`);
      }
    };
  }
  const once = bodies !== undefined && args.bodyMode === 'once';
  let firstSent = 0;
  let lastAnswered = 0;
  let ticks = 0;
  const instance = autocannon({
    url: `${base.origin}`,
    connections: once ? Math.min(args.connections, bodies.length) : args.connections,
    duration: args.seconds,
    ...(once ? { maxOverallRequests: bodies.length } : {}),
    requests: [request],
  });
  instance.on('start', () => {
    firstSent = performance.now();
  });
  instance.on('response', () => {
    lastAnswered = performance.now();
  });
  instance.on('tick', ({ counter }: { counter: number }) => {
    ticks += 1;
    if (ticks <= args.seconds) progress(`${args.label}: ${ticks}s ${counter} req/s`);
  });
  const result = await instance;
  const elapsedMs = lastAnswered > firstSent ? lastAnswered - firstSent : result.duration * 1000;
  const ok = args.expectBody !== undefined ? good : result['2xx'];
  return {
    label: args.label,
    connections: result.connections,
    ok,
    bad: args.expectBody !== undefined ? bad : result.non2xx,
    badSamples,
    statusCodes: result.statusCodeStats,
    errors: result.errors,
    timeouts: result.timeouts,
    bodiesUsed: bodies ? Math.min(next, once ? bodies.length : next) : undefined,
    elapsedMs,
    perSecond: ok / (elapsedMs / 1000),
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
  };
}

async function journeys(args: { url: string; productIds: number[]; shoppers: number; seconds: number; label: string }) {
  assertLocal(args.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: args.shoppers * 2 });
  const times: number[] = [];
  const errors: string[] = [];
  let errorCount = 0;
  const started = performance.now();
  const until = started + args.seconds * 1000;
  let lastSecond = 0;
  let doneThisSecond = 0;
  const ticker = setInterval(() => {
    lastSecond += 1;
    progress(`${args.label}: ${lastSecond}s ${doneThisSecond} journeys/s`);
    doneThisSecond = 0;
  }, 1000);
  const shopper = async () => {
    const s = new BenchShopper(args.url, agent);
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await s.journey(args.productIds);
        times.push(performance.now() - t0);
        doneThisSecond += 1;
      } catch (err) {
        errorCount += 1;
        if (errors.length < 3) errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: args.shoppers }, shopper));
  clearInterval(ticker);
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { label: args.label, journeys: times.length, errors: errorCount, errorSamples: errors, elapsedMs, perSecond: times.length / (elapsedMs / 1000), latencyMs: percentiles(times) };
}

// ---- long-poll: held requests ----

interface Held {
  key: string;
  path: string;
  cookie: string | undefined;
  req?: http.ClientRequest;
  sentAt?: number;
  answeredAt?: number;
  status?: number;
  body?: string;
  error?: string;
}

let holdBase: URL | undefined;
let held: Held[] = [];
const heldByKey = new Map<string, Held>();
let opened = 0;
// one socket per request, never pooled: each held request is its own connection, as a browser's
const holdAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const answerWaiters = new Set<() => void>();

function holdPrepare(args: { url: string; requests: { key: string; path: string; cookie?: string }[] }) {
  holdBase = assertLocal(args.url);
  held = args.requests.map((r) => ({ key: r.key, path: r.path, cookie: r.cookie }));
  heldByKey.clear();
  for (const h of held) heldByKey.set(h.key, h);
  opened = 0;
  return held.length;
}

function openOne(h: Held): Promise<void> {
  const base = holdBase as URL;
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = h.cookie ? { cookie: h.cookie } : {};
    h.sentAt = performance.now();
    const req = http.request({ agent: holdAgent, host: base.hostname, port: base.port, method: 'GET', path: h.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        h.answeredAt = performance.now();
        h.status = res.statusCode;
        h.body = Buffer.concat(chunks).toString('utf8');
        for (const fn of answerWaiters) fn();
      });
      res.on('error', () => undefined);
    });
    h.req = req;
    req.on('error', (err) => {
      if (h.answeredAt === undefined && h.error === undefined) h.error = err.message;
      resolve();
    });
    // resolved once the request is on the wire
    req.on('finish', () => resolve());
    req.end();
  });
}

async function holdOpen(args: { count: number }) {
  const batch = held.slice(opened, opened + args.count);
  opened += batch.length;
  await Promise.all(batch.map(openOne));
  return holdState();
}

function holdState() {
  let answered = 0;
  let errors = 0;
  const statuses: Record<string, number> = {};
  const samples: string[] = [];
  for (const h of held.slice(0, opened)) {
    if (h.error !== undefined) errors += 1;
    if (h.answeredAt !== undefined) {
      answered += 1;
      statuses[String(h.status)] = (statuses[String(h.status)] ?? 0) + 1;
      if (samples.length < 3) samples.push(`${h.status} ${h.body?.slice(0, 160)}`);
    }
  }
  return { opened, answered, errors, statuses, samples, errorSamples: held.filter((h) => h.error).slice(0, 3).map((h) => h.error) };
}

/**
 * Sends the notifies (at most `concurrency` in flight, each sent when a previous one was answered)
 * and times each trade's poller: from its notify sent, and from its notify answered.
 */
async function burst(args: { url: string; notifies: { key: string; body: string }[]; concurrency: number; timeoutSeconds: number }) {
  const base = assertLocal(args.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: args.concurrency });
  const sent = new Map<string, number>();
  const replied = new Map<string, number>();
  const notifyStatus: Record<string, number> = {};
  let next = 0;
  const t0 = performance.now();
  const sender = async () => {
    while (next < args.notifies.length) {
      const n = args.notifies[next++] as { key: string; body: string };
      sent.set(n.key, performance.now());
      const answer = await httpRequest(agent, base.origin, 'POST', '/wxpay/notify', { body: n.body, contentType: 'text/xml' }).catch((err: unknown) => ({
        status: 0,
        body: String(err),
        headers: {},
      }));
      replied.set(n.key, performance.now());
      const verdict = `${answer.status}${answer.body.includes('SUCCESS') ? ' SUCCESS' : ''}`;
      notifyStatus[verdict] = (notifyStatus[verdict] ?? 0) + 1;
    }
  };
  const allAnswered = () => args.notifies.every((n) => heldByKey.get(n.key)?.answeredAt !== undefined);
  const answered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      answerWaiters.delete(check);
      resolve(false);
    }, args.timeoutSeconds * 1000);
    const check = () => {
      if (!allAnswered()) return;
      clearTimeout(timer);
      answerWaiters.delete(check);
      resolve(true);
    };
    answerWaiters.add(check);
  });
  await Promise.all(Array.from({ length: Math.min(args.concurrency, args.notifies.length) }, sender));
  const notifiesDoneMs = performance.now() - t0;
  const complete = allAnswered() || (await answered);
  agent.destroy();

  const fromSent: number[] = [];
  const fromReplied: number[] = [];
  const pollStatus: Record<string, number> = {};
  let lastAnswer = 0;
  for (const n of args.notifies) {
    const h = heldByKey.get(n.key);
    if (h?.answeredAt === undefined) continue;
    fromSent.push(h.answeredAt - (sent.get(n.key) as number));
    fromReplied.push(h.answeredAt - (replied.get(n.key) as number));
    lastAnswer = Math.max(lastAnswer, h.answeredAt);
    let state = String(h.status);
    try {
      state += ` ${(JSON.parse(h.body ?? '') as { state?: string }).state}`;
    } catch {
      state += ' (not JSON)';
    }
    pollStatus[state] = (pollStatus[state] ?? 0) + 1;
  }
  return {
    notifies: args.notifies.length,
    complete,
    answered: fromSent.length,
    notifyStatus,
    pollStatus,
    notifiesDoneMs,
    burstMs: lastAnswer > 0 ? lastAnswer - t0 : undefined,
    fromSentMs: percentiles(fromSent),
    fromRepliedMs: percentiles(fromReplied),
  };
}

function holdClose() {
  const state = holdState();
  for (const h of held) if (h.answeredAt === undefined) h.req?.destroy();
  held = [];
  heldByKey.clear();
  opened = 0;
  return state;
}

serveIpc(
  {
    cannon: (args) => cannon(args as unknown as CannonArgs),
    journeys: (args) => journeys(args as unknown as Parameters<typeof journeys>[0]),
    'hold-prepare': (args) => holdPrepare(args as unknown as Parameters<typeof holdPrepare>[0]),
    'hold-open': (args) => holdOpen(args as unknown as Parameters<typeof holdOpen>[0]),
    'hold-state': () => holdState(),
    burst: (args) => burst(args as unknown as Parameters<typeof burst>[0]),
    'hold-close': () => holdClose(),
    stop: () => {
      holdClose();
      return true;
    },
  },
  { pid: process.pid },
);
