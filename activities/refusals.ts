/**
 * The one place a domain refusal becomes a Temporal failure: an `ApplicationFailure` whose `type`
 * is the refusal's kind, never retried (asking again gets the same no), with the fields at fault
 * (and any further details) as its details. Every other error is left as it is: a transient
 * failure, retried by the activity's policy.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { Refusal } from '../domain/refusal';

/** `throw asActivityFailure(err)`: a refusal as a non-retryable failure; anything else as is. */
export function asActivityFailure(err: unknown): unknown {
  if (!(err instanceof Refusal)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.kind,
    nonRetryable: true,
    details: [{ errors: err.errors, ...err.details }],
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any activity's own parameters
type Activity = (...args: any[]) => Promise<unknown>;

/** A factory's activities, each turning the refusals it meets into non-retryable failures. */
export function refusalsAsFailures<T extends Record<string, Activity>>(activities: T): T {
  const wrapped = Object.entries(activities).map(([name, activity]) => [
    name,
    async (...args: unknown[]) => {
      try {
        return await activity(...args);
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  ]);
  return Object.fromEntries(wrapped) as T;
}
