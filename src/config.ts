import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { z } from 'zod';
import { ConfigError, isHttpUrl, parseWith } from './config-parse';
import { loadImageConfig, type ImageConfig } from './config-images';
import { loadAftersaleConfig, type AftersaleConfig } from './config-aftersale';
import { defaultSpbillCreateIp, notPublicReason, parseHost, parseTrustProxy } from './config-network';
import { WX_BASE_URL } from './wechatpay/client';
import type { SignType } from './wechatpay/sign';
import { alertsConfigOf, type AlertsConfig } from './config-alerts';
import { V3_SETTINGS, chooseApiVersion, parseWxpayV3, type WxpayV3Credentials } from './config-wxpay-v3';

export type { AlertsConfig } from './config-alerts';

/**
 * The one place `process.env` is read. A bad or missing value stops start-up with ONE line that
 * names the variable (ConfigError, exit code 2 in main.ts). Every key is documented in .env.example.
 */

/** The simulator's own test merchant: used only in simulator mode, never in live mode. */
export const SIMULATOR_MERCHANT = {
  appId: 'wx0000000000sim001',
  mchId: '1900000109',
  apiKey: 'simulatorkey0000000000000000000a',
  /** the simulated Official Account's AppSecret (web authorization for JSAPI) */
  oaSecret: 'simulatoroasecret000000000000000',
} as const;

/** The ways to pay the shop offers, each where it fits: a QR code, H5 in a phone's browser, JSAPI in WeChat's. */
export const SHOP_TRADE_TYPES = ['NATIVE', 'MWEB', 'JSAPI'] as const;
export type ShopTradeType = (typeof SHOP_TRADE_TYPES)[number];

/**
 * How long a QR code is offered, and so how long an unpaid checkout holds its stock: 15 minutes,
 * as shops that reserve stock at checkout commonly allow; WeChat's own 2 hours would let an
 * anonymous visitor hold goods for hours.
 */
export const DEFAULT_QR_TTL_SECONDS = 900;

/**
 * The second setting simulator mode needs under NODE_ENV=production or with a real merchant's ids
 * (WXPAY_SIMULATOR_CONFIRM): the words say what it means.
 */
export const SIMULATOR_CONFIRMATION = 'no-real-money';

export { ConfigError } from './config-parse';
export type { ImageConfig } from './config-images';
export { DEFAULT_HOST, defaultSpbillCreateIp } from './config-network';

