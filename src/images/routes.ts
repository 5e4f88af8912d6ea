import { Router } from 'express';
import type { AppDeps } from '../deps';
import { imageStoreFor } from '.';

const KEY = /^[0-9a-f]{32}$/;
const FILE = /^(w(?:240|480|960))\.webp$/;

/**
 * `/media/<key>/w<width>.webp`: a product image as the store keeps it. The key is the upload's
 * content hash, so a file never changes under its name: cached by browsers and CDNs for a year,
 * immutable. Served ahead of the session and the page machinery (a static file in all but where it
 * is kept).
 */
export function mediaRoutes(deps: Pick<AppDeps, 'config' | 'db'>): Router {
  const router = Router();
  const store = imageStoreFor(deps.config.images, deps.db.knex);
  router.get('/media/:key/:file', async (req, res) => {
    const size = FILE.exec(req.params.file)?.[1];
    const found = KEY.test(req.params.key) && size ? await store.get(req.params.key, size) : undefined;
    if (!found) {
      res.status(404).type('text/plain').set('Cache-Control', 'no-store').send('no such image');
      return;
    }
    const etag = `"${req.params.key}-${size}"`;
    res.set({ 'Content-Type': found.contentType, 'Cache-Control': 'public, max-age=31536000, immutable', ETag: etag, 'X-Content-Type-Options': 'nosniff' });
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    res.send(found.bytes);
  });
  return router;
}
