import { Router } from 'express';
import type { ResolvedDeps } from '../app';

// Scaffold for the admin issue (#7), being written now: every /admin route lands here.
export function adminRoutes(_deps: ResolvedDeps): Router {
  return Router();
}
