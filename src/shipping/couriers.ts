/**
 * The common Chinese couriers a merchant ships with, each with the shape of its tracking numbers
 * (as printed on its waybills) and its own tracking page, or "other" with a name the merchant
 * types (its numbers are only checked for being a plausible number). Pure: no database, no HTTP.
 */

export interface Courier {
  code: string;
  /** the names a merchant may write in a batch CSV (besides the code), Chinese and English */
  aliases: readonly string[];
  /** the shape of its tracking numbers */
  shape: RegExp;
  /** its own tracking page; `{no}` is the tracking number */
  trackingUrl: string;
}

export const COURIERS: readonly Courier[] = [
  { code: 'sf', aliases: ['顺丰', '顺丰速运', '顺丰快递', 'SF', 'SF Express', 'shunfeng'], shape: /^(SF\d{12,13}|\d{12})$/, trackingUrl: 'https://www.sf-express.com/chn/sc/waybill/waybill-detail/{no}' },
  { code: 'zto', aliases: ['中通', '中通快递', 'ZTO', 'ZTO Express', 'zhongtong'], shape: /^\d{12,15}$/, trackingUrl: 'https://www.zto.com/?num={no}' },
  { code: 'yto', aliases: ['圆通', '圆通速递', '圆通快递', 'YTO', 'YTO Express', 'yuantong'], shape: /^YT\d{13,15}$/, trackingUrl: 'https://www.yto.net.cn/' },
  { code: 'sto', aliases: ['申通', '申通快递', 'STO', 'STO Express', 'shentong'], shape: /^\d{12,15}$/, trackingUrl: 'https://www.sto.cn/' },
  { code: 'yunda', aliases: ['韵达', '韵达快递', '韵达速递', 'Yunda', 'Yunda Express'], shape: /^\d{13}$|^\d{15}$/, trackingUrl: 'https://www.yundaex.com/' },
  { code: 'jd', aliases: ['京东', '京东物流', '京东快递', 'JD', 'JD Logistics', 'jingdong'], shape: /^JD[0-9A-Z]{11,14}$/, trackingUrl: 'https://www.jdl.com/orderSearch/?waybillCodes={no}' },
  { code: 'ems', aliases: ['EMS', '中国邮政', '邮政', '邮政EMS', 'China Post', 'EMS China'], shape: /^([A-Z]{2}\d{9}[A-Z]{2}|\d{13})$/, trackingUrl: 'https://www.ems.com.cn/queryList?mailNum={no}' },
  { code: 'jtexpress', aliases: ['极兔', '极兔速递', '极兔快递', 'J&T', 'J&T Express', 'jitu'], shape: /^JT\d{13}$/, trackingUrl: 'https://www.jtexpress.com.cn/trajectoryQuery?waybillNo={no}' },
  { code: 'deppon', aliases: ['德邦', '德邦快递', '德邦物流', 'Deppon', 'debang'], shape: /^(DPK\d{12}|\d{10})$/, trackingUrl: 'https://www.deppon.com/' },
];

export const OTHER = 'other';
/** every code a shipment may carry */
export const COURIER_CODES: readonly string[] = [...COURIERS.map((c) => c.code), OTHER];

export const MAX_COURIER_NAME = 32;

export function courierOf(code: string): Courier | undefined {
  return COURIERS.find((c) => c.code === code);
}

/** A courier named as a merchant writes it (code, Chinese or English name; any case, spaces ignored). */
export function courierNamed(name: string): Courier | undefined {
  const key = name.replace(/\s+/g, '').toLowerCase();
  if (key === '') return undefined;
  return COURIERS.find((c) => c.code === key || c.aliases.some((a) => a.replace(/\s+/g, '').toLowerCase() === key));
}

export type TrackingProblem =
  /** empty */
  | 'missing'
  /** a spreadsheet turned the number into 7.73E+12 (the column was not text) */
  | 'scientific'
  /** not letters, digits and dashes of a sensible length */
  | 'malformed'
  /** not the shape of this courier's numbers */
  | 'wrong_shape';

/** The tracking number as stored: spaces gone, upper case. */
export function normalizeTracking(raw: string): string {
  return raw.replace(/\s+/g, '').toUpperCase();
}

/** What is wrong with a tracking number for this courier, if anything. */
export function trackingProblem(courierCode: string, trackingNo: string): TrackingProblem | undefined {
  if (trackingNo === '') return 'missing';
  if (/^\d+(\.\d+)?E\+?\d+$/i.test(trackingNo)) return 'scientific';
  if (!/^[0-9A-Z-]{6,40}$/.test(trackingNo)) return 'malformed';
  const courier = courierOf(courierCode);
  if (courier && !courier.shape.test(trackingNo)) return 'wrong_shape';
  return undefined;
}

/** The courier's own tracking page for a parcel (undefined for "other"). */
export function trackingUrlOf(courierCode: string, trackingNo: string): string | undefined {
  const courier = courierOf(courierCode);
  return courier ? courier.trackingUrl.replace('{no}', encodeURIComponent(trackingNo)) : undefined;
}
