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
import { guardedLookup, internalKind, InternalTargetError, isInternalTargetError } from './targets';

export interface SendOutcome {
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  /** Null: the endpoint took it (2xx). */
  error: string | null;
  /** Not sent: the endpoint is on an internal address (see targets.ts); trying again is no use. */
  refused?: boolean;
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
// than fetch: a fraction of the CPU per request, which is what a delivery mostly costs. The
// guarded agents resolve names with `guardedLookup`: a socket connects only to an address that
// was checked not to be internal.
const agent = (guarded: boolean) => {
  const options = {
    keepAlive: true,
    maxSockets: 64,
    ...(guarded ? { lookup: guardedLookup } : {}),
  };
  return { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };
};
const agents = { guarded: agent(true), open: agent(false) };

type Answer = { statusCode: number | null; error: string | null; refused?: boolean };

/**
 * One POST, answered or not within `timeoutMs` (connecting included); redirects not followed.
 * Unless `allowPrivate`, refused without a request when the host is (or resolves to) an internal
 * address.
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  allowPrivate: boolean,
): Promise<Answer> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup: checked here instead.
    const literal = allowPrivate ? null : internalKind(host);
    if (literal) {
      const refusal = new InternalTargetError(host, host, literal);
      return resolve({ statusCode: null, error: refusal.message, refused: true });
    }
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(target, {
      method: 'POST',
      agent: agents[allowPrivate ? 'open' : 'guarded'][target.protocol as 'http:' | 'https:'],
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
      const refused = isInternalTargetError(err);
      resolve({ statusCode: null, error: err.message, ...(refused ? { refused } : {}) });
    });
    request.end(body);
  });
}

export async function sendWebhook(input: {
  url: string;
  event: EventRow;
  secrets: string[];
  timeoutMs: number;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: internal addresses may be sent to. */
  allowPrivateTargets: boolean;
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
  const answer = await post(input.url, headers, body, input.timeoutMs, input.allowPrivateTargets);
  const at = new Date();
  return { at, ...answer, latencyMs: at.getTime() - started };
}
