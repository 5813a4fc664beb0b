import { Context } from '@temporalio/activity';
import type { AppConfig } from '../config';
import { failingReason, parseSchedule } from '../domain/webhooks';
import type { Db } from '../infra/db';
import type { DeliveryStatus } from '../webhooks/deliveries';
import {
  claimDue,
  dueIn,
  eventsOf,
  pendingCount,
  recordAttempts,
  release,
  skipQueued,
  sleepUnlessDue,
  type AttemptRecord,
  type ClaimedDelivery,
} from '../webhooks/queue';
import { sendWebhook, type SendOutcome } from '../webhooks/send';
import {
  disableSubscription,
  signingSecrets,
  type SubscriptionRow,
} from '../webhooks/subscriptions';
import type { ActivityMetrics } from './metrics';

/**
 * How a round of a subscription's queue ended. `busy`: more may be due, go on at once. `idle`:
 * nothing due, asleep until a wake-up signal or `dueInMs` (the next retry). `open`: the endpoint
 * failed `WEBHOOK_CIRCUIT_FAILURES` times in a row; only its oldest delivery is tried, in
 * `dueInMs` (by the retry schedule), until one goes through.
 */
export interface QueueRound {
  state: 'busy' | 'idle' | 'open';
  /** Failed attempts in a row at this endpoint. */
  streak: number;
  dueInMs: number | null;
  sent: number;
}

/** Working for this long, a round hands back to its workflow (a short history per round). */
const roundBudgetMs = 20_000;

