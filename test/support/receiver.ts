/**
 * A partner's webhook endpoint, as a partner would write it: a real HTTP server that verifies
 * each delivery with the published Standard Webhooks library (`standardwebhooks`, not our code),
 * handles each `webhook-id` once, and can be told to be down, gone (410) or slow.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  signatures: number;
}

export interface Receiver {
  url: string;
  /** Handled deliveries, each `webhook-id` once, in the order they were handled. */
  handled: Received[];
  /** How many times each `webhook-id` arrived with a valid signature (retries, replays). */
  arrivals: Map<string, number>;
  /** Requests refused for a bad signature. */
  refused: number;
  /** What to answer: 'ok' (204), 'down' (503), 'gone' (410). */
  mode: 'ok' | 'down' | 'gone';
  /** Answer after this many ms (a slow endpoint). */
  delayMs: number;
  secrets: string[];
  close: () => Promise<void>;
}

export async function startReceiver(secrets: string[] = []): Promise<Receiver> {
  const receiver = {
    handled: [] as Received[],
    arrivals: new Map<string, number>(),
    refused: 0,
    mode: 'ok' as Receiver['mode'],
    delayMs: 0,
    secrets,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = () => {
        if (receiver.mode === 'down') return res.writeHead(503).end();
        if (receiver.mode === 'gone') return res.writeHead(410).end();
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = req.headers as Record<string, string>;
        // Verified with each secret the partner holds (one, or two while rotating).
        const verified = receiver.secrets.some((secret) => {
          try {
            new Webhook(secret).verify(body, headers);
            return true;
          } catch {
            return false;
          }
        });
        if (!verified) {
          receiver.refused++;
          return res.writeHead(401).end();
        }
        const id = headers['webhook-id']!;
        receiver.arrivals.set(id, (receiver.arrivals.get(id) ?? 0) + 1);
        if (!receiver.handled.some((r) => r.id === id)) {
          const payload = JSON.parse(body) as { type: string; data: Record<string, unknown> };
          const signatures = headers['webhook-signature']!.split(' ').length;
          receiver.handled.push({ id, type: payload.type, data: payload.data, signatures });
        }
        res.writeHead(204).end();
      };
      if (receiver.delayMs > 0) setTimeout(answer, receiver.delayMs);
      else answer();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return Object.assign(receiver, {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}
