/**
 * A partner's webhook endpoint, as a partner would write it: a real HTTP server that verifies
 * each delivery with the published Standard Webhooks library (`standardwebhooks`, not our code),
 * handles each `webhook-id` once, and can be told to be down, gone (410), slow, or to hold
 * requests unanswered (so a delivery is truly in flight).
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
  /** The message as it arrived, to verify again with another secret. */
  body: string;
  headers: Record<string, string>;
}

export interface Receiver {
  url: string;
  /** Handled deliveries, each `webhook-id` once, in the order they were handled. */
  handled: Received[];
  /** How many times each `webhook-id` arrived with a valid signature (retries, replays). */
  arrivals: Map<string, number>;
  /** How many 2xx answers for each `webhook-id` were written out in full to the sender. */
  acknowledged: Map<string, number>;
  /** `webhook-id`s of requests held unanswered right now (mode 'hold'). */
  held: Set<string>;
  /** Held requests whose sender hung up before an answer. */
  dropped: number;
  /** Requests refused for a bad signature. */
  refused: number;
  /** What to answer: 'ok' (204), 'down' (503), 'gone' (410), 'hold' (nothing, until closed). */
  mode: 'ok' | 'down' | 'gone' | 'hold';
  /** Answer after this many ms (a slow endpoint). */
  delayMs: number;
  secrets: string[];
  close: () => Promise<void>;
}

/** Whether `secret` verifies the message, by the published library. */
export function verifies(secret: string, message: Pick<Received, 'body' | 'headers'>): boolean {
  try {
    new Webhook(secret).verify(message.body, message.headers);
    return true;
  } catch {
    return false;
  }
}

export async function startReceiver(secrets: string[] = []): Promise<Receiver> {
  const receiver = {
    handled: [] as Received[],
    arrivals: new Map<string, number>(),
    acknowledged: new Map<string, number>(),
    held: new Set<string>(),
    dropped: 0,
    refused: 0,
    mode: 'ok' as Receiver['mode'],
    delayMs: 0,
    secrets,
  };
  const count = (map: Map<string, number>, id: string) => map.set(id, (map.get(id) ?? 0) + 1);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = req.headers as Record<string, string>;
      const id = headers['webhook-id'] ?? '';
      if (receiver.mode === 'hold') {
        receiver.held.add(id);
        res.on('close', () => {
          receiver.held.delete(id);
          receiver.dropped++;
        });
        return;
      }
      const answer = () => {
        if (receiver.mode === 'down') return res.writeHead(503).end();
        if (receiver.mode === 'gone') return res.writeHead(410).end();
        // Verified with each secret the partner holds (one, or two while rotating).
        if (!receiver.secrets.some((secret) => verifies(secret, { body, headers }))) {
          receiver.refused++;
          return res.writeHead(401).end();
        }
        count(receiver.arrivals, id);
        if (!receiver.handled.some((r) => r.id === id)) {
          const payload = JSON.parse(body) as { type: string; data: Record<string, unknown> };
          const signatures = headers['webhook-signature']!.split(' ').length;
          receiver.handled.push({
            id,
            type: payload.type,
            data: payload.data,
            signatures,
            body,
            headers,
          });
        }
        res.on('finish', () => count(receiver.acknowledged, id));
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
