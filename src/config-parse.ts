import type { z } from 'zod';

/** A setting that cannot be used: one line naming the variable (start-up exits 2 with it). */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`config: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** A value through a zod schema, or a ConfigError naming the variable and what it expects. */
export function parseWith<T>(variable: string, schema: z.ZodType<T>, raw: string, expectation: string): T {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(variable, `${expectation} (got ${JSON.stringify(raw)})`);
  return result.data;
}

export function isHttpUrl(raw: string, protocols: string[]): URL | undefined {
  try {
    const url = new URL(raw);
    return protocols.includes(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}
