import net from 'node:net';

/**
 * A TCP proxy of the test's own (node:net) in front of a real server, so a test can break the
 * network between two real parts without touching the server itself:
 *  - `pass`: bytes flow (to the first target that accepts: several targets make a failover
 *    load balancer, as two shop instances behind one address);
 *  - `refuse`: every open connection is cut and new ones are closed at once, as when a database
 *    goes away or its backends are terminated;
 *  - `hang`: new connections are accepted and never answered (a timeout for the caller);
 *  - `drop_answer`: the request goes through, the connection is cut as the answer starts (the
 *    far side did the work, the caller never hears of it).
 * Listens on 127.0.0.1 at a port the kernel picks; `close()` ends every connection.
 */
export type ProxyMode = 'pass' | 'refuse' | 'hang' | 'drop_answer';

export interface TcpProxy {
  readonly port: number;
  /** the URL `url` with its host and port replaced by the proxy's */
  via(url: string): string;
  mode: ProxyMode;
  /** cuts every open connection now */
  cutAll(): void;
  /** connections accepted so far, by the mode they met */
  readonly counts: Record<ProxyMode, number>;
  close(): Promise<void>;
}

export async function startTcpProxy(targets: { host: string; port: number }[]): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  const counts: Record<ProxyMode, number> = { pass: 0, refuse: 0, hang: 0, drop_answer: 0 };
  let next = 0;
  const proxy = {
    mode: 'pass' as ProxyMode,
    counts,
    port: 0,
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(proxy.port);
      const text = u.toString();
      return !url.endsWith('/') && text.endsWith('/') ? text.slice(0, -1) : text;
    },
    cutAll() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    async close() {
      proxy.cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const track = (socket: net.Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const connectUpstream = (client: net.Socket, attempt: number, onAnswer?: () => void) => {
    const target = targets[(next + attempt) % targets.length] as { host: string; port: number };
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      next = (next + attempt + 1) % targets.length;
      client.pipe(upstream);
      if (onAnswer) upstream.once('data', onAnswer);
      else upstream.pipe(client);
      client.resume();
    });
    upstream.once('error', () => {
      // a target that is down: the next one, as a load balancer does; none left: cut the caller
      if (!connected && attempt + 1 < targets.length && !client.destroyed) connectUpstream(client, attempt + 1, onAnswer);
      else client.destroy();
    });
    upstream.on('close', () => {
      if (connected) client.destroy();
    });
    client.on('close', () => upstream.destroy());
  };

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    const mode = proxy.mode;
    counts[mode] += 1;
    if (mode === 'refuse') return void client.destroy();
    if (mode === 'hang') return void client.resume();
    connectUpstream(client, 0, mode === 'drop_answer' ? () => client.destroy() : undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  proxy.port = (server.address() as net.AddressInfo).port;
  return proxy;
}

/** host and port of a URL (postgres:// or http://) */
export function endpointOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || (u.protocol.startsWith('postgres') ? 5432 : 80)) };
}
