/**
 * Calling a partner over HTTP from an activity: JSON in and out, a timeout on every call, and the
 * answer sorted into what to retry (network errors, timeouts, 5xx, 409 in flight, 429) and what
 * not to (other 4xx: the request itself is wrong, or the partner said no). Every call is timed
 * and counted by partner, operation and outcome (`partnerClient`).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../domain/failures';
import type { ActivityMetrics, Partner, PartnerOutcome } from './metrics';

export interface PartnerAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface PartnerRequest {
  method: 'POST' | 'GET';
  body?: unknown;
  headers?: Record<string, string>;
}

/** Statuses that mean "not now" rather than "no": the call is retried. */
const retryableStatuses = [408, 409, 425, 429];
const isRetryable = (status: number): boolean =>
  status >= 500 || retryableStatuses.includes(status);

export async function callPartner(
  url: string,
  init: PartnerRequest,
  timeoutMs = 10_000,
): Promise<PartnerAnswer> {
  const response = await fetch(url, {
    method: init.method,
    headers: { accept: 'application/json', 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { detail: text.slice(0, 200) };
  }
  return { status: response.status, body };
}

function outcomeOf(answer: PartnerAnswer, answers: readonly number[]): PartnerOutcome {
  if ((answer.status >= 200 && answer.status < 300) || answers.includes(answer.status)) return 'ok';
  return isRetryable(answer.status) ? 'unavailable' : 'rejected';
}

/**
 * `callPartner` for one partner, each call recorded in the worker's metrics. `answers`: statuses
 * that are a normal answer to this operation (a cancel's 404 "never had it"), counted `ok`.
 */
export function partnerClient(partner: Partner, metrics: ActivityMetrics, timeoutMs = 10_000) {
  return async (
    operation: string,
    url: string,
    init: PartnerRequest,
    answers: readonly number[] = [],
  ): Promise<PartnerAnswer> => {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      const answer = await callPartner(url, init, timeoutMs);
      metrics.partnerCall(partner, operation, outcomeOf(answer, answers), seconds());
      return answer;
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      metrics.partnerCall(partner, operation, timedOut ? 'timeout' : 'network', seconds());
      throw err;
    }
  };
}

const detailOf = (answer: PartnerAnswer): string =>
  typeof answer.body.detail === 'string' ? answer.body.detail : JSON.stringify(answer.body);

/** Throws for anything but 2xx: retryable (plain `Error`) or a non-retryable business failure. */
export function expectSuccess(partner: string, answer: PartnerAnswer): void {
  if (answer.status >= 200 && answer.status < 300) return;
  const message = `${partner} answered ${answer.status}: ${detailOf(answer)}`;
  if (isRetryable(answer.status)) throw new Error(message);
  throw ApplicationFailure.nonRetryable(message, FailureType.PartnerRejected, answer.body);
}
