import path from 'node:path';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import pino from 'pino';
import pinoHttp from 'pino-http';
import { adminRoutes } from './admin/routes';
import { adminCredentials, adminMemberForSimulatorFaults, requireAdmin } from './admin/auth';
import { auditActions } from './admin/audit';
import { need } from './admin/permissions';
import { mediaRoutes } from './images/routes';
import { productAdminRoutes } from './products/routes';
import { shopSettingsRoutes } from './shop/routes';
import { shopFace } from './shop/settings';
import { CSV_UPLOAD_PATHS, IMAGE_UPLOAD_PATH, csvUpload, imageUpload } from './products/uploads';
import { BATCH_UPLOAD_PATH, batchUpload } from './admin/csv-upload';
import { cartRoutes } from './cart/routes';
import { catalogRoutes } from './catalog/routes';
import { checkoutRoutes } from './checkout/routes';
import { orderRoutes } from './orders/routes';
import { aftersaleRoutes } from './aftersales/routes';
import { aftersaleAdminRoutes } from './aftersales/admin-routes';
import { csrfProtection } from './http/csrf';
import { noStore, refuseControlCharacters } from './http/form-guard';
import { metricsAuth } from './http/metrics-auth';
import { errorHandler, notFoundHandler } from './http/errors';
import { localeMiddleware } from './http/locale';
import { formatDateTime, translator } from './i18n';
import { formatFen } from './money';
import { SESSION_COOKIE_NAME } from './http/session-cookie';
import { KnexSessionStore } from './http/session-store';
import { createMetrics } from './metrics';
import { payRoutes } from './pay/routes';
import { markPaidOutcomes } from './ledger';
import { createStatusPoll, type StatusPoll } from './pay/status-routes';
import { webhookRoutes } from './webhooks/routes';
import type { AppDeps, ResolvedDeps } from './deps';

export type { AppDeps, Clock, ResolvedDeps } from './deps';

export interface App extends express.Express {
  locals: express.Express['locals'] & { deps: ResolvedDeps; statusPoll: StatusPoll; close(): void };
}

const ROOT = path.resolve(__dirname, '..');
const PAGE_DEFAULTS = {
  locale: 'zh',
  t: translator('zh'),
  formatFen,
  formatDateTime,
  langSwitchHref: '/?lang=en',
  cartCount: 0,
  flash: undefined,
  csrfToken: () => '',
  demoMode: false,
};
const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** The paths under which pages show a receiver's name, mobile or address: `Cache-Control: no-store`. */
export const PERSONAL_PAGES = ['/checkout', '/pay', '/orders', '/admin'] as const;

/**
 * Builds the Express app from what it is given; never listens, never connects.
 * The only place where middleware and routers are wired.
 */
