import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/outbox';

/**
 * A merchant's own webhook receiver, real HTTP on 127.0.0.1 at port 0: it checks the
 * X-Shop-Signature against the raw body (400 when it does not verify), deduplicates by the event's
 * id, and can be told to be down (503) or slow, as a receiver that is away for a while.
 */
export interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  rawBody: string;
  signature: string;
}

export interface AlertReceiver {
  url: string;
  /** up: 200; down: 503 (the event is not taken) */
  mode: 'up' | 'down';
  /** ms each answer waits */
  delayMs: number;
  /** every call, whatever it was answered */
  calls: { status: number; id: string | undefined }[];
  /** events taken, once per id, in the order first taken */
  taken: Received[];
  /** how many times each id was taken (a redelivery of one already taken is answered 200 and counted here) */
  takenCount: Map<string, number>;
  close(): Promise<void>;
}

export async function startAlertReceiver(secret: string, now: () => Date): Promise<AlertReceiver> {
  const receiver = { mode: 'up', delayMs: 0, calls: [], taken: [], takenCount: new Map() } as unknown as AlertReceiver;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers[SIGNATURE_HEADER.toLowerCase()] ?? '');
      let event: { id?: string; type?: string; data?: Record<string, unknown> } = {};
      try {
        event = JSON.parse(rawBody) as typeof event;
      } catch {
        // answered 400 below
      }
      const answer = (status: number) => {
        receiver.calls.push({ status, id: event.id });
        setTimeout(() => res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'no'), receiver.delayMs);
      };
      if (!verifyWebhookSignature(secret, signature, rawBody, now())) return answer(400);
      if (receiver.mode === 'down') return answer(503);
      const id = String(event.id);
      if (!receiver.takenCount.has(id)) receiver.taken.push({ id, type: String(event.type), data: event.data ?? {}, rawBody, signature });
      receiver.takenCount.set(id, (receiver.takenCount.get(id) ?? 0) + 1);
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/shop`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
