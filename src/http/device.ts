import type { TradeType } from '../ledger';

/**
 * Which way to pay fits the shopper's device, as Chinese shops route it: a desktop browser scans
 * a QR code with the phone (NATIVE); a phone's browser cannot scan its own screen, so H5 payment
 * opens WeChat and comes back (MWEB); inside WeChat's own browser the page asks WeChat to pay
 * directly (JSAPI). WeChat's browser says so in its user agent ("MicroMessenger", on phones and
 * in the desktop app alike). A way the merchant has not enabled falls back to the QR code.
 */

export type Device = 'desktop' | 'phone' | 'wechat';

export function deviceOf(userAgent: string | undefined): Device {
  const ua = userAgent ?? '';
  if (/MicroMessenger\//i.test(ua)) return 'wechat';
  if (/Mobile|Android|iPhone|iPod|iPad|HarmonyOS|Windows Phone/i.test(ua)) return 'phone';
  return 'desktop';
}

/** The device's own way to pay, where enabled; NATIVE otherwise. */
export function tradeTypeFor(device: Device, enabled: readonly TradeType[]): TradeType {
  const own: TradeType = device === 'phone' ? 'MWEB' : device === 'wechat' ? 'JSAPI' : 'NATIVE';
  return enabled.includes(own) ? own : 'NATIVE';
}

/**
 * The visible switch on the pay page: from the device's own way to a QR code ("pay with a QR code
 * instead", e.g. to pay with another phone), and back ("open in WeChat" on a phone, "pay in WeChat"
 * in WeChat's browser). None on a desktop, and none where the device's way is not enabled.
 */
export function switchFor(device: Device, current: TradeType, enabled: readonly TradeType[]): TradeType | undefined {
  // an attempt of a way the merchant no longer offers can always go to the QR code
  if (!enabled.includes(current)) return 'NATIVE';
  const own = tradeTypeFor(device, enabled);
  if (own === 'NATIVE') return undefined;
  return current === own ? 'NATIVE' : own;
}