export function createApp(deps: AppDeps): App {
  const logger = deps.logger ?? pino({ level: deps.config.logLevel });
  const metrics = deps.metrics ?? createMetrics();
  if (!metrics.registry.getSingleMetric('pay_markpaid_outcomes_total')) metrics.registry.registerMetric(markPaidOutcomes);
  const full: ResolvedDeps = { ...deps, logger, metrics };
  const { config, db } = full;

  const app = express() as App;
  app.set('views', path.join(ROOT, 'views'));
  app.set('view engine', 'ejs');
  // compiled templates are kept (Express only does so by itself under NODE_ENV=production);
  // `npm run dev` restarts on a view change instead
  app.set('view cache', true);
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');

  // the status long-poll: thousands held at once, so served ahead of Express's own machinery
  // (main.ts hands it the raw request before the app; here it is first for users of the app alone)
  const statusPoll = createStatusPoll(full);
  app.use((req, res, next) => {
    if (!statusPoll.handle(req, res)) next();
  });
  app.use(metrics.middleware);
  app.use(
    pinoHttp({
      logger,
      serializers: {
        // a web authorization's code and state, and the AppSecret of the simulator's code exchange, never reach the log
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.replace(/([?&](?:secret|code|state)=)[^&#]*/gi, '$1[redacted]') }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
      // the bare demo keeps its terminal for the start-up lines (the one-time password): its
      // requests are logged at debug (LOG_LEVEL=debug shows them)
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : config.demo ? 'debug' : 'info'),
    }),
  );

  // WeChat's side of the wire first: raw bodies, XML answers, no session, no CSRF, no page headers
  app.use(webhookRoutes(full));

  // What every page (the error page too) needs, before anything can fail: the real values come
  // later (locale, session), but an error raised earlier still renders in Chinese, not as a stack.
  app.use((_req, res, next) => {
    // simulator mode: every page says that no real money moves here
    Object.assign(res.locals, { ...PAGE_DEFAULTS, shopName: config.shopName, demoMode: config.wxpay.mode === 'simulator' });
    next();
  });
  app.use(
    helmet({
      // WeChat's H5 cashier accepts the payer only from the shop's registered domain, which it reads
      // from the Referer: helmet's default (no-referrer) would make every H5 payment fail with
      // "商家参数格式有误". Other sites get our origin only, never a page's path.
      referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'script-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          // a form may lead on to WeChat: its H5 cashier, its web authorization (see main.ts)
          'form-action': ["'self'", ...deps.wxpay.browserOrigins],
          // plain-http deployments on a LAN or 127.0.0.1 must still load their own CSS
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );

  app.get('/healthz', async (_req, res) => {
    try {
      await db.knex.raw('select 1');
      res.json({ status: 'ok', database: db.kind });
    } catch {
      res.status(503).json({ status: 'unavailable', database: db.kind });
    }
  });
  app.get('/metrics', metricsAuth(config.metricsToken), async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // static files only under their own paths, so other requests do not look on the disk first
  for (const dir of ['css', 'js', 'img']) app.use(`/${dir}`, express.static(path.join(ROOT, 'public', dir), { maxAge: '1h', index: false }));
  app.get('/favicon.svg', (_req, res) => res.sendFile(path.join(ROOT, 'public', 'favicon.svg'), { maxAge: '1d' }));
  // uploaded product images, immutable by content key (no session, like the static files)
  app.use(mediaRoutes(full));
  const sessionStore = new KnexSessionStore(db.knex, { defaultTtlMs: SESSION_TTL_MS, clock: full.clock });
  sessionStore.on('error', (err: unknown) => logger.warn({ err }, 'session sweep failed'));
  const sessions = session({
    name: SESSION_COOKIE_NAME,
    secret: config.sessionSecret,
    store: sessionStore,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: SESSION_TTL_MS },
  });

  // the simulator (WeChat's stand-in and its phone pages): its own parsers, no shop session, but
  // for its fault panel and fault API, which are the admin's (main.ts gives it the admin guard)
  const owner = adminCredentials(config.admin, logger);
  if (deps.simulator) {
    // the member as they stand now: a removed or demoted owner's session no longer moves faults
    app.use(['/wxsim/faults', '/wxsim/panel'], sessions, adminMemberForSimulatorFaults(db.knex, owner));
    app.use('/wxsim', deps.simulator.router);
  }

  app.use(sessions);
  app.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 200 }));
  // pages with a receiver's name or phone are never cached (tests/integration/abuse/no-store.test.ts
  // looks at every page for personal data)
  for (const prefix of PERSONAL_PAGES) app.use(prefix, noStore);
  app.use(localeMiddleware);
  // after the locale, so the 400 is in the shopper's language
  app.use(refuseControlCharacters);
  app.use((req, res, next) => {
    res.locals.shopName = config.shopName;
    res.locals.cartCount = Object.values(req.session.cart ?? {}).reduce((sum, q) => sum + q, 0);
    // a one-time message from the previous request (e.g. "added to cart")
    res.locals.flash = req.session.flash;
    if (req.session.flash && req.method === 'GET') delete req.session.flash;
    next();
  });
  // the admin's uploads (multipart): parsed after the admin check and before the CSRF check reads `_csrf`
  const adminAudited = [requireAdmin(db.knex, owner), auditActions(db.knex, full.clock, logger)];
  app.post(IMAGE_UPLOAD_PATH, ...adminAudited, need('catalog'), imageUpload(config.images.maxBytes));
  app.post(CSV_UPLOAD_PATHS, ...adminAudited, need('catalog'), csvUpload);
  app.post(BATCH_UPLOAD_PATH, ...adminAudited, need('orders'), batchUpload);
  app.use(csrfProtection(config.sessionSecret));
  // the merchant's name, footer, contact and ICP number (admin settings, cached a few seconds)
  app.use(shopFace(db.knex));

  app.use(orderRoutes(full));
  app.use(aftersaleRoutes(full));
  app.use(catalogRoutes(full));
  app.use(cartRoutes(full));
  app.use(checkoutRoutes(full));
  app.use(payRoutes(full));
  app.use('/admin', adminRoutes(full, owner, [productAdminRoutes(full), shopSettingsRoutes(full), aftersaleAdminRoutes(full)]));

  app.use(notFoundHandler);
  app.use(errorHandler(logger));

  app.locals.deps = full;
  app.locals.statusPoll = statusPoll;
  app.locals.close = () => sessionStore.close();
  return app;
}
