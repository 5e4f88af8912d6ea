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
  // flattened before it is kept: the library builds the text from ~900 pieces, and V8 keeps such
  // a string as a rope of them (~25 KiB each instead of its ~1.6 KB; found by the soak's heap snapshot)
  cache.set(codeUrl, Buffer.from(svg, 'utf8').toString('utf8'));
  return cache.get(codeUrl) ?? svg;
}
