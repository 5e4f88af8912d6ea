import jsQR from 'jsqr';

/**
 * Reads a QR code drawn as the `qrcode` package's SVG (one stroked path of horizontal runs) back
 * into its text: rasterise the runs into pixels and let jsQR decode them, as a phone camera would.
 */
export function decodeQrSvg(svg: string, pixelsPerModule = 6): string | undefined {
  const size = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
  const path = /<path[^>]*stroke="#000000"[^>]*d="([^"]+)"/.exec(svg)?.[1];
  if (!size || !path) return undefined;
  const dark: boolean[][] = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let x = 0;
  let y = 0;
  for (const [, op, a, b] of path.matchAll(/([MmHhVv])\s*(-?[\d.]+)(?:[ ,](-?[\d.]+))?/g)) {
    const p = Number(a);
    const q = Number(b);
    if (op === 'M') [x, y] = [p, q];
    else if (op === 'm') [x, y] = [x + p, y + q];
    else if (op === 'h' || op === 'H') {
      const to = op === 'h' ? x + p : p;
      for (let col = Math.min(x, to); col < Math.max(x, to); col += 1) {
        const row = dark[Math.floor(y)];
        if (row) row[col] = true;
      }
      x = to;
    }
  }
  const width = size * pixelsPerModule;
  const pixels = new Uint8ClampedArray(width * width * 4);
  for (let py = 0; py < width; py += 1) {
    for (let px = 0; px < width; px += 1) {
      const on = dark[Math.floor(py / pixelsPerModule)]?.[Math.floor(px / pixelsPerModule)] ?? false;
      const i = (py * width + px) * 4;
      pixels[i] = pixels[i + 1] = pixels[i + 2] = on ? 0 : 255;
      pixels[i + 3] = 255;
    }
  }
  return jsQR(pixels, width, width)?.data;
}
