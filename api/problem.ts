/**
 * The one error shape (RFC 9457 problem details, `application/problem+json`). Handlers throw a
 * `Problem`; domain code throws a `Refusal` (domain/refusal.ts) that api/errors.ts maps to one.
 * The error middleware renders both, and anything else as a 500 without details.
 */
import type { FieldError } from '../domain/refusal';

export type { FieldError };

export const problemTypes = {
  'bad-request': { status: 400, title: 'Malformed request' },
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  forbidden: { status: 403, title: 'Role not allowed' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  validation: { status: 422, title: 'Validation failed' },
  'budget-exhausted': { status: 422, title: 'Programme budget used up' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const;

export type ProblemType = keyof typeof problemTypes;

export class Problem extends Error {
  readonly status: number;
  readonly title: string;
  /** Sent as `Retry-After` (seconds); every 503 has one (api/errors.ts). */
  retryAfterSeconds?: number;

  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; [key: string]: unknown } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.status = problemTypes[type].status;
    this.title = problemTypes[type].title;
  }

  toJSON(instance: string, requestId?: string): Record<string, unknown> {
    return {
      type: `/problems/${this.type}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      instance,
      ...(requestId ? { requestId } : {}),
      ...this.extra,
    };
  }
}

export const notFound = (what: string, field: string, value: string): Problem =>
  new Problem('not-found', `No ${what} with ${field} '${value}'.`, {
    errors: [{ field, message: `unknown ${what}` }],
  });
