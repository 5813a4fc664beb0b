/**
 * A partner's callback sender (the warehouse's, the gift-card provider's): posts each event to
 * its callback URL as a Standard Webhooks message, retried with backoff until answered 2xx, the
 * retry window ends or the sender is closed. An event keeps its `webhook-id` on every retry
 * (receivers deduplicate on it); each attempt is signed afresh, with its own timestamp. Events of
 * one subject (a shipment, a card) go out one after the other, so `shipment.shipped` always
 * arrives before `shipment.delivered`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../infra/logger';
import { signatureHeaders } from '../infra/webhook-signature';

export interface CallbackRecord {
  webhookId: string;
  type: string;
  /** What the event is about (a shipment id, a card id): its events are sent in order. */
  subject: string;
  url: string;
  attempts: number;
  status: 'pending' | 'delivered' | 'gave-up' | 'cancelled';
  lastError?: string;
}

export interface CallbackSenderOptions {
  /** Signs callbacks (`whsec_...`); unset, callbacks carry no `webhook-signature`. */
  webhookSecret?: string;
  /** How long a callback is retried before giving up (default 10 minutes). */
  retryForMs?: number;
  /** First retry delay, doubled after each failure up to `maxDelayMs` (100 ms, 5 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  logger?: Logger;
  /** Told when a callback was answered 2xx (a partner that keeps state records it). */
  onDelivered?: (record: CallbackRecord) => void;
}

export function createCallbackSender(options: CallbackSenderOptions = {}) {
  const retryForMs = options.retryForMs ?? 10 * 60_000;
  const initialDelayMs = options.initialDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const records: CallbackRecord[] = [];
  /** Per subject, the end of its queue of events. */
  const outboxes = new Map<string, Promise<void>>();
  const stop = new AbortController();

  /** Posts one event to its callback until a 2xx, the retry window ends, or close(). */
  async function deliver(record: CallbackRecord, body: string): Promise<void> {
    const started = Date.now();
    const signal = stop.signal;
    for (let delay = initialDelayMs; ; delay = Math.min(delay * 2, maxDelayMs)) {
      if (signal.aborted) return void (record.status = 'cancelled');
      record.attempts += 1;
      const headers = options.webhookSecret
        ? signatureHeaders(options.webhookSecret, record.webhookId, body)
        : {
            'webhook-id': record.webhookId,
            'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          };
      try {
        const res = await fetch(record.url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]),
        });
        await res.body?.cancel();
        if (res.ok) {
          record.status = 'delivered';
          options.onDelivered?.({ ...record });
          return;
        }
        record.lastError = `answered ${res.status}`;
      } catch (err) {
        record.lastError = (err as Error).message;
      }
      if (Date.now() - started + delay > retryForMs) {
        options.logger?.warn({ callback: record }, 'partner: callback given up');
        return void (record.status = 'gave-up');
      }
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  return {
    /**
     * Queues `event` for `url` behind the earlier events of its `subject`; `webhookId` sends an
     * event again under the id it had (after a restart). Returns the event's `webhook-id`.
     */
    send(
      url: string,
      subject: string,
      event: { type: string } & Record<string, unknown>,
      webhookId = `msg_${randomUUID()}`,
    ): string {
      const record: CallbackRecord = {
        webhookId,
        type: event.type,
        subject,
        url,
        attempts: 0,
        status: 'pending',
      };
      records.push(record);
      const body = JSON.stringify(event);
      const queued = (outboxes.get(subject) ?? Promise.resolve()).then(() => deliver(record, body));
      outboxes.set(subject, queued);
      return webhookId;
    },
    /** Every callback so far, oldest first (copies). */
    records: (): CallbackRecord[] => records.map((r) => ({ ...r })),
    /** Stops retrying (what is still queued ends `cancelled`); resolves once every send ended. */
    close(): Promise<void> {
      stop.abort();
      return Promise.all(outboxes.values()).then(() => undefined);
    },
  };
}

export type CallbackSender = ReturnType<typeof createCallbackSender>;
