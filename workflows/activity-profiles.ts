/**
 * How every workflow calls its activities: timeouts and retries by kind of step, declared once.
 * A workflow picks a profile by what the step touches (Postgres, a partner, a readiness probe),
 * never its own numbers. Business failures (the one list) are never retried.
 */
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { nonRetryableFailureTypes } from '../domain/failures';
import type { RedemptionPlan } from '../domain/redemption';

/** A short Postgres transaction: retried with backoff until it answers. */
export const postgresStep: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: nonRetryableFailureTypes,
  },
};

/**
 * A short Postgres transaction that is safe to repeat (idempotent by its business key), run by
 * the worker inside the workflow task: one marker in the history instead of an activity's three
 * events and the workflow task after it. Longer retries fall back to a timer the server keeps.
 */
export const postgresLocalStep: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: postgresStep.retry,
};

/** Reads over many rows (a simulation's page of a big window): slow, retried until it answers. */
export const postgresLongRead: ActivityOptions = {
  ...postgresStep,
  startToCloseTimeout: '5 minutes',
};

/** Deleting many rows a batch at a time: heartbeats each batch, so a dead worker's run is retried. */
export const postgresSweep: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: postgresStep.retry,
};

const partner = (policy: RedemptionPlan['partnerRetry'], untilDone: boolean): ActivityOptions => ({
  startToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: policy.maximumIntervalMs,
    ...(untilDone ? {} : { maximumAttempts: policy.maximumAttempts }),
    nonRetryableErrorTypes: nonRetryableFailureTypes,
  },
});

/**
 * A call to a partner over HTTP, idempotent by the redemption id, so retrying never does a thing
 * twice. How often and how long is program policy (`redemption.partnerAttempts`).
 */
export const partnerCall = (policy: RedemptionPlan['partnerRetry']): ActivityOptions =>
  partner(policy, false);

/** Undoing a partner call: retried until the partner answers, nothing is given back on a guess. */
export const partnerUndo = (policy: RedemptionPlan['partnerRetry']): ActivityOptions =>
  partner(policy, true);

/** A webhook attempt: waits on the subscriber, heartbeating; retried with backoff. */
export const webhookAttempt: ActivityOptions = {
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '5 seconds',
  retry: postgresStep.retry,
};

/** A round of a subscription's queue: up to ~20 s of sends plus one request's timeout; heartbeats. */
export const webhookRound: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
};

/** Readiness checks and guard figures: a few tries, then the playbook carries on without them. */
export const readinessCheck: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
};

/** `profile`, also not retrying a workflow's own refusals (`Conflict`, `SimulationRefused`...). */
export const refusing = <T extends ActivityOptions>(profile: T, ...types: string[]): T => ({
  ...profile,
  retry: {
    ...profile.retry,
    nonRetryableErrorTypes: [...(profile.retry?.nonRetryableErrorTypes ?? []), ...types],
  },
});
