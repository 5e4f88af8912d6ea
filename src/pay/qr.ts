import QRCode from 'qrcode';

const cache = new Map<string, string>();
const CACHE_MAX = 2000;

/**
 * The code_url as an inline SVG QR code, drawn on the server (no script, CSP-safe). A code_url
 * never changes once issued, so the drawing is cached (bounded, oldest out first).
 */
export async function qrSvg(codeUrl: string): Promise<string> {
  const hit = cache.get(codeUrl);
  if (hit !== undefined) return hit;
  const svg = await QRCode.toString(codeUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 240 });
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(codeUrl, svg);
  return svg;
}
