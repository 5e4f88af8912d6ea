/**
 * `npm run bench`: measures the shop against this machine's ceilings, each in the same run.
 * Starts everything it measures (the shop, an Express hello-world, a bare node:http server, the
 * bare SQL transaction, the load) as processes of their own; on PostgreSQL when DATABASE_URL is
 * set (in a fresh database wxpay_bench_<random>, dropped at the end), else on embedded PGlite in a
 * temporary directory. Prints progress, then a table; writes bench/results/latest.json.
 *
 * Knobs (environment): BENCH_SECONDS (each load phase, default 5), BENCH_WAITERS (10000),
 * BENCH_BURST (1000), BENCH_BURST_CONCURRENCY (16), BENCH_CONNECTIONS (32), BENCH_SHOPPERS (20),
 * BENCH_ONLY=longpoll,notify,duplicate,paypage,catalog,journeys,hostile (a subset, each still with its ceiling),
 * BENCH_PROFILE=1 (CPU profile of the shop per phase and a heap profile of the held polls, top
 * frames printed, files in bench/results/profiles), BENCH_PG_SYNCHRONOUS_COMMIT=off (a diagnostic:
 * the bench database commits without waiting for the disk, for the shop and the bare transaction alike).
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { seedCatalogIfEmpty } from '../src/catalog/service';
import { migrateToLatest, openDatabase } from '../src/db';
import { createServerDatabase, plentyOfStock, seedSessions, seedTrades, signedNotify, tradeNo, type TradeSet } from './lib/data';
import { BenchChild, ROOT } from './lib/ipc';
import { formatHeapProfile, formatProfile, summarizeProfile } from './lib/profile';
import { figure, met, table, type Figure } from './lib/report';
import { BenchShopper } from './lib/shopper';
import type { Percentiles } from './lib/stats';

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`bench: ${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
}

const SECONDS = intEnv('BENCH_SECONDS', 5, 1, 60);
const WAITERS = intEnv('BENCH_WAITERS', 10_000, 10, 100_000);
const BURST = Math.min(WAITERS, intEnv('BENCH_BURST', 1000, 1, 100_000));
const BURST_CONCURRENCY = intEnv('BENCH_BURST_CONCURRENCY', 16, 1, 1000);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 32, 1, 1000);
const SHOPPERS = intEnv('BENCH_SHOPPERS', 20, 1, 1000);
const PROFILE = process.env.BENCH_PROFILE === '1';
const SYNCHRONOUS_COMMIT = process.env.BENCH_PG_SYNCHRONOUS_COMMIT?.trim() || undefined;
if (SYNCHRONOUS_COMMIT !== undefined && !['on', 'off', 'local', 'remote_write', 'remote_apply'].includes(SYNCHRONOUS_COMMIT)) {
  console.error(`bench: BENCH_PG_SYNCHRONOUS_COMMIT must be on, off, local, remote_write or remote_apply (got ${JSON.stringify(SYNCHRONOUS_COMMIT)})`);
  process.exit(2);
}
const PHASES = ['longpoll', 'notify', 'duplicate', 'paypage', 'catalog', 'journeys', 'hostile'] as const;
const ONLY = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean);
for (const p of ONLY) {
  if (!(PHASES as readonly string[]).includes(p)) {
    console.error(`bench: BENCH_ONLY takes a comma-separated list of ${PHASES.join(', ')} (got ${JSON.stringify(p)})`);
    process.exit(2);
  }
}
/** whether a phase runs (every one unless BENCH_ONLY names some; duplicates need the notifies' paid trades) */
function want(phase: (typeof PHASES)[number]): boolean {
  if (ONLY.length === 0) return true;
  return ONLY.includes(phase) || (phase === 'notify' && ONLY.includes('duplicate'));
}
/** held polls opened and dropped before the memory baseline, so that both servers are warm */
const HOLD_WARMUP = 1000;
const WARMUP_SECONDS = 1;
const POLL_WAIT_SECONDS = 120;
const RAMP_BATCH = 500;
const RESULTS = path.join(ROOT, 'bench', 'results');
/** two products from two sellers: a checkout of both makes two orders, as the e2e journey does */
const JOURNEY_SKUS = ['TEA-MLH-100', 'GEEK-CBL-01'];

