import type { NextFunction, Request, Response } from 'express';
import { Refusal, type RefusalKind } from '../domain/refusal';
import { dependencyDownOf, type Dependency } from '../infra/dependency-down';
import type { Logger } from '../infra/logger';
import { Problem, type ProblemType } from './problem';

/**
 * The one table from a domain refusal's kind to the problem a client gets: every kind has a row
 * (the compiler checks), so a new kind cannot reach a client as a 500.
 */
export const refusalProblems: Record<RefusalKind, ProblemType> = {
  Invalid: 'validation',
  InsufficientPoints: 'validation',
  NotFound: 'not-found',
  MemberNotFound: 'not-found',
  Conflict: 'conflict',
  MemberClosed: 'conflict',
  MemberSuspended: 'conflict',
  BudgetExhausted: 'budget-exhausted',
};

interface HttpError {
  type?: string;
  /** body-parser's limit, in bytes, on `entity.too.large`. */
  limit?: number;
  status?: number;
  statusCode?: number;
}

/** body-parser's errors carry a `type`; map the ones a client can cause to a problem. */
function fromHttpError(err: HttpError): Problem | undefined {
  // The router's, for a path parameter that is not valid percent-encoding (`/members/%zz`).
  if (err instanceof URIError && (err.status ?? err.statusCode) === 400) {
    return new Problem('bad-request', 'The path is not valid percent-encoding.', {
      errors: [{ field: '(path)', message: 'malformed percent-encoding' }],
    });
  }
  switch (err.type) {
    case 'entity.parse.failed':
      return new Problem('bad-request', 'The body is not valid JSON.', {
        errors: [{ field: '(body)', message: 'malformed JSON' }],
      });
    case 'entity.too.large':
      return new Problem(
        'payload-too-large',
        `The body is larger than ${Math.round((err.limit ?? 1 << 20) / (1 << 20))} MB.`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new Problem('unsupported-media-type', 'Send the body as UTF-8 JSON.');
    default:
      return undefined;
  }
}

/** A refusal as its problem: the kind's type and status, its message, fields and details. */
function fromRefusal(refusal: Refusal): Problem {
  const { errors, details } = refusal;
  return new Problem(refusalProblems[refusal.kind], refusal.message, {
    ...(errors.length ? { errors } : {}),
    ...details,
  });
}

const dependencyNames: Record<Dependency, string> = { postgres: 'Postgres', temporal: 'Temporal' };

/** How long a client is asked to wait before retrying a 503. */
const retryAfterSeconds = 5;

/** A dependency that is down: a 503 naming it, to retry (nothing was done, or it is idempotent). */
function fromDependencyDown(dependency: Dependency): Problem {
  const problem = new Problem(
    'unavailable',
    `${dependencyNames[dependency]} is unavailable; retry the same request shortly.`,
    { dependency },
  );
  problem.retryAfterSeconds = retryAfterSeconds;
  return problem;
}

/**
 * The problem answering an error: a Problem as it is, a domain refusal by the table above, a
 * body the client got wrong as its 4xx, a dependency that is down as a 503 naming it, anything
 * else a 500 without details. Never throws, so a route answering per item can use it too.
 */
export function problemOf(err: unknown): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof Refusal) return fromRefusal(err);
  const down = dependencyDownOf(err);
  if (down) return fromDependencyDown(down);
  return fromHttpError(err as HttpError) ?? new Problem('internal', 'Something went wrong.');
}

export function notFoundHandler(req: Request): never {
  throw new Problem('not-found', `No route for ${req.method} ${req.path}.`);
}

/** The one error middleware: every 4xx/5xx leaves as application/problem+json. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const problem = problemOf(err);
    if (problem.type === 'unavailable' && problem !== err) {
      logger.warn({ err, reqId: req.id }, 'dependency unavailable');
    } else if (problem.status >= 500 && problem !== err) {
      logger.error({ err, reqId: req.id }, 'unhandled error');
    }
    if (res.headersSent) return;
    if (problem.status === 503) {
      res.set('Retry-After', String(problem.retryAfterSeconds ?? retryAfterSeconds));
    }
    res
      .status(problem.status)
      .type('application/problem+json')
      .json(problem.toJSON(req.originalUrl, typeof req.id === 'string' ? req.id : undefined));
  };
}
