/**
 * How a redemption ends other than completed, and how the workflow tells failures apart: a
 * cancellation, a parcel lost, a partner that answered no, a partner that never answered.
 * Deterministic, no I/O: part of the workflow bundle.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** A cancel by the member or ops, before the point of no return. */
export class Cancelled extends Error {}

/** Rejected in review (by ops, or by the policy at the deadline): the hold is released. */
export class Rejected extends Error {}

/** Shipped, and not delivered within the program's `lostAfter`. */
export class Lost extends Error {}

/** The partner answered no (a business failure), as opposed to no answer (retries ran out). */
export const answeredNo = (err: unknown): boolean =>
  err instanceof ActivityFailure &&
  err.cause instanceof ApplicationFailure &&
  err.cause.nonRetryable === true;

export const tooLate = (status: string): ApplicationFailure =>
  ApplicationFailure.nonRetryable(
    `The redemption is ${status.replaceAll('_', ' ')}: too late to cancel.`,
    'TooLateToCancel',
  );

export const notInReview = (status: string): ApplicationFailure =>
  ApplicationFailure.nonRetryable(
    `The redemption is ${status.replaceAll('_', ' ')}: not in review (or decided already).`,
    'NotInReview',
  );

/** The business failure's type (`OutOfStock`...), else the error's name. */
export function failureType(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause ?? err;
  return (cause as { type?: string }).type ?? (err as Error).name;
}

/** What went wrong, in the words of whoever said so (the activity's failure, if one). */
export function describe(err: unknown): string {
  const cause = (err as { cause?: Error }).cause;
  return (cause ?? (err as Error)).message;
}

const units: [string, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
];

/** A policy duration for people: `30 days`, `4 seconds`, `1500 ms`. */
export function humanDuration(ms: number): string {
  for (const [unit, size] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}