const t0 = Date.now();
function say(text: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  console.log(`[${s}s] ${text}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function shell(command: string): string {
  try {
    return execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

interface CannonResult {
  ok: number;
  bad: number;
  badSamples: string[];
  statusCodes: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
  elapsedMs: number;
  perSecond: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
}

interface HoldState {
  opened: number;
  answered: number;
  errors: number;
  statuses: Record<string, number>;
  samples: string[];
  errorSamples: string[];
}

interface BurstResult {
  notifies: number;
  complete: boolean;
  answered: number;
  notifyStatus: Record<string, number>;
  pollStatus: Record<string, number>;
  notifiesDoneMs: number;
  burstMs: number | undefined;
  fromSentMs: Percentiles;
  fromRepliedMs: Percentiles;
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`bench: clean-up step failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}

function writeJson(file: string, data: unknown): string {
  fs.writeFileSync(file, JSON.stringify(data));
  return file;
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL?.trim() || undefined;
  const kind = serverUrl ? 'postgres' : 'pglite';
  fs.mkdirSync(RESULTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wxpay-bench-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const logFile = path.join(RESULTS, `app-${kind}.log`);
  fs.writeFileSync(logFile, '');

  const softFiles = Number(shell('ulimit -Sn')) || 0;
  const hardFiles = shell('ulimit -Hn');
  const hardFilesN = hardFiles === 'unlimited' ? Infinity : Number(hardFiles) || softFiles;
  const neededFiles = WAITERS + 1000;
  // raise the soft limit of the shop, the held-request server and the load to the hard one when short
  const openFiles = softFiles >= neededFiles ? undefined : Number.isFinite(hardFilesN) ? hardFilesN : neededFiles;
  if (hardFilesN < neededFiles) say(`warning: the open-files hard limit is ${hardFiles}; ${WAITERS} held requests need about ${neededFiles} (the long-poll phase may fall short)`);
  const portRange = shell('cat /proc/sys/net/ipv4/ip_local_port_range').split(/\s+/).map(Number);

  // ---- the database: fresh, migrated, seeded directly (many thousand trades) ----
  let databaseUrl: string | undefined;
  let databaseName: string | undefined;
  const appDir = path.join(tmp, 'app');
  const bareDir = path.join(tmp, 'bare');
  if (serverUrl) {
    const created = await createServerDatabase(serverUrl);
    databaseUrl = created.url;
    databaseName = created.name;
    cleanups.push(async () => {
      await created.drop();
      say(`dropped database ${created.name}`);
    });
    say(`database: PostgreSQL, fresh database ${created.name}`);
  } else {
    say(`database: embedded PGlite in ${appDir}`);
  }

  const perSecondGuess = kind === 'postgres' ? 4000 : 1500;
  const notifyWarm = kind === 'postgres' ? 1500 : 500;
  const notifyCount = notifyWarm + perSecondGuess * SECONDS;
  const bareCount = perSecondGuess * (SECONDS + WARMUP_SECONDS) + 1000;
  const sessionSecret = crypto.randomBytes(32).toString('base64url');

  const seeding = [want('notify') ? `${notifyCount} trades for notifies, 2 x ${bareCount} for the bare transaction` : '', want('longpoll') ? `${WAITERS} for the long-poll (with sessions)` : ''];
  say(`seeding: the catalog${seeding.filter(Boolean).map((s) => `, ${s}`).join('')}`);
  const db = await openDatabase({ databaseUrl, pgliteDir: appDir });
  let NT: TradeSet = { prefix: 'NT', count: 0, totalFee: 0 };
  let bareSets: TradeSet[] = [];
  let LP: TradeSet = { prefix: 'LP', count: 0, totalFee: 0 };
  let pollCookies: string[] = [];
  let productIds: number[];
  let databaseVersion: string;
  try {
    await migrateToLatest(db.knex);
    await seedCatalogIfEmpty(db.knex);
    await plentyOfStock(db.knex);
    if (want('notify')) {
      NT = await seedTrades(db.knex, { prefix: 'NT', count: notifyCount, codeUrl: false, shopperPrefix: 's_nt' });
      bareSets = [
        await seedTrades(db.knex, { prefix: 'BA', count: bareCount, codeUrl: false, shopperPrefix: 's_ba' }),
        await seedTrades(db.knex, { prefix: 'BB', count: bareCount, codeUrl: false, shopperPrefix: 's_bb' }),
      ];
    }
    if (want('longpoll')) {
      LP = await seedTrades(db.knex, { prefix: 'LP', count: WAITERS, codeUrl: true, shopperPrefix: 's_lp' });
      pollCookies = await seedSessions(db.knex, LP, 's_lp', sessionSecret);
    }
    await db.knex.raw('ANALYZE');
    if (databaseName && SYNCHRONOUS_COMMIT) await db.knex.raw(`ALTER DATABASE ?? SET synchronous_commit = ${SYNCHRONOUS_COMMIT}`, [databaseName]);
    productIds = await Promise.all(
      JOURNEY_SKUS.map(async (sku) => ((await db.knex('products').where({ sku }).first('id')) as { id: number }).id),
    );
    databaseVersion = ((await db.knex.raw('select version() as v')) as { rows: { v: string }[] }).rows[0]?.v ?? '?';
  } finally {
    await db.close();
  }
  if (kind === 'pglite') fs.cpSync(appDir, bareDir, { recursive: true });

  say('signing one notify per trade (the simulator merchant, MD5)');
  const paidAt = new Date();
  const ntBodies = Array.from({ length: NT.count }, (_, i) => signedNotify(NT, i + 1, 'NT', paidAt));
  const warmFile = writeJson(path.join(tmp, 'notify-warm.json'), ntBodies.slice(0, notifyWarm));
  const mainFile = writeJson(path.join(tmp, 'notify-main.json'), ntBodies.slice(notifyWarm));

  const machine = {
    cpuModel: os.cpus()[0]?.model ?? '?',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    database: { kind, version: databaseVersion, name: databaseName ?? null, synchronousCommit: SYNCHRONOUS_COMMIT ?? null },
    nodeEnv: process.env.NODE_ENV ?? null,
    openFiles: { soft: softFiles, hard: hardFiles, needed: neededFiles, raisedTo: openFiles ?? null },
    ephemeralPorts: portRange.length === 2 ? `${portRange[0]}-${portRange[1]}` : null,
    settings: {
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      connections: CONNECTIONS,
      shoppers: SHOPPERS,
      waiters: WAITERS,
      burst: BURST,
      burstConcurrency: BURST_CONCURRENCY,
      profile: PROFILE,
      only: ONLY.length > 0 ? ONLY : null,
    },
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    startedAt: new Date(t0).toISOString(),
  };
  if ((os.loadavg()[0] ?? 0) > os.cpus().length) {
    say(`warning: the load average is ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} cores: other work on this machine will make the figures noisy`);
  }

  // ---- the processes ----
  const passthrough = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_OPTIONS', 'NODE_ENV'];
  const baseEnv: NodeJS.ProcessEnv = {};
  for (const key of passthrough) if (process.env[key] !== undefined) baseEnv[key] = process.env[key];
  const appEnv: NodeJS.ProcessEnv = {
    ...baseEnv,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SWEEP_INTERVAL_SECONDS: '0',
    POLL_QUERY_AFTER_SECONDS: '7200',
    POLL_MAX_WAITERS: String(Math.max(11_000, WAITERS + 1000)),
    POLL_MAX_WAIT_SECONDS: String(POLL_WAIT_SECONDS),
    // every bench shopper comes from 127.0.0.1, and each keeps its session from journey to journey:
    // the per-address and per-session checkout limits would stop the journeys after a few
    CHECKOUT_MAX_OPEN_PER_ADDRESS: '100000',
    CHECKOUT_MAX_UNITS_PER_ADDRESS: '1000000',
    CHECKOUT_MAX_OPEN_PER_SESSION: '1000',
    CHECKOUT_MAX_UNITS_PER_SESSION: '100000',
    SESSION_SECRET: sessionSecret,
    WXPAY_MODE: 'simulator',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { PGLITE_DIR: appDir }),
  };
  const printProgress = (text: string) => say(`  ${text}`);
  const started: BenchChild[] = [];
  cleanups.push(() => {
    for (const child of started) child.kill();
  });
  const startChild = async (name: string, file: string, options: Parameters<typeof BenchChild.start>[2] = {}) => {
    const child = await BenchChild.start(name, file, { onProgress: printProgress, ...options });
    started.push(child);
    return child;
  };

  say(`starting the shop (bench/app-server.ts: start() of src/main.ts, NODE_ENV ${process.env.NODE_ENV ?? 'unset'} as for npm start), the hello-world and the load process`);
  const app = await startChild('app', 'bench/app-server.ts', { env: appEnv, logFile, openFiles });
  const appUrl = String(app.readyInfo.url);
  const hello = await startChild('hello', 'bench/hello-server.ts', { env: { ...baseEnv, ...(databaseUrl ? { BENCH_DATABASE_URL: databaseUrl } : {}) } });
  const helloUrl = String(hello.readyInfo.url);
  const load = await startChild('load', 'bench/load.ts', { env: baseEnv, openFiles });
  say(`shop at ${appUrl} (pid ${app.pid}), hello-world at ${helloUrl} (pid ${hello.pid}), load pid ${load.pid}`);

  const profiles: { name: string; text: string }[] = [];
  const profiled = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    if (!PROFILE) return fn();
    await app.call('profile-start');
    try {
      return await fn();
    } finally {
      const file = path.join(RESULTS, 'profiles', `${kind}-${phase}.cpuprofile`);
      await app.call('profile-stop', { file });
      profiles.push({ name: phase, text: formatProfile(phase, summarizeProfile(file)) });
    }
  };
  const cannon = (args: Record<string, unknown>) => load.call<CannonResult>('cannon', { connections: CONNECTIONS, seconds: SECONDS, ...args });
  const describe = (label: string, r: CannonResult) => {
    say(
      `${label}: ${Math.round(r.perSecond)}/s over ${(r.elapsedMs / 1000).toFixed(1)} s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms` +
        `${r.bad ? `, ${r.bad} bad (${r.badSamples.join(' | ')})` : ''}${r.errors ? `, ${r.errors} errors` : ''}`,
    );
  };
  const warmAndMeasure = async (label: string, args: Record<string, unknown>, phase?: string) => {
    await cannon({ ...args, label: `${label} (warm-up)`, seconds: WARMUP_SECONDS });
    const run = () => cannon({ ...args, label });
    const result = phase ? await profiled(phase, run) : await run();
    describe(label, result);
    return result;
  };

  const notes: string[] = [];
  const figures: Figure[] = [];
  const kib = (bytes: number) => bytes / 1024;
  const checkAnswers = (label: string, r: CannonResult) => {
    if (r.bad || r.errors) notes.push(`${label}: ${r.bad} unexpected answers, ${r.errors} errors (${r.badSamples.join(' | ')})`);
  };

  // ---- ceiling: Express hello-world ----
  say(`phase: Express hello-world, ${CONNECTIONS} connections, ${SECONDS} s`);
  const helloRun = await warmAndMeasure('hello-world', { url: helloUrl, path: '/' });
  checkAnswers('hello-world', helloRun);
  figures.push(figure('Express hello-world (ceiling)', helloRun.perSecond, 'req/s'));
  /** the hello-world again, right after the figure it bounds: the machine is shared and drifts */
  const helloAgain = async (after: string) => {
    const r = await cannon({ url: helloUrl, path: '/', label: `hello-world after ${after}` });
    describe(`hello-world after ${after}`, r);
    checkAnswers('hello-world', r);
    return r;
  };

  // ---- reference: the same Express after one query (what a page that reads the database once can do) ----
  say(`phase: Express + one knex query (select 1 on ${kind === 'postgres' ? 'the bench database' : 'an in-memory PGlite'}), ${CONNECTIONS} connections, ${SECONDS} s`);
  const oneQueryRun = await warmAndMeasure('one-query route', { url: helloUrl, path: '/db' });
  checkAnswers('one-query route', oneQueryRun);
  figures.push(figure('Express + one knex query (reference) vs hello-world', oneQueryRun.perSecond, 'req/s', helloRun.perSecond));
  /** the one-query route again, right after a figure: what one database round trip allows here now */
  const oneQueryAgain = async (after: string) => {
    const r = await cannon({ url: helloUrl, path: '/db', label: `one-query route after ${after}` });
    describe(`one-query route after ${after}`, r);
    checkAnswers('one-query route', r);
    return r;
  };

  // ---- long-poll first, while the shop's heap has seen little else (after a warm-up round) ----
  const ramp = async (label: string, total: number, count: () => Promise<number>) => {
    const startedAt = Date.now();
    let opened = 0;
    let lastSaid = Date.now();
    while (opened < total) {
      const state = await load.call<HoldState>('hold-open', { count: Math.min(RAMP_BATCH, total - opened) });
      opened = state.opened;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const [holding, now] = await Promise.all([count(), load.call<HoldState>('hold-state')]);
        if (holding + now.answered + now.errors >= opened) break;
        if (Date.now() > deadline) throw new Error(`${label}: ${holding} held of ${opened} sent after 30 s`);
        await sleep(20);
      }
      if (Date.now() - lastSaid >= 1000) {
        lastSaid = Date.now();
        say(`  ${label}: ${await count()} of ${total} held`);
      }
    }
    const state = await load.call<HoldState>('hold-state');
    const holding = await count();
    const seconds = (Date.now() - startedAt) / 1000;
    say(
      `${label}: ${holding} held after ${seconds.toFixed(1)} s` +
        `${state.answered ? `; ${state.answered} answered early (${JSON.stringify(state.statuses)} ${state.samples.join(' | ')})` : ''}` +
        `${state.errors ? `; ${state.errors} failed (${state.errorSamples.join(' | ')})` : ''}`,
    );
    return { holding, perSecond: total / seconds, state };
  };
  const untilZero = async (count: () => Promise<number>) => {
    for (let i = 0; i < 100 && (await count()) > 0; i++) await sleep(50);
    return count();
  };
  const warmUpHolding = async (label: string, url: string, requests: { key: string; path: string; cookie?: string }[], count: () => Promise<number>) => {
    await load.call('hold-prepare', { url, requests });
    await ramp(`${label} (warm-up)`, requests.length, count);
    await load.call('hold-close');
    const left = await untilZero(count);
    if (left > 0) notes.push(`${label}: ${left} held requests still registered 5 s after the warm-up's clients went away`);
  };

  if (want('longpoll')) {
    say(`phase: bare node:http server holding ${WAITERS} requests`);
    const heldServer = await startChild('held', 'bench/held-server.ts', { env: baseEnv, openFiles });
    const heldUrl = String(heldServer.readyInfo.url);
    const heldCount = () => heldServer.call<number>('held');
    const holdPaths = (n: number) => Array.from({ length: n }, (_, i) => ({ key: String(i), path: `/hold/${i}` }));
    await warmUpHolding('bare server', heldUrl, holdPaths(Math.min(HOLD_WARMUP, WAITERS)), heldCount);
    const bareBefore = await heldServer.call<Memory>('memory');
    await load.call('hold-prepare', { url: heldUrl, requests: holdPaths(WAITERS) });
    const bareHold = await ramp('bare server', WAITERS, heldCount);
    const bareWhile = await heldServer.call<Memory>('memory');
    await heldServer.call('release');
    await sleep(200);
    await load.call('hold-close');
    await heldServer.stop();
    const bareRssPer = (bareWhile.rss - bareBefore.rss) / bareHold.holding;
    const bareHeapPer = (bareWhile.heapUsed - bareBefore.heapUsed) / bareHold.holding;
    say(`bare server: ${(bareRssPer / 1024).toFixed(2)} KiB RSS and ${(bareHeapPer / 1024).toFixed(2)} KiB heap per held request`);

    say(`phase: ${WAITERS} status polls (wait=${POLL_WAIT_SECONDS}) held by the shop, each with its owner's session cookie`);
    const lpKeys = Array.from({ length: WAITERS }, (_, i) => tradeNo(LP.prefix, i + 1));
    const pollRequests = lpKeys.map((key, i) => ({ key, path: `/pay/${key}/status?wait=${POLL_WAIT_SECONDS}`, cookie: pollCookies[i] }));
    const waiterCount = () => app.call<number>('waiters');
    await warmUpHolding('shop', appUrl, pollRequests.slice(0, Math.min(HOLD_WARMUP, WAITERS)), waiterCount);
    const appBefore = await app.call<Memory>('memory');
    await load.call('hold-prepare', { url: appUrl, requests: pollRequests });
    const heapFile = path.join(RESULTS, 'profiles', `${kind}-long-poll-held.heapprofile`);
    if (PROFILE) await app.call('heap-start');
    const pollResult = await profiled('long-poll', async () => {
      const held = await ramp('shop', WAITERS, waiterCount);
      const appWhile = await app.call<Memory>('memory');
      if (PROFILE) {
        await app.call('heap-take', { file: heapFile });
        profiles.push({ name: 'long-poll heap', text: formatHeapProfile('long-poll, polls held', heapFile, held.holding) });
      }
      say(`phase: a burst of ${BURST} notifies for ${BURST} of the waiting trades, ${BURST_CONCURRENCY} at a time`);
      const paidAtBurst = new Date();
      // the polls opened last: the furthest from their own timeout
      const notifies = lpKeys.slice(WAITERS - BURST).map((key, i) => ({ key, body: signedNotify(LP, WAITERS - BURST + i + 1, 'LP', paidAtBurst) }));
      const burst = await load.call<BurstResult>('burst', { url: appUrl, notifies, concurrency: BURST_CONCURRENCY, timeoutSeconds: 30 });
      return { held, appWhile, burst };
    });
    const { held: appHold, appWhile, burst } = pollResult;
    const afterBurst = await load.call<HoldState>('hold-close');
    const appRssPer = (appWhile.rss - appBefore.rss) / Math.max(1, appHold.holding);
    const appHeapPer = (appWhile.heapUsed - appBefore.heapUsed) / Math.max(1, appHold.holding);
    say(`shop: ${(appRssPer / 1024).toFixed(2)} KiB RSS and ${(appHeapPer / 1024).toFixed(2)} KiB heap per waiter`);
    say(
      `burst: notifies ${JSON.stringify(burst.notifyStatus)} in ${Math.round(burst.notifiesDoneMs)} ms; pollers ${JSON.stringify(burst.pollStatus)}; ` +
        `from notify sent p50 ${burst.fromSentMs.p50} ms p99 ${burst.fromSentMs.p99} ms; from notify answered p50 ${burst.fromRepliedMs.p50} ms p99 ${burst.fromRepliedMs.p99} ms`,
    );
    const otherAnswered = afterBurst.answered - burst.answered;
    if (otherAnswered > 0) notes.push(`long-poll: ${otherAnswered} pollers not in the burst were answered before the end (${JSON.stringify(afterBurst.statuses)})`);
    if (!burst.complete) notes.push(`long-poll: only ${burst.answered} of ${burst.notifies} burst pollers answered within 30 s`);
    const leftWaiting = await untilZero(waiterCount);
    if (leftWaiting > 0) notes.push(`long-poll: ${leftWaiting} waiters still registered 5 s after their clients went away`);
    figures.push(
      figure('long-poll waiters held vs bare node:http', appHold.holding, 'requests', bareHold.holding, `value >= ${WAITERS}`),
      figure('long-poll RSS per waiter vs bare node:http', kib(appRssPer), 'KiB', kib(bareRssPer), 'ratio <= 1.5'),
      figure('long-poll heap per waiter vs bare node:http', kib(appHeapPer), 'KiB', kib(bareHeapPer)),
      figure('long-poll ramp: polls set waiting vs bare node:http', appHold.perSecond, 'req/s', bareHold.perSecond),
      figure(`wake-up p50, from own notify sent (${BURST} notifies)`, burst.fromSentMs.p50, 'ms'),
      figure(`wake-up p99, from own notify sent (${BURST} notifies)`, burst.fromSentMs.p99, 'ms', null, 'value < 200'),
      figure('wake-up p99, from own notify answered', burst.fromRepliedMs.p99, 'ms'),
      figure('burst: first notify sent to last poller answered', burst.burstMs ?? null, 'ms'),
    );
  }

  // ---- the bare transaction (ceiling), right before and right after the notifies ----
  const bareTransaction = async (set: TradeSet, when: string) => {
    say(`phase: markPaid's transaction bare from Node (${kind === 'postgres' ? 'node-postgres, pool of 8' : 'PGlite, one connection'}), ${when}, ${SECONDS} s after ${WARMUP_SECONDS} s warm-up`);
    const bare = await startChild('bare-tx', 'bench/bare-tx.ts', { env: baseEnv });
    const run = await bare.call<{ perSecond: number; measured: number; elapsedMs: number; exhausted: boolean }>('run', {
      kind,
      databaseUrl,
      pgliteDir: bareDir,
      prefix: set.prefix,
      count: set.count,
      warmupSeconds: WARMUP_SECONDS,
      seconds: SECONDS,
      poolSize: 8,
    });
    await bare.stop();
    say(`bare transaction ${when}: ${Math.round(run.perSecond)} tx/s (${run.measured} in ${(run.elapsedMs / 1000).toFixed(1)} s${run.exhausted ? ', ran out of trades' : ''})`);
    return run.perSecond;
  };
  if (want('notify')) {
    const bareBeforeRate = await bareTransaction(bareSets[0] as TradeSet, 'before the notifies');

    // ---- notify: distinct valid signed notifies, each settling one trade ----
    say(`phase: distinct notifies, ${CONNECTIONS} connections, ${SECONDS} s (each trade once)`);
    const notifyArgs = { url: appUrl, method: 'POST', path: '/wxpay/notify', headers: { 'content-type': 'text/xml' }, bodyMode: 'once', expectBody: '<![CDATA[SUCCESS]]>' };
    const notifyWarmRun = await cannon({ ...notifyArgs, bodiesFile: warmFile, label: 'notify (warm-up)', seconds: WARMUP_SECONDS });
    const notifyRun = await profiled('notify', () => cannon({ ...notifyArgs, bodiesFile: mainFile, label: 'notify' }));
    describe('notify', notifyRun);
    const paidRows = await app.call<{ out_trade_no: string }[]>('query', {
      sql: "select out_trade_no from paylog where out_trade_no like 'NT%' and trade_state = 'SUCCESS'",
    });
    const answered = notifyWarmRun.ok + notifyRun.ok;
    say(`check: ${paidRows.length} NT trades are SUCCESS in the database; ${answered} notifies were answered SUCCESS (the rest of the difference: requests in flight when a run stopped)`);
    if (paidRows.length < answered) notes.push(`notify: only ${paidRows.length} trades SUCCESS for ${answered} SUCCESS answers`);

    const bareAfterRate = await bareTransaction(bareSets[1] as TradeSet, 'after the notifies');
    const bareRate = Math.max(bareBeforeRate, bareAfterRate);
    checkAnswers('notify', notifyRun);
    figures.push(
      figure('bare markPaid transaction (ceiling, best of 2)', bareRate, 'tx/s'),
      figure('notify throughput vs bare transaction', notifyRun.perSecond, 'req/s', bareRate, 'ratio >= 0.5'),
      figure('notify throughput vs hello-world', notifyRun.perSecond, 'req/s', helloRun.perSecond),
    );

    if (want('duplicate')) {
      // ---- duplicate notifies: every trade already paid ----
      say(`phase: duplicate notifies (all already paid), ${CONNECTIONS} connections, ${SECONDS} s`);
      const dupBodies = paidRows.map((r) => ntBodies[Number(r.out_trade_no.slice(2)) - 1] as string);
      const dupFile = writeJson(path.join(tmp, 'notify-dup.json'), dupBodies);
      const dupRun = await warmAndMeasure('duplicate notify', { ...notifyArgs, bodiesFile: dupFile, bodyMode: 'rotate' }, 'duplicate-notify');
      checkAnswers('duplicate notify', dupRun);
      const helloNext = await helloAgain('duplicate notifies');
      const oneQueryNext = await oneQueryAgain('duplicate notifies');
      figures.push(
        figure('duplicate notify throughput vs hello-world', dupRun.perSecond, 'req/s', helloNext.perSecond, 'ratio >= 0.3'),
        figure('duplicate notify throughput vs Express + one knex query', dupRun.perSecond, 'req/s', oneQueryNext.perSecond),
      );
    }
  }

  if (want('paypage')) {
    // ---- pay page: one shopper's existing paylog, QR code included ----
    say('phase: pay page; first a shopper over HTTP (catalog, add to cart, checkout, pay page)');
    const agent = new http.Agent({ keepAlive: true });
    const shopper = new BenchShopper(appUrl, agent);
    const payTrade = await shopper.journey([productIds[1] as number]);
    const cookie = shopper.sessionCookie as string;
    agent.destroy();
    say(`pay page of ${payTrade}, ${CONNECTIONS} connections, ${SECONDS} s`);
    const payRun = await warmAndMeasure('pay page', { url: appUrl, path: `/pay/${payTrade}`, headers: { cookie }, expectBody: '<svg' }, 'pay-page');
    checkAnswers('pay page', payRun);
    const helloNext = await helloAgain('the pay page');
    const oneQueryNext = await oneQueryAgain('the pay page');
    figures.push(
      figure('pay page throughput vs hello-world', payRun.perSecond, 'req/s', helloNext.perSecond, 'ratio >= 0.3'),
      figure('pay page throughput vs Express + one knex query', payRun.perSecond, 'req/s', oneQueryNext.perSecond),
      figure('pay page p99 latency vs hello-world p99', payRun.latency.p99, 'ms', helloNext.latency.p99),
    );
  }

  if (want('catalog')) {
    // ---- the shopper's catalog at size: home, a category, a search; 1,000 products, then 10,000 (100 sellers) ----
    const seed = async (from: number, to: number) =>
      app.call('query', {
        sql: `WITH cats AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM categories WHERE name LIKE 'bench-%'),
              p AS (INSERT INTO products (sku, title, seller, price_fen, image, category_id, status)
                    SELECT 'BENCH-' || g, '批量商品 ' || g || ' 号 ' || (CASE WHEN g % 100 = 0 THEN '明前龙井茶' ELSE '日用百货' END), 'bench-seller-' || (g % 100),
                           1000 + g % 500, '/img/placeholder.svg', (SELECT id FROM cats WHERE n = g % 10), 'on_sale'
                      FROM generate_series(?::int, ?::int) g RETURNING id, sku, price_fen),
              v AS (INSERT INTO product_variants (product_id, sku, price_fen, stock) SELECT id, sku, price_fen, 50 FROM p RETURNING id)
              INSERT INTO stock_movements (variant_id, delta, stock_after, reason, operator, note) SELECT id, 50, 50, 'initial', 'system', 'bench' FROM v`,
        bindings: [from, to],
      });
    await app.call('query', { sql: "INSERT INTO categories (name, position) SELECT 'bench-' || g, 100 + g FROM generate_series(0, 9) g ON CONFLICT (name) DO NOTHING" });
    const benchCategory = Number(((await app.call<{ id: number }[]>('query', { sql: "SELECT id FROM categories WHERE name = 'bench-1'" }))[0] as { id: number }).id);
    const pages = { home: '/', category: `/category/${benchCategory}`, search: `/search?q=${encodeURIComponent('明前龙井茶')}` };
    const measurePages = async (size: string) => {
      const result: Record<keyof typeof pages, CannonResult> = {} as Record<keyof typeof pages, CannonResult>;
      for (const [name, pagePath] of Object.entries(pages) as [keyof typeof pages, string][]) {
        result[name] = await warmAndMeasure(`catalog ${name} (${size} products)`, { url: appUrl, path: pagePath, expectBody: 'data-sku=' }, `catalog-${name}-${size}`);
        checkAnswers(`catalog ${name} (${size})`, result[name]);
      }
      return result;
    };
    say('phase: the catalog with 1,000 products (100 sellers, 10 categories), then 10,000: home, a category, a search');
    await seed(1, 1000);
    await app.call('query', { sql: 'ANALYZE' });
    const small = await measurePages('1k');
    await seed(1001, 10_000);
    await app.call('query', { sql: 'ANALYZE' });
    const large = await measurePages('10k');
    const oneQueryNext = await oneQueryAgain('the catalog pages');
    const targets = { home: 'ratio >= 0.3', category: 'ratio >= 0.3', search: 'ratio >= 0.2' } as const;
    for (const name of Object.keys(pages) as (keyof typeof pages)[]) {
      figures.push(
        figure(`catalog ${name} (10k products) vs Express + one knex query`, large[name].perSecond, 'req/s', oneQueryNext.perSecond, targets[name]),
        // the cost of a page does not grow with the catalog: 10k served at least 0.8x as fast as 1k
        figure(`catalog ${name}: 10k products vs 1k`, large[name].perSecond, 'req/s', small[name].perSecond, 'ratio >= 0.8'),
      );
    }
  }

  if (want('journeys')) {
    // ---- checkout journeys ----
    say(`phase: checkout journeys (add 2 products of 2 sellers -> checkout -> pay page with a new QR code), ${SHOPPERS} shoppers, ${SECONDS} s`);
    type JourneyResult = { journeys: number; errors: number; errorSamples: string[]; perSecond: number; latencyMs: Percentiles };
    await load.call<JourneyResult>('journeys', { url: appUrl, productIds, shoppers: SHOPPERS, seconds: WARMUP_SECONDS, label: 'journeys (warm-up)' });
    const journeyRun = await profiled('journeys', () => load.call<JourneyResult>('journeys', { url: appUrl, productIds, shoppers: SHOPPERS, seconds: SECONDS, label: 'journeys' }));
    say(
      `journeys: ${journeyRun.perSecond.toFixed(1)}/s, p50 ${journeyRun.latencyMs.p50} ms, p99 ${journeyRun.latencyMs.p99} ms` +
        `${journeyRun.errors ? `, ${journeyRun.errors} failed (${journeyRun.errorSamples.join(' | ')})` : ''}`,
    );
    if (journeyRun.errors) notes.push(`journeys: ${journeyRun.errors} failed (${journeyRun.errorSamples.join(' | ')})`);
    figures.push(figure(`checkout journeys, ${SHOPPERS} shoppers`, journeyRun.perSecond, 'journeys/s'), figure('checkout journey p99', journeyRun.latencyMs.p99, 'ms'));
  }

  if (want('hostile')) {
    // ---- /healthz while 8 clients post hostile bodies to the payment webhook as fast as they can ----
    // (the attackers run in a process of their own, so the probe's own client is not slowed by them)
    const HOSTILE_CLIENTS = 8;
    const limit = 8 * 1024 - 64;
    const hostileBodies = [
      // as deep as fits: refused at the first nesting
      `<xml>${'<a>'.repeat(Math.floor((limit - 11) / 3))}</xml>`,
      // as many fields as fit: refused past 64
      `<xml>${Array.from({ length: Math.floor((limit - 11) / 12) }, (_, i) => `<f${String(i).padStart(4, '0')}>1</f${String(i).padStart(4, '0')}>`).join('')}</xml>`.slice(0, limit),
      // one large field and a forged signature: parsed, refused at the signature, counted on one row
      `<xml><return_code>SUCCESS</return_code><out_trade_no>HOSTILE0001</out_trade_no><attach>${'x'.repeat(limit - 200)}</attach><sign>00000000000000000000000000000000</sign></xml>`,
      // a repeated field late in the body
      `<xml>${'<a>1</a>'.repeat(1)}<b>${'y'.repeat(limit - 60)}</b><a>2</a></xml>`,
    ];
    const hostileFile = writeJson(path.join(tmp, 'hostile.json'), hostileBodies);
    const probe = { url: appUrl, path: '/healthz', connections: 4, expectBody: '"ok"' };
    say(`phase: /healthz p99, idle, ${probe.connections} connections, ${SECONDS} s`);
    const idle = await warmAndMeasure('/healthz idle', probe);
    checkAnswers('/healthz idle', idle);
    const attacker = await startChild('attacker', 'bench/load.ts', { env: baseEnv, openFiles });
    say(`phase: /healthz p99 while ${HOSTILE_CLIENTS} clients post hostile bodies (${hostileBodies.map((b) => b.length).join(', ')} bytes) to /wxpay/notify`);
    const attack = attacker.call<CannonResult>('cannon', {
      url: appUrl,
      method: 'POST',
      path: '/wxpay/notify',
      headers: { 'content-type': 'text/xml' },
      bodiesFile: hostileFile,
      bodyMode: 'rotate',
      connections: HOSTILE_CLIENTS,
      seconds: SECONDS + 2,
      label: 'hostile bodies',
    });
    await sleep(1000);
    const underAttack = await cannon({ ...probe, label: '/healthz under hostile bodies' });
    const attackRun = await attack;
    await attacker.stop();
    describe('/healthz under hostile bodies', underAttack);
    describe('hostile bodies (all refused)', attackRun);
    checkAnswers('/healthz under hostile bodies', underAttack);
    const fivexx = Object.entries(attackRun.statusCodes ?? {}).filter(([code]) => code.startsWith('5'));
    if (fivexx.length > 0) notes.push(`hostile bodies: 5xx answers ${JSON.stringify(Object.fromEntries(fivexx))}`);
    figures.push(
      figure('/healthz p99 idle', idle.latency.p99, 'ms'),
      figure(`/healthz p99 while ${HOSTILE_CLIENTS} clients post hostile notify bodies vs idle`, underAttack.latency.p99, 'ms', Math.max(1, idle.latency.p99), 'ratio <= 3'),
      figure('hostile notify bodies refused', attackRun.perSecond === 0 ? (attackRun.bad ?? 0) / SECONDS : attackRun.perSecond, 'req/s'),
    );
  }

  say('stopping the shop');
  await app.stop();
  await hello.stop();
  await load.stop();

  const printed = table(figures);
  const title = `wxpay-checkout bench on ${kind}${SYNCHRONOUS_COMMIT ? ` (synchronous_commit=${SYNCHRONOUS_COMMIT})` : ''} (${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}), ${SECONDS} s per phase`;
  console.log(`\n${title}\n`);
  console.log(printed);
  for (const note of notes) console.log(`note: ${note}`);
  const missed = figures.filter((f) => met(f) === false).map((f) => f.name);
  const verdict = missed.length === 0 ? 'every target met' : `targets missed: ${missed.join('; ')}`;
  console.log(`\n${verdict}`);
  for (const p of profiles) console.log(`\n${p.text}`);

  const result = { machine, figures };
  // a profiled run (slower) or a partial one keeps latest.json for complete, unprofiled runs
  const complete = !PROFILE && ONLY.length === 0;
  const base = `latest-${kind}${PROFILE ? '-profiled' : ''}${ONLY.length > 0 ? '-partial' : ''}`;
  const written = [`${base}.json`, `${base}.txt`];
  if (complete) written.unshift('latest.json');
  for (const name of written.filter((n) => n.endsWith('.json'))) fs.writeFileSync(path.join(RESULTS, name), `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(
    path.join(RESULTS, `${base}.txt`),
    `${title}\n\n${printed}\n${notes.map((n) => `note: ${n}\n`).join('')}\n${verdict}\n${profiles.map((p) => `\n${p.text}\n`).join('')}`,
  );
  console.log(`\nwrote ${written.map((n) => `bench/results/${n}`).join(', ')}; the shop's log: ${path.relative(ROOT, logFile)}`);
}

main()
  .then(
    () => cleanUp(),
    async (err: unknown) => {
      console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await cleanUp();
      process.exitCode = 1;
    },
  )
  .finally(() => say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`));
