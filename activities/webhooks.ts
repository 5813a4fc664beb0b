import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import { failingReason, parseSchedule } from '../domain/webhooks';
import type { Db } from '../infra/db';
import { claimEvents, finishDelivery, loadDelivery, recordAttempt } from '../webhooks/deliveries';
import { sweepAsleep } from '../webhooks/queue';
import { sendWebhook } from '../webhooks/send';
import { wakeSubscription } from '../webhooks/start';
import { disableSubscription, signingSecrets } from '../webhooks/subscriptions';
import { createActivityMetrics, type ActivityMetrics } from './metrics';
import { createWebhookQueueActivities } from './webhook-queue';

export type AttemptOutcome = 'delivered' | 'retry' | 'stop';

export interface WebhookDeps {
  db: Db;
  config: AppConfig;
  /** Wakes subscription workflows; null in a worker that only delivers. */
  temporal: Client | null;
  /** Counts delivery attempts (`loyalty_webhook_attempts_total`); none given, nothing counted. */
  metrics?: ActivityMetrics;
}

/**
 * Webhook side effects: turning outbox events into deliveries (in SQL) and waking the
 * subscriptions' workflows; working a subscription's queue (webhook-queue.ts); and one attempt
 * of one delivery, for the per-delivery workflows started before deliveries were queued.
 */
export function createWebhookActivities(deps: WebhookDeps) {
  const { db, config, temporal, metrics = createActivityMetrics() } = deps;
  const schedule = parseSchedule(config.WEBHOOK_RETRY_SCHEDULE);
  // Well inside the dispatcher's 10 s activity timeout.
  const passBudgetMs = 4_000;
  const gatherMs = Math.max(10, Math.min(50, config.WEBHOOK_POLL_MS / 5));

  return {
    ...createWebhookQueueActivities({ ...deps, metrics }),

    /**
     * Claims new outbox events into deliveries and wakes the subscriptions that got some while
     * asleep (one signal each, not one per delivery), pass after pass for up to `passBudgetMs`
     * while events keep coming (a short wait between caught-up passes), so a steady stream costs
     * an activity every few seconds rather than one per few events. On a call that finds nothing
     * new, also wakes any subscription asleep with deliveries due (a signal lost to a crash after
     * the claim committed). Answers `started`: the subscription workflows woken.
     */
    async dispatchWebhooks(): Promise<{ claimed: number; started: number; caughtUp: boolean }> {
      if (!temporal) throw new Error('this worker has no Temporal client to wake deliveries with');
      const began = Date.now();
      let claimed = 0;
      let woken = 0;
      let caughtUp = false;
      for (;;) {
        const pass = await claimEvents(db, 500);
        claimed += pass.claimed;
        caughtUp = pass.claimed < 500;
        const wake = claimed === 0 ? await sweepAsleep(db) : pass.wake;
        for (const id of wake) await wakeSubscription(temporal, config, id);
        woken += wake.length;
        if (pass.claimed === 0 || Date.now() - began > passBudgetMs) break;
        if (caughtUp) await new Promise((resolve) => setTimeout(resolve, gatherMs));
      }
      return { claimed, started: woken, caughtUp };
    },

    /**
     * One attempt of a per-delivery workflow's delivery: POST the event, signed with every valid
     * secret; record what happened.
     */
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
      const secrets = await signingSecrets(db, subscription.id);
      // A worker that dies mid-attempt stops heartbeating: the attempt is retried in seconds.
      const beat = setInterval(() => heartbeat(), 1000);
      const sent = await sendWebhook({
        url: subscription.url,
        event,
        secrets,
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      }).finally(() => clearInterval(beat));
      const delivered = sent.error === null;
      metrics.webhookAttempt(delivered ? 'delivered' : 'failed');
      const gone = sent.statusCode === 410;
      const status = delivered
        ? 'delivered'
        : gone
          ? 'gone'
          : input.last || sent.refused // an internal address: no retry will change that
            ? 'failed'
            : 'pending';
      const nextAttemptAt =
        status === 'pending' ? new Date(sent.at.getTime() + input.nextDelayMs) : null;
      // The attempt and what it means for the subscription are one transaction, so nobody reads a
      // delivery failed for good on a subscription still enabled.
      await db.transaction(async (trx) => {
        await recordAttempt(trx, { deliveryId: input.deliveryId, ...sent, status, nextAttemptAt });
        if (gone) await disableSubscription(trx, subscription.id, 'the endpoint answered 410 Gone');
        if (sent.refused) await disableSubscription(trx, subscription.id, sent.error!);
        if (status === 'failed') {
          const reason = failingReason(schedule, input.attempt, sent.error);
          await disableSubscription(trx, subscription.id, reason);
        }
      });
      return delivered ? 'delivered' : status === 'pending' ? 'retry' : 'stop';
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
