import fs from 'node:fs';
import path from 'node:path';
import jsQR from 'jsqr';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { ROOT } from './shop';

/** Debian's Chromium (apt-get install chromium); playwright's own browser downloads are not used. */
export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** tests/e2e/artifacts/<suite>/, emptied: the screenshots and logs of this run only. */
export function artifactsDir(suite: string): string {
  const dir = path.join(ROOT, 'tests', 'e2e', 'artifacts', suite);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Reads a QR code from a screenshot's pixels, as a phone camera would: PNG -> RGBA -> jsQR.
 * Undefined when there is no readable code in the picture.
 */
export function decodeQrPng(png: Buffer): string | undefined {
  const image = PNG.sync.read(png);
  const pixels = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length);
  return jsQR(pixels, image.width, image.height)?.data;
}
