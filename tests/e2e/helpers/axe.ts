import fs from 'node:fs';
import type { Page } from 'playwright-core';

/** The two sizes every page is checked at: a laptop and a phone. */
export const VIEWPORTS = [
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
] as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core (the npm package's own script, evaluated in the page: no browser download) on the
 * page as it is, and answers the serious and critical violations, one line each.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  axeSource ??= fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axeSource);
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as { violations: AxeViolation[] };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(n.target)}${n.failureSummary ? ` - ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`));
}

/**
 * The page at both sizes (laptop and phone) passes axe-core with no serious or critical
 * violation; the page's own viewport is put back afterwards. Throws naming the page and each node.
 */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const original = page.viewportSize();
  const found: string[] = [];
  try {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      for (const line of await seriousViolations(page)) found.push(`${viewport.width}px: ${line}`);
    }
  } finally {
    if (original) await page.setViewportSize(original);
  }
  if (found.length > 0) throw new Error(`axe-core finds serious or critical violations on ${what} (${page.url()}):\n${found.join('\n')}`);
}
