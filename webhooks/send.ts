/**
 * One signed POST of one event to one endpoint (Standard Webhooks): `webhook-id` `msg_<eventId>`
 * on every attempt and replay, one signature per valid secret, all over one timestamp. Answers
 * what happened; recording it is the caller's (with the delivery's state, in one transaction).
 */
import http from 'node:http';
import https from 'node:https';
import type { WebhookPayload } from '../domain/webhooks';
import { signatureHeaders } from '../infra/webhook-signature';
import type { EventRow } from './deliveries';

export interface SendOutcome {
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  /** Null: the endpoint took it (2xx). */
  error: string | null;
}

export function payloadOf(event: EventRow): string {
  const payload: WebhookPayload = {
    type: event.type,
    timestamp: event.occurred_at.toISOString(),
    data: { ...event.payload, ...(event.member_id ? { memberId: event.member_id } : {}) },
  };
  return JSON.stringify(payload);
}

// Kept-alive connections per endpoint: a subscription's batches reuse them. node:http rather
// than fetch: a fraction of the CPU per request, which is what a delivery mostly costs.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** One POST, answered or not within `timeoutMs` (connecting included); redirects not followed. */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ statusCode: number | null; error: string | null }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(target, {
      method: 'POST',
      agent: agents[target.protocol as keyof typeof agents],
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    });
    const timer = setTimeout(() => {
      request.destroy();
      resolve({ statusCode: null, error: `no answer in ${timeoutMs} ms` });
    }, timeoutMs);
    request.on('response', (response) => {
      const statusCode = response.statusCode ?? null;
      response.resume(); // the body is not read: drained, so the connection is reused
      response.on('end', () => {
        clearTimeout(timer);
        const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
        resolve({ statusCode, error: ok ? null : `answered ${statusCode}` });
      });
      response.on('error', (err) => {
        clearTimeout(timer);
        resolve({ statusCode, error: err.message });
      });
    });
    request.on('error', (err) => {
      clearTimeout(timer);
      resolve({ statusCode: null, error: err.message });
    });
    request.end(body);
  });
}

export async function sendWebhook(input: {
  url: string;
  event: EventRow;
  secrets: string[];
  timeoutMs: number;
}): Promise<SendOutcome> {
  const body = payloadOf(input.event);
  const signedAt = new Date();
  const signed = input.secrets.map((secret) =>
    signatureHeaders(secret, `msg_${input.event.id}`, body, signedAt),
  );
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'loyalty-ops-webhooks',
    ...signed[0],
    'webhook-signature': signed.map((h) => h['webhook-signature']).join(' '),
  };
  const started = Date.now();
  const { statusCode, error } = await post(input.url, headers, body, input.timeoutMs);
  const at = new Date();
  return { at, statusCode, latencyMs: at.getTime() - started, error };
}