export interface Config {
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  databaseUrl: string | undefined;
  pgliteDir: string;
  sessionSecret: string | undefined;
  /**
   * Express's "trust proxy" (TRUST_PROXY): false when browsers reach the shop directly ("none"), a
   * hop count, or the proxies' addresses. Required explicitly in live mode and in production.
   */
  trustProxy: false | number | string[];
  shopName: string;
  wxpay: {
    mode: 'simulator' | 'live';
    appId: string;
    mchId: string;
    apiKey: string;
    signType: SignType;
    /** unset in simulator mode: this app's own /wxsim, known once the server listens */
    baseUrl: string | undefined;
    /** unset in simulator mode: this app's own /wxpay/notify */
    notifyUrl: string | undefined;
    pfx: Buffer | undefined;
    /**
     * unifiedorder's spbill_create_ip. For NATIVE, WeChat's field table asks for the IP of the
     * machine that calls the API, not the shopper's (H5 is the trade type that needs the shopper's).
     */
    spbillCreateIp: string;
    /**
     * the trade types offered (WXPAY_TRADE_TYPES); NATIVE always. MWEB and JSAPI need their own
     * permissions on the merchant platform, so in live mode only what is listed.
     */
    tradeTypes: readonly ShopTradeType[];
    /** the Official Account's AppSecret for its web authorization (JSAPI's openid); the AppID is WXPAY_APPID */
    oaSecret: string | undefined;
    /** the API new payments are ordered on (WXPAY_API_VERSION, or what the credentials allow); v2 false: no v2 key (a live v3-only shop) */
    apiVersion: 'v2' | 'v3';
    v2Enabled: boolean;
    /** the APIv3 credentials, when given (simulator mode on v3 without them: the simulator's, made and kept at start) */
    v3: WxpayV3Credentials | undefined;
  };
  /**
   * the shop's public address (SHOP_URL): H5's scene_info and the pages WeChat sends the payer back
   * to. Required in live mode with MWEB or JSAPI; unset in simulator mode: the address each
   * request came to.
   */
  shopUrl: string | undefined;
  payQrTtlSeconds: number;
  /** a cash-on-delivery order the merchant has not accepted within this many hours is cancelled */
  codAcceptHours: number;
  /** open (unpaid) checkouts and units one session and one network address may hold */
  checkoutLimits: { openPerSession: number; unitsPerSession: number; openPerAddress: number; unitsPerAddress: number };
  poll: {
    /** the longest a status request is held open */
    maxWaitSeconds: number;
    /** waiting status requests one instance holds; beyond it 503 with Retry-After */
    maxWaiters: number;
    /** of those, what one session may hold (a shopper with a few tabs open); beyond it 503 */
    maxWaitersPerSession: number;
    /** of those, what one trade may have */
    maxWaitersPerTrade: number;
    /** a trade still NOTPAY this long after its QR code was issued is asked about (orderquery) */
    queryAfterSeconds: number;
    /** at most one orderquery per trade per this many seconds, across all pollers and instances */
    queryIntervalSeconds: number;
  };
  sweeper: {
    /** how often each instance looks for expired and forgotten trades; 0 turns the sweeper off */
    intervalSeconds: number;
    /** how many trades one sweep handles at most */
    batchSize: number;
  };
  simulator: {
    /** divides WeChat's notify retry schedule and the refund delay: 60 makes 15 s into 0.25 s */
    timeScale: number;
    /** how long a simulated refund stays PROCESSING before it succeeds and is notified */
    refundDelaySeconds: number;
  };
  admin: { user: string; passwordHash: string | undefined };
  /** a bearer token /metrics asks for; unset = /metrics is open (fine for the demo, not for production) */
  metricsToken: string | undefined;
  /** NODE_ENV=production: the demo's conveniences are off (see WXPAY_MODE) */
  production: boolean;
  /** the bare demo (`npm start`): simulator mode without NODE_ENV=production; request lines are logged at debug */
  demo: boolean;
  /** product images: the largest upload, and where the resized files are kept (every instance serves the same) */
  images: ImageConfig;
  /** after "paid": the clock completes a shipped order this many days after it left (AUTO_COMPLETE_DAYS) */
  fulfilment: { autoCompleteDays: number };
  /** the merchant's alerts (ALERT_*): each channel on when its URL is set */
  alerts: AlertsConfig;
  /** after-sales (AFTERSALE_*): whether a paid order cancelled before shipment is refunded at once */
  aftersale: AftersaleConfig;
}


const optional = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : s.trim());

