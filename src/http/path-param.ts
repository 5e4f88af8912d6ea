import type { Request, Response, Router } from 'express';

/**
 * What a path parameter names, loaded ONCE per request before any handler of `router` runs
 * (Express's router.param), and handed to every handler by the accessor this returns. `load`
 * throws (a 404 for people) for a malformed or unknown value, so no handler ever sees one.
 */
export function loadPathParam<T extends object>(router: Router, name: string, load: (value: string, req: Request, res: Response) => Promise<T>): (req: Request) => T {
  const loaded = new WeakMap<Request, T>();
  router.param(name, async (req, res, next, value: string) => {
    loaded.set(req, await load(value, req, res));
    next();
  });
  return (req) => {
    const found = loaded.get(req);
    if (!found) throw new Error(`route without its :${name} parameter`);
    return found;
  };
}