export function createWebhookQueueActivities({
  db,
  config,
  metrics,
}: {
  db: Db;
  config: AppConfig;
  metrics: ActivityMetrics;
}) {
  const schedule = parseSchedule(config.WEBHOOK_RETRY_SCHEDULE);
  // A claim outlives its request and the batch's record; a worker that dies leaves it due then.
  const leaseMs = config.WEBHOOK_TIMEOUT_MS + 10_000;
  // Between a dispatcher's passes the queue waits a little before it sleeps (and needs a signal).
  const lingerMs = 2 * config.WEBHOOK_POLL_MS;
  const pollMs = Math.max(10, Math.round(config.WEBHOOK_POLL_MS / 5));
  const gatherMs = Math.max(5, Math.round(config.WEBHOOK_POLL_MS / 10));

  /** What one attempt means for its delivery, by the schedule and the answer. */
  function outcome(claimed: ClaimedDelivery, sent: SendOutcome) {
    const attempt = claimed.attempts + 1;
    const status: DeliveryStatus =
      sent.error === null
        ? 'delivered'
        : sent.refused
          ? 'failed' // an internal address: no retry will change that
          : sent.statusCode === 410
            ? 'gone'
            : attempt > schedule.length
              ? 'failed'
              : 'pending';
    const nextAttemptAt =
      status === 'pending' ? new Date(sent.at.getTime() + schedule[attempt - 1]!) : null;
    return { attempt, status, nextAttemptAt };
  }

  /**
   * Sends one claimed batch at once (each request bounded by WEBHOOK_TIMEOUT_MS) and records every
   * attempt, the deliveries' next state, and a 410's or a final failure's disabling, in one
   * transaction. Answers the outcomes in the order the requests finished.
   */
  async function sendBatch(subscription: SubscriptionRow, batch: ClaimedDelivery[]) {
    const events = await eventsOf(
      db,
      batch.map((d) => d.event_id),
    );
    const secrets = await signingSecrets(db, subscription.id);
    const finished: {
      claimed: ClaimedDelivery;
      sent: SendOutcome;
      record: AttemptRecord;
      attempt: number;
    }[] = [];
    await Promise.all(
      batch.map(async (claimed) => {
        const event = events.get(Number(claimed.event_id))!;
        const sent = await sendWebhook({
          url: subscription.url,
          event,
          secrets,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
        });
        const { attempt, status, nextAttemptAt } = outcome(claimed, sent);
        metrics.webhookAttempt(status === 'delivered' ? 'delivered' : 'failed');
        if (status === 'delivered' && claimed.requested_by === null)
          metrics.webhookDelivered((sent.at.getTime() - event.occurred_at.getTime()) / 1000);
        finished.push({
          claimed,
          sent,
          attempt,
          record: { deliveryId: claimed.id, ...sent, status, nextAttemptAt },
        });
      }),
    );
    await db.transaction(async (trx) => {
      await recordAttempts(
        trx,
        finished.map((f) => f.record),
      );
      const refused = finished.find((f) => f.sent.refused);
      if (refused) await disableSubscription(trx, subscription.id, refused.record.error!);
      const gone = finished.find((f) => f.record.status === 'gone');
      if (gone) await disableSubscription(trx, subscription.id, 'the endpoint answered 410 Gone');
      const failed = finished.find((f) => f.record.status === 'failed');
      if (failed) {
        const reason = failingReason(schedule, failed.attempt, failed.record.error);
        await disableSubscription(trx, subscription.id, reason);
      }
    });
    return finished.map((f) => f.record);
  }

  return {
    /**
     * A round of one subscription's queue: claim the due deliveries in batches, send each batch
     * at once, record it; until nothing is due (then asleep), the endpoint keeps failing
     * (circuit open), or the round has worked `roundBudgetMs`. `probe`: the circuit is open,
     * so only the oldest delivery is tried, if due. A disabled subscription's queue is skipped.
     */
    async deliverDue(input: {
      subscriptionId: string;
      probe: boolean;
      streak: number;
    }): Promise<QueueRound> {
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 1000);
      const started = Date.now();
      let lastWork = started;
      let streak = input.streak;
      let sent = 0;
      const done = async (
        state: QueueRound['state'],
        dueInMs: number | null,
      ): Promise<QueueRound> => {
        metrics.webhookPending(input.subscriptionId, await pendingCount(db, input.subscriptionId));
        return { state, streak, dueInMs, sent };
      };
      try {
        for (;;) {
          // A worker shutting down cancels it between batches; the next round goes on elsewhere.
          if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
          const subscription = await db<SubscriptionRow>('webhook_subscriptions')
            .where({ id: input.subscriptionId })
            .first();
          if (!subscription || subscription.status !== 'enabled') {
            await skipQueued(db, input.subscriptionId);
            await sleepUnlessDue(db, input.subscriptionId);
            return await done('idle', null);
          }
          const batch = await claimDue(db, {
            subscriptionId: subscription.id,
            limit: input.probe ? 1 : config.WEBHOOK_BATCH_SIZE,
            leaseMs,
            mode: input.probe ? 'head' : subscription.ordered_by_member ? 'ordered' : 'all',
          });
          if (batch.length === 0) {
            if (input.probe) return await done('open', await dueIn(db, subscription.id, true));
            if (Date.now() - lastWork < lingerMs) {
              await context.sleep(pollMs);
              continue;
            }
            const dueInMs = await sleepUnlessDue(db, subscription.id);
            if (dueInMs === 0) continue;
            return await done('idle', dueInMs);
          }
          let records: AttemptRecord[];
          try {
            records = await sendBatch(subscription, batch);
          } catch (err) {
            await release(
              db,
              batch.map((d) => d.id),
            ).catch(() => undefined);
            throw err;
          }
          sent += records.length;
          lastWork = Date.now();
          for (const r of records) streak = r.status === 'delivered' ? 0 : streak + 1;
          if (streak >= config.WEBHOOK_CIRCUIT_FAILURES)
            return await done('open', await dueIn(db, subscription.id, true));
          if (input.probe) return await done('busy', 0);
          if (Date.now() - started > roundBudgetMs) return await done('busy', 0);
          // A part batch: let the next events gather (a round's fixed cost over more of them).
          if (batch.length < config.WEBHOOK_BATCH_SIZE) await context.sleep(gatherMs);
        }
      } finally {
        clearInterval(beat);
      }
    },
  };
}
