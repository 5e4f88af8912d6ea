import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Fields, SignType } from '../wechatpay';
import type { SimV3State } from './v3/state';

/** What every simulator function is given: the database, the clock and the time scale. */
export interface SimContext {
  knex: Knex;
  clock: () => Date;
  /** divides the notify retry schedule and the refund delay */
  timeScale: number;
  /** real (unscaled) time a refund stays PROCESSING */
  refundDelayMs: number;
  logger: Logger;
  /** how long a notify receiver may take to answer before the attempt counts as failed */
  notifyTimeoutMs: number;
  /** nudges the delivery loop (a payment was just made): a no-op when the loop is not running */
  wake(): void;
  /**
   * The merchants' API keys, by mch_id, in memory only: sim_merchants keeps a fingerprint, so a
   * configured (possibly real) key never lands in the simulator's tables.
   */
  keys: Map<string, string>;
  /** The Official Accounts' AppSecrets, by AppID, in memory only (the web authorization's code exchange). */
  oaSecrets: Map<string, string>;
  /** APIv3: the simulator's own signing key (public-key mode) and the v3 merchants' keys, in memory only */
  v3: SimV3State;
  /** Where notifies may go (this shop's own notify URLs); undefined = anywhere (the simulator alone, tests). */
  notifyUrlAllowed?: ((url: string) => boolean) | undefined;
}

/** A merchant the simulator accepts, as kept in sim_merchants. */
export interface SimMerchant {
  mchId: string;
  appId: string;
  apiKey: string;
  name: string;
}

/** The API calls the simulator answers (also the `api` of a systemerror fault). */
export const API_NAMES = ['unifiedorder', 'orderquery', 'closeorder', 'refund', 'refundquery', 'downloadbill'] as const;
export type ApiName = (typeof API_NAMES)[number];

/**
 * What a call's rules decided, before it is written on the wire: a signed SUCCESS answer, a signed
 * result_code=FAIL answer, an unsigned return_code=FAIL answer, or a bill (CSV).
 */
export type ApiOutcome =
  | { kind: 'ok'; fields: Fields }
  | { kind: 'business'; errCode: string; errCodeDes: string }
  | { kind: 'return_fail'; returnMsg: string; extra?: Fields }
  | { kind: 'bill'; text: string; gzip: boolean };

export const ok = (fields: Fields): ApiOutcome => ({ kind: 'ok', fields });
export const business = (errCode: string, errCodeDes: string): ApiOutcome => ({ kind: 'business', errCode, errCodeDes });
export const returnFail = (returnMsg: string, extra?: Fields): ApiOutcome => ({ kind: 'return_fail', returnMsg, extra });

/** Where the simulator is, as the caller reached it (http://host:port/wxsim): for the H5 cashier's URL. */
export interface ApiLinks {
  base: string;
}

/** A request that passed the envelope checks: known merchant, good signature. */
export interface SignedRequest {
  merchant: SimMerchant;
  signType: SignType;
  fields: Record<string, string>;
}

/** Scaled milliseconds: WeChat's real duration divided by the time scale (at least 1 ms when non-zero). */
export function scaledMs(realMs: number, timeScale: number): number {
  if (realMs <= 0) return 0;
  return Math.max(1, Math.round(realMs / timeScale));
}
