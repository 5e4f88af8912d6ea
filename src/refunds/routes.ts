import { Router } from 'express';
import type { ResolvedDeps } from '../app';

// Scaffold for the admin issue (#7): POST /wxpay/refund-notify lands here.
export function refundWebhookRoutes(_deps: ResolvedDeps): Router {
  return Router();
}
