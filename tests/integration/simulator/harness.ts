import { manualClock as baseManualClock, type ManualClock } from '../../helpers/clock';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { createSimulator, type Simulator } from '../../../src/simulator';
import { WxBusinessError, buildXml, createWxPayClient, signFields, type Fields, type SignType, type WxPayClient } from '../../../src/wechatpay';
import { createTestDatabase, type TestDatabase } from '../../helpers/testdb';

/** The simulator over real HTTP on 127.0.0.1, port 0, on a fresh database, with a manual clock. */

export interface TestMerchant {
  appId: string;
  mchId: string;
  apiKey: string;
  name: string;
}

export const MD5_MERCHANT: TestMerchant = { appId: 'wx1111111111111111', mchId: '1900000001', apiKey: 'md5merchantkey000000000000000001', name: '测试小店' };
export const HMAC_MERCHANT: TestMerchant = { appId: 'wx2222222222222222', mchId: '1900000002', apiKey: 'hmacmerchantkey00000000000000002', name: 'HMAC 小店' };
export const MERCHANTS: [string, TestMerchant, SignType][] = [
  ['MD5', MD5_MERCHANT, 'MD5'],
  ['HMAC-SHA256', HMAC_MERCHANT, 'HMAC-SHA256'],
];

/** 2026-11-25 10:00:00 in Beijing. */
export const T0 = new Date('2026-11-25T02:00:00Z');

export type { ManualClock } from '../../helpers/clock';

export function manualClock(start: Date = T0): ManualClock {
  return baseManualClock(start);
}

/** The WxBusinessError a call is expected to end with (the test fails if it resolves or throws another). */
export async function businessError(promise: Promise<unknown>): Promise<WxBusinessError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WxBusinessError);
  return err as WxBusinessError;
}

export interface Harness {
  testDb: TestDatabase;
  knex: TestDatabase['db']['knex'];
  clock: ManualClock;
  sim: Simulator;
  /** http://127.0.0.1:port/wxsim */
  baseUrl: string;
  client(merchant: TestMerchant, signType: SignType): WxPayClient;
  /** POSTs a raw body to an API path under /wxsim */
  postRaw(path: string, body: string | Buffer, contentType?: string): Promise<{ status: number; contentType: string; text: string }>;
  /** a signed request body as a merchant's SDK would send it */
  signedXml(merchant: TestMerchant, signType: SignType, fields: Fields): string;
  /** the phone: scans a code_url, returns the page and its form token */
  scan(codeUrl: string): Promise<{ status: number; html: string; token: string | undefined }>;
  /** the phone's Pay (or Cancel) button; without a token it scans first for the page's token */
  pay(codeUrl: string, options?: { token?: string; headers?: Record<string, string>; action?: 'pay' | 'cancel' }): Promise<{ status: number; html: string }>;
  /** replaces the simulator by a new one on the same database (a restart) */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  timeScale?: number;
  refundDelayMs?: number;
  notifyTimeoutMs?: number;
  clock?: ManualClock;
  testDb?: TestDatabase;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const testDb = options.testDb ?? (await createTestDatabase());
  const clock = options.clock ?? manualClock();
  const logger = pino({ level: 'silent' });
  const make = () =>
    createSimulator({
      knex: testDb.db.knex,
      clock,
      timeScale: options.timeScale ?? 1,
      refundDelayMs: options.refundDelayMs ?? 5000,
      logger,
      notifyTimeoutMs: options.notifyTimeoutMs ?? 2000,
    });
  let sim = make();
  for (const m of [MD5_MERCHANT, HMAC_MERCHANT]) await sim.ensureMerchant(m);

  const app = express();
  // the router is looked up per request so that restart() can swap the simulator
  app.use('/wxsim', (req, res, next) => sim.router(req, res, next));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const baseUrl = `${origin}/wxsim`;

  const harness: Harness = {
    testDb,
    knex: testDb.db.knex,
    clock,
    get sim() {
      return sim;
    },
    baseUrl,
    client: (merchant, signType) =>
      createWxPayClient({ appId: merchant.appId, mchId: merchant.mchId, apiKey: merchant.apiKey, signType, baseUrl, timeoutMs: 5000, clock }),
    async postRaw(path, body, contentType = 'text/xml') {
      const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': contentType }, body });
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
    },
    signedXml(merchant, signType, fields) {
      return buildXml(
        signFields(
          { appid: merchant.appId, mch_id: merchant.mchId, nonce_str: 'n0nce5tr1ng', ...(signType === 'HMAC-SHA256' ? { sign_type: signType } : {}), ...fields },
          merchant.apiKey,
          signType,
        ),
      );
    },
    async scan(codeUrl) {
      const res = await fetch(`${baseUrl}/scan?code_url=${encodeURIComponent(codeUrl)}`);
      const html = await res.text();
      return { status: res.status, html, token: /name="token" value="([^"]+)"/.exec(html)?.[1] };
    },
    async pay(codeUrl, options = {}) {
      const token = options.token ?? (await harness.scan(codeUrl)).token;
      const res = await fetch(`${baseUrl}/scan/${options.action ?? 'pay'}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...options.headers },
        body: new URLSearchParams({ code_url: codeUrl, token: token ?? '' }).toString(),
      });
      return { status: res.status, html: await res.text() };
    },
    async restart() {
      await sim.stop();
      sim = make();
    },
    async close() {
      await sim.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await testDb.drop();
    },
  };
  return harness;
}

export interface ReceivedRequest {
  body: string;
  contentType: string | undefined;
  at: number;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

export type Reply = { status?: number; body: string; hang?: boolean };

export const SUCCESS_REPLY = '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
export const FAIL_REPLY = '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[not yet]]></return_msg></xml>';

/** A tiny notify receiver: `reply(n, body)` answers the n-th request (0-based). */
export async function startReceiver(reply: (n: number, body: string) => Reply | Promise<Reply> = () => ({ body: SUCCESS_REPLY })): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const n = requests.length;
      requests.push({ body, contentType: req.headers['content-type'], at: Date.now() });
      void Promise.resolve(reply(n, body)).then((r) => {
        if (r.hang) return;
        res.writeHead(r.status ?? 200, { 'Content-Type': 'text/xml' }).end(r.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wxpay/notify`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let tradeCounter = 0;

/** A fresh out_trade_no per call. */
export function newOutTradeNo(prefix = 'T'): string {
  tradeCounter += 1;
  return `${prefix}${Date.now().toString(36)}${String(tradeCounter).padStart(4, '0')}`;
}

/** unifiedorder's arguments for a NATIVE trade. */
export function orderArgs(outTradeNo: string, notifyUrl: string, overrides: Partial<{ totalFee: number; body: string; productId: string; attach: string; timeExpire: Date }> = {}) {
  return {
    body: overrides.body ?? '示例小店-茶叶',
    outTradeNo,
    totalFee: overrides.totalFee ?? 1234,
    spbillCreateIp: '127.0.0.1',
    notifyUrl,
    productId: overrides.productId ?? 'P001',
    attach: overrides.attach,
    timeExpire: overrides.timeExpire,
  };
}
