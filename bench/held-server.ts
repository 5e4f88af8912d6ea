/**
 * Ceiling for the long-poll: a bare node:http server that holds every request it gets until told
 * to answer them, so that its memory per held request can be compared with the shop's per waiter.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveIpc, settledMemory } from './lib/ipc';

const held = new Set<http.ServerResponse>();
const server = http.createServer((_req, res) => {
  held.add(res);
  res.on('close', () => held.delete(res));
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  serveIpc(
    {
      memory: () => settledMemory(),
      held: () => held.size,
      release: () => {
        const n = held.size;
        for (const res of held) res.writeHead(200, { 'content-type': 'application/json' }).end('{"state":"released"}');
        return n;
      },
      stop: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve(true)));
      },
    },
    { url: `http://127.0.0.1:${port}`, pid: process.pid },
  );
});
