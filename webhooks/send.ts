/**
 * One signed POST of one event to one endpoint (Standard Webhooks): `webhook-id` `msg_<eventId>`
 * on every attempt and replay, one signature per valid secret, all over one timestamp. Answers
 * what happened; recording it is the caller's (with the delivery's state, in one transaction).
 */
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
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    const response = await fetch(input.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(input.timeoutMs),
    });
    statusCode = response.status;
    await response.body?.cancel();
    if (statusCode < 200 || statusCode >= 300) error = `answered ${statusCode}`;
  } catch (err) {
    error =
      (err as Error).name === 'TimeoutError'
        ? `no answer in ${input.timeoutMs} ms`
        : (err as Error).message;
  }
  const at = new Date();
  return { at, statusCode, latencyMs: at.getTime() - started, error };
}
