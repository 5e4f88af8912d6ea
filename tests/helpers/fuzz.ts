import fc from 'fast-check';
import { scaled } from './timeouts';

/**
 * fast-check settings for the property tests: a fixed seed and a modest number of runs in
 * `npm test` (so a failure is reproducible and the suite stays quick), FUZZ_SEED and FUZZ_RUNS for
 * a longer or a different run: `FUZZ_SEED=random FUZZ_RUNS=5000 npm test -- tests/integration/fuzz`.
 * A failure prints the seed and the path that reproduce it.
 */
export function fuzzParameters(defaultRuns: number): fc.Parameters<unknown> {
  const rawSeed = process.env.FUZZ_SEED?.trim();
  const seed = rawSeed === undefined || rawSeed === '' ? 20261126 : rawSeed === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(rawSeed);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or "random" (got ${JSON.stringify(rawSeed)})`);
  const numRuns = fuzzRuns(defaultRuns);
  if (rawSeed === 'random' || process.env.FUZZ_RUNS?.trim()) console.log(`fuzz: seed ${seed}, ${numRuns} runs`);
  return { seed, numRuns, endOnFailure: true };
}

/** A fuzz test's time limit: its runs (FUZZ_RUNS or the default) at 250 ms each, scaled by TEST_TIMEOUT_SCALE (a run takes ~20 ms here). */
export function fuzzTimeout(defaultRuns: number): number {
  return scaled(30_000 + fuzzRuns(defaultRuns) * 250);
}

function fuzzRuns(defaultRuns: number): number {
  const rawRuns = process.env.FUZZ_RUNS?.trim();
  const numRuns = rawRuns === undefined || rawRuns === '' ? defaultRuns : Number(rawRuns);
  if (!Number.isSafeInteger(numRuns) || numRuns < 1) throw new Error(`FUZZ_RUNS must be a positive integer (got ${JSON.stringify(rawRuns)})`);
  return numRuns;
}

/** One XML element as the test writes it: its own serializer, independent of the app's. */
export interface Element {
  name: string;
  value: string;
  cdata: boolean;
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toXml(elements: readonly Element[], root = 'xml', separator = ''): string {
  const body = elements.map((e) => `<${e.name}>${e.cdata ? `<![CDATA[${e.value}]]>` : escapeText(e.value)}</${e.name}>`).join(separator);
  return `<${root}>${separator}${body}${separator}</${root}>`;
}

/** Byte-level damage, which no model predicts: the property only says what must never happen. */
export type ByteMutation =
  | { kind: 'none' }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; snippet: string }
  | { kind: 'duplicate'; index: number; other: string | undefined }
  | { kind: 'truncate'; at: number };

const SNIPPETS = [
  '<![CDATA[x]]>',
  ']]>',
  '&amp;',
  '&xxe;',
  '&#x41;',
  '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
  '<!ENTITY a "b">',
  '<?xml version="1.0" encoding="GBK"?>',
  '<__proto__>x</__proto__>',
  '<constructor>x</constructor>',
  '<a><b>nested</b></a>',
  '\u0000',
  '\uFFFD',
  '\u00e9',
  '</xml>',
  '<xml>',
  ' ',
  '\n',
];

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<ByteMutation>({ kind: 'none' }) },
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), snippet: fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant('duplicate' as const), index: fc.nat(), other: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/** Applies byte damage to the serialized elements (duplicate works on the elements, the rest on bytes). */
export function damage(elements: readonly Element[], mutation: ByteMutation, root = 'xml'): Buffer {
  if (mutation.kind === 'duplicate') {
    const copy = [...elements];
    const target = copy[mutation.index % copy.length];
    if (target) copy.splice(mutation.index % copy.length, 0, { ...target, value: mutation.other ?? target.value });
    return Buffer.from(toXml(copy, root), 'utf8');
  }
  const bytes = Buffer.from(toXml(elements, root), 'utf8');
  switch (mutation.kind) {
    case 'none':
      return bytes;
    case 'flip': {
      const copy = Buffer.from(bytes);
      const at = mutation.at % copy.length;
      copy[at] = (copy[at] as number) ^ (1 << mutation.bit);
      return copy;
    }
    case 'insert': {
      const at = mutation.at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(mutation.snippet, 'utf8'), bytes.subarray(at)]);
    }
    case 'truncate':
      return bytes.subarray(0, mutation.at % bytes.length);
  }
}

/** Deterministic shuffle by a seed (reordering fields is harmless: the signature sorts them). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let s = seed >>> 0 || 1;
  for (let i = copy.length - 1; i > 0; i -= 1) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** WeChat's answer to a webhook: `<xml>` with return_code SUCCESS or FAIL and nothing else around it. */
export function replyCode(body: string): 'SUCCESS' | 'FAIL' | undefined {
  const m = /^<xml><return_code><!\[CDATA\[(SUCCESS|FAIL)\]\]><\/return_code><return_msg>[\s\S]*<\/return_msg><\/xml>$/.exec(body);
  return m?.[1] as 'SUCCESS' | 'FAIL' | undefined;
}
