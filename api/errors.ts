import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../infra/logger';
import { Problem } from './problem';

interface HttpError {
  type?: string;
  /** body-parser's limit, in bytes, on `entity.too.large`. */
  limit?: number;
  status?: number;
  statusCode?: number;
}

/** body-parser's errors carry a `type`; map the ones a client can cause to a problem. */
function fromHttpError(err: HttpError): Problem | undefined {
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

export function notFoundHandler(req: Request): never {
  throw new Problem('not-found', `No route for ${req.method} ${req.path}.`);
}

/** The one error middleware: every 4xx/5xx leaves as application/problem+json. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const problem =
      err instanceof Problem
        ? err
        : (fromHttpError(err as HttpError) ?? new Problem('internal', 'Something went wrong.'));
    if (problem.status >= 500 && !(err instanceof Problem)) {
      logger.error({ err, reqId: req.id }, 'unhandled error');
    }
    if (res.headersSent) return;
    res
      .status(problem.status)
      .type('application/problem+json')
      .json(problem.toJSON(req.originalUrl, typeof req.id === 'string' ? req.id : undefined));
  };
}
