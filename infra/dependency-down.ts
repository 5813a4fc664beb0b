/**
 * Whether an error means a dependency is down (not a bug): Postgres refusing or dropping
 * connections, shutting down or starting up, or no connection to be had in time; Temporal's
 * frontend unavailable. The API answers those with 503 and `Retry-After` (api/errors.ts), so a
 * client retries, where anything else is a 500.
 */
import { isGrpcServiceError } from '@temporalio/client';

export type Dependency = 'postgres' | 'temporal';

/** Socket errors of a connection that could not be made or was cut. */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATE classes and codes of a server that is going away or not there yet: 08 connection
 * exceptions, 57P01-57P03 (terminated by the administrator, crash shutdown, cannot connect now).
 */
function postgresDown(code: string): boolean {
  return code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code);
}

/** node-postgres and knex say so in words only. */
const postgresMessages = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Knex: Timeout acquiring a connection/,
  /^Client has encountered a connection error/,
];

/** gRPC UNAVAILABLE: the frontend cannot be reached or is shutting down. */
const grpcUnavailable = 14;

function direct(err: unknown): Dependency | undefined {
  if (isGrpcServiceError(err)) return Number(err.code) === grpcUnavailable ? 'temporal' : undefined;
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (socketCodes.has(code) || postgresDown(code))) {
    return 'postgres';
  }
  if (postgresMessages.some((pattern) => pattern.test(err.message))) return 'postgres';
  return undefined;
}

/**
 * The dependency that is down, if that is what `err` (or what it wraps: `cause`, an
 * AggregateError's errors) says; else undefined. A bare socket error counts as Postgres': Temporal's
 * client reports its own as gRPC errors, and fetch's (partners) are told apart.
 */
export function dependencyDownOf(err: unknown, depth = 0): Dependency | undefined {
  if (depth > 5 || err === null || typeof err !== 'object') return undefined;
  const found = direct(err);
  if (found) return found;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const innerFound = dependencyDownOf(inner, depth + 1);
      if (innerFound) return innerFound;
    }
  }
  // fetch's own failures (a partner, Prometheus) wrap socket errors too: not Postgres'.
  if (err instanceof TypeError && err.message === 'fetch failed') return undefined;
  return dependencyDownOf((err as { cause?: unknown }).cause, depth + 1);
}
