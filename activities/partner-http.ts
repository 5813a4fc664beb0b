/**
 * Calling a partner over HTTP from an activity: JSON in and out, a timeout on every call, and the
 * answer sorted into what to retry (network errors, timeouts, 5xx, 409 in flight, 429) and what
 * not to (other 4xx: the request itself is wrong, or the partner said no).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../domain/failures';

export interface PartnerAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function callPartner(
  url: string,
  init: { method: 'POST' | 'GET'; body?: unknown; headers?: Record<string, string> },
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

const detailOf = (answer: PartnerAnswer): string =>
  typeof answer.body.detail === 'string' ? answer.body.detail : JSON.stringify(answer.body);

/** Throws for anything but 2xx: retryable (plain `Error`) or a non-retryable business failure. */
export function expectSuccess(partner: string, answer: PartnerAnswer): void {
  if (answer.status >= 200 && answer.status < 300) return;
  const message = `${partner} answered ${answer.status}: ${detailOf(answer)}`;
  if (answer.status >= 500 || [408, 409, 425, 429].includes(answer.status))
    throw new Error(message);
  throw ApplicationFailure.nonRetryable(message, FailureType.PartnerRejected, answer.body);
}
