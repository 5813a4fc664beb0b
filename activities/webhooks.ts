import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import { parseSchedule, type WebhookPayload } from '../domain/webhooks';
import type { Db } from '../infra/db';
import { signatureHeaders } from '../infra/webhook-signature';
import {
  claimEvents,
  finishDelivery,
  loadDelivery,
  markStarted,
  recordAttempt,
  unstartedDeliveries,
} from '../webhooks/deliveries';
import { startDeliveryWorkflow } from '../webhooks/start';
import { disableSubscription, signingSecrets } from '../webhooks/subscriptions';
import { createActivityMetrics, type ActivityMetrics } from './metrics';

export type AttemptOutcome = 'delivered' | 'retry' | 'stop';

export interface WebhookDeps {
  db: Db;
  config: AppConfig;
  /** Starts delivery workflows; null in a worker that only delivers. */
  temporal: Client | null;
  /** Counts delivery attempts (`loyalty_webhook_attempts_total`); none given, nothing counted. */
  metrics?: ActivityMetrics;
}

/**
 * Webhook side effects: turning outbox events into deliveries (and their workflows), and one
 * signed attempt of one delivery, recorded with its status code, latency and error.
 */
export function createWebhookActivities({
  db,
  config,
  temporal,
  metrics = createActivityMetrics(),
}: WebhookDeps) {
  const schedule = parseSchedule(config.WEBHOOK_RETRY_SCHEDULE);

  /** Starts the workflow of each delivery not started yet; an existing one is kept. */
  async function startDeliveries(): Promise<number> {
    if (!temporal) throw new Error('this worker has no Temporal client to start deliveries with');
    let started = 0;
    for (;;) {
      const batch = await unstartedDeliveries(db, 100);
      for (const delivery of batch) {
        if (await startDeliveryWorkflow(temporal, config, delivery)) started++;
      }
      await markStarted(
        db,
        batch.map((d) => d.id),
      );
      if (batch.length < 100) return started;
    }
  }

  return {
    /**
     * Claims new outbox events into deliveries and starts their workflows. A crash between the
     * two leaves deliveries unstarted, which the next call starts: nothing is lost.
     */
    async dispatchWebhooks(): Promise<{ claimed: number; started: number; caughtUp: boolean }> {
      let claimed = 0;
      let caughtUp = false;
      for (let round = 0; round < 10 && !caughtUp; round++) {
        const n = await claimEvents(db, 200);
        claimed += n;
        caughtUp = n < 200;
      }
      return { claimed, started: await startDeliveries(), caughtUp };
    },

    /** One attempt: POST the event, signed with every valid secret; record what happened. */
    async attemptWebhook(input: {
      deliveryId: number;
      attempt: number;
      last: boolean;
      nextDelayMs: number;
    }): Promise<AttemptOutcome> {
      const found = await loadDelivery(db, input.deliveryId);
      // A retry of an attempt that was delivered, but whose activity did not report it.
      if (found?.delivery.status === 'delivered') return 'delivered';
      if (!found || found.delivery.status !== 'pending') return 'stop';
      const { subscription, event } = found;
      if (subscription.status !== 'enabled') {
        await finishDelivery(db, input.deliveryId, 'skipped');
        return 'stop';
      }
      const payload: WebhookPayload = {
        type: event.type,
        timestamp: event.occurred_at.toISOString(),
        data: { ...event.payload, ...(event.member_id ? { memberId: event.member_id } : {}) },
      };
      const body = JSON.stringify(payload);
      // One timestamp per attempt: every secret signs the same `id.timestamp.body`.
      const signedAt = new Date();
      const secrets = await signingSecrets(db, subscription.id, signedAt);
      const signed = secrets.map((secret) =>
        signatureHeaders(secret, `msg_${event.id}`, body, signedAt),
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
      // A worker that dies mid-attempt stops heartbeating: the attempt is retried in seconds.
      const beat = setInterval(() => heartbeat(), 1000);
      try {
        const response = await fetch(subscription.url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS),
        });
        statusCode = response.status;
        await response.body?.cancel();
        if (statusCode < 200 || statusCode >= 300) error = `answered ${statusCode}`;
      } catch (err) {
        error =
          (err as Error).name === 'TimeoutError'
            ? `no answer in ${config.WEBHOOK_TIMEOUT_MS} ms`
            : (err as Error).message;
      } finally {
        clearInterval(beat);
      }
      const at = new Date();
      const latencyMs = at.getTime() - started;
      const delivered = error === null;
      metrics.webhookAttempt(delivered ? 'delivered' : 'failed');
      const gone = statusCode === 410;
      const status = delivered ? 'delivered' : gone ? 'gone' : input.last ? 'failed' : 'pending';
      const nextAttemptAt =
        status === 'pending' ? new Date(at.getTime() + input.nextDelayMs) : null;
      // The attempt and what it means for the subscription are one transaction, so nobody reads a
      // delivery failed for good on a subscription still enabled.
      await db.transaction(async (trx) => {
        await recordAttempt(trx, {
          deliveryId: input.deliveryId,
          at,
          statusCode,
          latencyMs,
          error,
          status,
          nextAttemptAt,
        });
        if (gone) await disableSubscription(trx, subscription.id, 'the endpoint answered 410 Gone');
        if (status === 'failed') {
          const span = Math.round(schedule.reduce((a, b) => a + b, 0) / 3_600_000);
          await disableSubscription(
            trx,
            subscription.id,
            `failing for ${span} h: ${input.attempt} attempts, last: ${error}`,
          );
        }
      });
      return delivered ? 'delivered' : status === 'pending' ? 'retry' : 'stop';
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