const portSchema = z.coerce.number().int().min(0).max(65535);
const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const modeSchema = z.enum(['simulator', 'live']);
const signTypeSchema = z.enum(['MD5', 'HMAC-SHA256']);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const get = (name: string) => optional(env[name]);

  const port = parseWith('PORT', portSchema, get('PORT') ?? '3000', 'must be an integer between 0 and 65535');
  const logLevel = parseWith('LOG_LEVEL', logLevelSchema, get('LOG_LEVEL') ?? 'info', 'must be one of fatal, error, warn, info, debug, trace, silent');

  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined && !isHttpUrl(databaseUrl, ['postgres:', 'postgresql:'])) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL (unset it to use embedded PGlite)');
  }

  const sessionSecret = get('SESSION_SECRET');
  if (sessionSecret !== undefined && sessionSecret.length < 32) {
    throw new ConfigError('SESSION_SECRET', 'must be at least 32 characters (unset it to have one generated and kept in the database)');
  }

  const production = get('NODE_ENV') === 'production';
  const modeRaw = get('WXPAY_MODE');
  if (modeRaw === undefined) {
    // fail closed: a shop with real credentials (or in production) must never take "orders" that
    // its own simulator pays, so the default simulator mode is for the bare demo only
    const credential = ['WXPAY_APPID', 'WXPAY_MCH_ID', 'WXPAY_API_KEY', 'WXPAY_PFX_PATH', ...V3_SETTINGS].find((name) => get(name) !== undefined);
    if (credential !== undefined || production) {
      const why = credential !== undefined ? `${credential} is set` : 'NODE_ENV=production';
      throw new ConfigError('WXPAY_MODE', `must be set to live or simulator explicitly when ${why} (refusing to start in simulator mode by default)`);
    }
  }
  const mode = parseWith('WXPAY_MODE', modeSchema, modeRaw ?? 'simulator', 'must be simulator or live');
  const live = mode === 'live';
  if (!live) {
    // simulator mode pays every order itself: with a real merchant's ids, or in production, that
    // is goods for free unless someone says, in a second setting, that this is what they want
    const foreign = (
      [
        ['WXPAY_APPID', SIMULATOR_MERCHANT.appId],
        ['WXPAY_MCH_ID', SIMULATOR_MERCHANT.mchId],
        ['WXPAY_API_KEY', SIMULATOR_MERCHANT.apiKey],
        ['WXPAY_PFX_PATH', undefined],
        ...V3_SETTINGS.map((name) => [name, undefined] as const),
      ] as const
    ).find(([name, own]) => get(name) !== undefined && get(name) !== own)?.[0];
    const confirm = get('WXPAY_SIMULATOR_CONFIRM');
    if (confirm !== undefined && confirm !== SIMULATOR_CONFIRMATION) {
      throw new ConfigError('WXPAY_SIMULATOR_CONFIRM', `must be ${SIMULATOR_CONFIRMATION} or unset (got ${JSON.stringify(confirm)})`);
    }
    if ((foreign !== undefined || production) && confirm === undefined) {
      const why = foreign !== undefined ? `${foreign} is set to a merchant's own value` : 'NODE_ENV=production';
      throw new ConfigError(
        'WXPAY_SIMULATOR_CONFIRM',
        `must be set to ${SIMULATOR_CONFIRMATION} to run WXPAY_MODE=simulator when ${why}: the simulator pays every order itself, no real money moves (use WXPAY_MODE=live to take payments)`,
      );
    }
  }
  const signType = parseWith('WXPAY_SIGN_TYPE', signTypeSchema, get('WXPAY_SIGN_TYPE') ?? 'MD5', 'must be MD5 or HMAC-SHA256');

  const merchantValue = (name: string, fallback: string, pattern: RegExp, expectation: string): string => {
    const raw = get(name);
    if (raw === undefined) {
      if (live) throw new ConfigError(name, 'is required when WXPAY_MODE=live');
      return fallback;
    }
    if (!pattern.test(raw)) throw new ConfigError(name, `${expectation} (got ${JSON.stringify(raw)})`);
    return raw;
  };
  const appId = merchantValue('WXPAY_APPID', SIMULATOR_MERCHANT.appId, /^wx[0-9A-Za-z]{16}$/, 'must be "wx" followed by 16 letters or digits');
  const mchId = merchantValue('WXPAY_MCH_ID', SIMULATOR_MERCHANT.mchId, /^\d{6,16}$/, 'must be the digits of the merchant id');
  const apiKeyRaw = get('WXPAY_API_KEY');
  // APIv3 credentials (config-wxpay-v3.ts); a live shop needs the v2 key only when it has none
  const v3 = parseWxpayV3(get);
  const apiVersion = chooseApiVersion(get, { live, v2Key: apiKeyRaw !== undefined, v3 });
  const v2Enabled = !live || apiKeyRaw !== undefined;
  if (apiKeyRaw === undefined && live && v3 === undefined) throw new ConfigError('WXPAY_API_KEY', 'is required when WXPAY_MODE=live (or the APIv3 credentials: see README "Going live on APIv3")');
  if (apiKeyRaw !== undefined && !/^[0-9A-Za-z]{32}$/.test(apiKeyRaw)) {
    // never echo a secret back into the log
    throw new ConfigError('WXPAY_API_KEY', 'must be the 32-character v2 API key (letters and digits)');
  }
  const apiKey = apiKeyRaw ?? SIMULATOR_MERCHANT.apiKey;

  const baseUrlRaw = get('WXPAY_BASE_URL');
  if (baseUrlRaw !== undefined && !isHttpUrl(baseUrlRaw, live ? ['https:'] : ['http:', 'https:'])) {
    throw new ConfigError('WXPAY_BASE_URL', live ? 'must be an https:// URL in live mode' : 'must be an http(s):// URL');
  }
  const baseUrl = (baseUrlRaw ?? (live ? WX_BASE_URL : undefined))?.replace(/\/+$/, '');

  const notifyUrlRaw = get('WXPAY_NOTIFY_URL');
  if (notifyUrlRaw === undefined && live) throw new ConfigError('WXPAY_NOTIFY_URL', 'is required when WXPAY_MODE=live (the public https URL of /wxpay/notify)');
  if (notifyUrlRaw !== undefined) {
    const url = isHttpUrl(notifyUrlRaw, live ? ['https:'] : ['http:', 'https:']);
    if (!url) throw new ConfigError('WXPAY_NOTIFY_URL', live ? 'must be a public https:// URL in live mode' : 'must be an http(s):// URL');
    if (url.search !== '' || notifyUrlRaw.includes('?')) throw new ConfigError('WXPAY_NOTIFY_URL', 'must not have a query string (WeChat drops it)');
    if (notifyUrlRaw.length > 256) throw new ConfigError('WXPAY_NOTIFY_URL', 'must be at most 256 characters');
    if (notifyUrlRaw.includes('#')) throw new ConfigError('WXPAY_NOTIFY_URL', 'must not have a fragment (#...)');
    const notPublic = live ? notPublicReason(notifyUrlRaw, url) : undefined;
    if (notPublic) throw new ConfigError('WXPAY_NOTIFY_URL', `${notPublic} (WeChat's servers call it)`);
  }

  const pfxPath = get('WXPAY_PFX_PATH');
  // refunds go over mutual TLS: a live shop without its certificate could take money it cannot give back
  if (pfxPath === undefined && live && v2Enabled) throw new ConfigError('WXPAY_PFX_PATH', 'is required when WXPAY_MODE=live (the merchant certificate apiclient_cert.p12, for refunds)');
  let pfx: Buffer | undefined;
  if (pfxPath !== undefined) {
    try {
      pfx = fs.readFileSync(pfxPath);
    } catch (err) {
      throw new ConfigError('WXPAY_PFX_PATH', `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)} (${pfxPath})`);
    }
    // a certificate that does not open would only show at the first refund: check it now
    try {
      tls.createSecureContext({ pfx, passphrase: mchId });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ConfigError('WXPAY_PFX_PATH', `does not open as a p12 with the mch_id as passphrase: ${reason} (${pfxPath}; see README "Going live" for re-packing an old p12)`);
    }
  }

  const tradeTypesRaw = get('WXPAY_TRADE_TYPES');
  const tradeTypes = tradeTypesRaw === undefined ? (live ? ['NATIVE'] : [...SHOP_TRADE_TYPES]) : tradeTypesRaw.split(',').map((t) => t.trim().toUpperCase());
  const unknownType = tradeTypes.find((t) => !(SHOP_TRADE_TYPES as readonly string[]).includes(t));
  if (unknownType !== undefined) throw new ConfigError('WXPAY_TRADE_TYPES', `lists ${JSON.stringify(unknownType)}: use a comma-separated list of NATIVE, MWEB, JSAPI`);
  if (!tradeTypes.includes('NATIVE')) throw new ConfigError('WXPAY_TRADE_TYPES', 'must include NATIVE (desktop browsers pay with a QR code)');
  const oaSecretRaw = get('WXPAY_OA_SECRET');
  if (oaSecretRaw !== undefined && !/^[0-9A-Za-z]{32}$/.test(oaSecretRaw)) {
    throw new ConfigError('WXPAY_OA_SECRET', "must be the Official Account's 32-character AppSecret (letters and digits)");
  }
  if (live && tradeTypes.includes('JSAPI') && oaSecretRaw === undefined) {
    throw new ConfigError('WXPAY_OA_SECRET', "is required when WXPAY_TRADE_TYPES lists JSAPI (the Official Account's AppSecret, for the payer's openid)");
  }
  const oaSecret = oaSecretRaw ?? (live ? undefined : SIMULATOR_MERCHANT.oaSecret);

  const shopUrlRaw = get('SHOP_URL');
  let shopUrl: string | undefined;
  if (shopUrlRaw !== undefined) {
    const url = isHttpUrl(shopUrlRaw, live ? ['https:'] : ['http:', 'https:']);
    if (!url || url.pathname !== '/' || url.search !== '' || url.hash !== '' || shopUrlRaw.includes('#') || shopUrlRaw.includes('?')) {
      throw new ConfigError('SHOP_URL', `must be the shop's public ${live ? 'https://' : 'http(s)://'} address, scheme and host only (got ${JSON.stringify(shopUrlRaw)})`);
    }
    const notPublic = live ? notPublicReason(shopUrlRaw, url) : undefined;
    if (notPublic) throw new ConfigError('SHOP_URL', `${notPublic} (shoppers' phones and WeChat open it)`);
    if (url.username !== '' || url.password !== '') throw new ConfigError('SHOP_URL', 'must not carry a user name or password');
    shopUrl = url.origin;
  } else if (live && (tradeTypes.includes('MWEB') || tradeTypes.includes('JSAPI'))) {
    // H5's registered domain and the web authorization's redirect_uri are where shoppers browse,
    // which need not be where WeChat's notifies arrive: no guessing
    throw new ConfigError('SHOP_URL', "is required when WXPAY_TRADE_TYPES lists MWEB or JSAPI in live mode (the shop's public https:// address, as shoppers open it)");
  }

  const spbillCreateIp = get('WXPAY_SPBILL_CREATE_IP') ?? defaultSpbillCreateIp();
  if (net.isIP(spbillCreateIp) === 0) {
    throw new ConfigError('WXPAY_SPBILL_CREATE_IP', `must be an IPv4 or IPv6 address (got ${JSON.stringify(spbillCreateIp)})`);
  }

  const payQrTtlSeconds = parseWith(
    'PAY_QR_TTL_SECONDS',
    z.coerce.number().int().min(600).max(7200),
    get('PAY_QR_TTL_SECONDS') ?? String(DEFAULT_QR_TTL_SECONDS),
    'must be an integer number of seconds between 600 and 7200 (WeChat keeps a code_url 2 hours and wants at least 5 minutes)',
  );

  const timeScale = parseWith('SIM_TIME_SCALE', z.coerce.number().min(1).max(100000), get('SIM_TIME_SCALE') ?? '1', 'must be a number from 1 to 100000');
  const refundDelaySeconds = parseWith(
    'SIM_REFUND_DELAY_SECONDS',
    z.coerce.number().min(0).max(86400),
    get('SIM_REFUND_DELAY_SECONDS') ?? '5',
    'must be a number of seconds from 0 to 86400',
  );

  const intSetting = (name: string, fallback: string, min: number, max: number, unit = '') =>
    parseWith(name, z.coerce.number().int().min(min).max(max), get(name) ?? fallback, `must be a whole number${unit} from ${min} to ${max}`);
  const poll = {
    maxWaitSeconds: intSetting('POLL_MAX_WAIT_SECONDS', '25', 1, 120, ' of seconds'),
    maxWaiters: intSetting('POLL_MAX_WAITERS', '20000', 1, 1_000_000),
    maxWaitersPerSession: intSetting('POLL_MAX_WAITERS_PER_SESSION', '4', 1, 1000),
    maxWaitersPerTrade: intSetting('POLL_MAX_WAITERS_PER_TRADE', '4', 1, 1000),
    queryAfterSeconds: intSetting('POLL_QUERY_AFTER_SECONDS', '15', 0, 7200, ' of seconds'),
    queryIntervalSeconds: intSetting('POLL_QUERY_INTERVAL_SECONDS', '10', 1, 3600, ' of seconds'),
  };
  const codAcceptHours = intSetting('COD_ACCEPT_HOURS', '48', 1, 720, ' of hours');
  const checkoutLimits = {
    openPerSession: intSetting('CHECKOUT_MAX_OPEN_PER_SESSION', '3', 1, 1000),
    unitsPerSession: intSetting('CHECKOUT_MAX_UNITS_PER_SESSION', '30', 1, 100_000),
    openPerAddress: intSetting('CHECKOUT_MAX_OPEN_PER_ADDRESS', '20', 1, 100_000),
    unitsPerAddress: intSetting('CHECKOUT_MAX_UNITS_PER_ADDRESS', '200', 1, 1_000_000),
  };
  const sweeper = {
    intervalSeconds: intSetting('SWEEP_INTERVAL_SECONDS', '60', 0, 86400, ' of seconds'),
    batchSize: intSetting('SWEEP_BATCH_SIZE', '50', 1, 1000),
  };

  const adminUser = get('ADMIN_USER') ?? 'admin';
  if (!/^[\w.@-]{1,64}$/.test(adminUser)) throw new ConfigError('ADMIN_USER', 'must be 1-64 letters, digits or . _ @ -');
  const adminPasswordHash = get('ADMIN_PASSWORD_HASH');
  if (adminPasswordHash !== undefined && !/^scrypt\$/.test(adminPasswordHash)) {
    throw new ConfigError('ADMIN_PASSWORD_HASH', 'must be a hash made by `npm run admin:hash` (starts with "scrypt$")');
  }

  const metricsToken = get('METRICS_TOKEN');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    // never echo a secret back into the log
    throw new ConfigError('METRICS_TOKEN', 'must be 16-256 printable characters without spaces');
  }

  const fulfilment = { autoCompleteDays: intSetting('AUTO_COMPLETE_DAYS', '10', 1, 60, ' of days') };
  const alerts = alertsConfigOf({ get, live, intSetting, isUrl: (raw, protocols) => isHttpUrl(raw, protocols) !== undefined, fail: (variable, problem) => new ConfigError(variable, problem) });
  if (live && shopUrl === undefined && (alerts.wecom || alerts.dingtalk || alerts.feishu || alerts.webhook)) {
    throw new ConfigError('SHOP_URL', "is required when an ALERT_* channel is set in live mode (the alerts link to the shop's admin pages)");
  }

  const shopName = get('SHOP_NAME') ?? '示例小店';
  if (shopName.length > 40) throw new ConfigError('SHOP_NAME', 'must be at most 40 characters');

  const trustProxy = parseTrustProxy(get('TRUST_PROXY'), live ? 'in live mode' : production ? 'with NODE_ENV=production' : undefined);
  const host = parseHost(get('HOST'));

  return {
    port,
    host,
    logLevel,
    databaseUrl,
    pgliteDir: get('PGLITE_DIR') ?? './data/pglite',
    sessionSecret,
    trustProxy,
    shopName,
    wxpay: { mode, appId, mchId, apiKey, signType, baseUrl, notifyUrl: notifyUrlRaw, pfx, spbillCreateIp, tradeTypes: tradeTypes as ShopTradeType[], oaSecret, apiVersion, v2Enabled, v3 },
    shopUrl,
    payQrTtlSeconds,
    checkoutLimits,
    codAcceptHours,
    poll,
    sweeper,
    simulator: { timeScale, refundDelaySeconds },
    admin: { user: adminUser, passwordHash: adminPasswordHash },
    metricsToken,
    production,
    demo: !live && !production,
    images: loadImageConfig(get),
    fulfilment,
    alerts,
    aftersale: loadAftersaleConfig(get),
  };
}
