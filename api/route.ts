/**
 * Routes are declared once, as data: method, path, the role they need, the zod schemas of their
 * input and output, and the handler. The same declaration mounts the route (auth, then JSON
 * parsing, then validation) and describes it in the OpenAPI document, so the two cannot disagree.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Role } from '../domain/roles';
import { authenticate, type AuthDeps } from './auth';
import { idempotent, type IdempotencyPolicy } from './idempotency';
import { nulAt, nulRefused, outOfRange, pgIntegerMax, unboundedNumbers } from './input-guards';
import { Problem, type FieldError } from './problem';

export { bigintId, pgIntegerMax } from './input-guards';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodObject;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json when a schema is given. */
  contentType?: string;
}

export interface Input<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  params: z.infer<P>;
  query: z.infer<Q>;
  body: z.infer<B>;
}

export interface RouteSpec<
  P extends AnyObject = AnyObject,
  Q extends AnyObject = AnyObject,
  B extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Express-style path, e.g. `/members/:id`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** The role a key needs, or `public` for routes that need no key. */
  auth: Role | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /** What an invalid body is: `validation` (a 422, the default) or `bad-request` (a 400). */
  invalidBody?: 'validation' | 'bad-request';
  /** The largest JSON body taken, as body-parser reads it (default `1mb`). */
  bodyLimit?: string;
  responses: Record<number, ResponseSpec>;
  /**
   * Whether the route honours the `Idempotency-Key` header (see `idempotency.ts`). Every
   * authenticated POST, PUT, PATCH and DELETE does unless it says `false` here (where a stored
   * answer makes no sense, e.g. signing out); public routes and reads never do.
   */
  idempotent?: false;
  /**
   * For a route that reads its own body in more than one format (e.g. CSV or JSON): the media
   * types taken, as a Buffer in `req.body`, so the `Idempotency-Key` fingerprint covers it too.
   */
  rawBody?: { type: string[]; limit?: string };
  /**
   * Checks the request before validation, e.g. a partner's signature over the raw body
   * (`rawBodyOf`); throws a `Problem` to refuse it. For `public` routes that carry their own proof.
   */
  verify?: (req: Request) => void;
  /**
   * Browser origins besides the API's own that may call this route (CORS, credentials allowed),
   * e.g. Temporal UI's for the payload codec. Only for routes that change nothing: the console's
   * session cookie, sent from one of these origins, needs no X-CSRF-Token.
   */
  corsOrigins?: readonly string[];
  handler: (input: Input<P, Q, B>, req: Request, res: Response) => Promise<void> | void;
}

const mutating: ReadonlySet<Method> = new Set(['post', 'put', 'patch', 'delete']);

/** Whether a route honours `Idempotency-Key`: every authenticated write unless it opts out. */
export const honoursIdempotencyKey = (spec: RouteSpec): boolean =>
  spec.auth !== 'public' && mutating.has(spec.method) && spec.idempotent !== false;

export function defineRoute<
  P extends AnyObject = AnyObject,
  Q extends AnyObject = AnyObject,
  B extends z.ZodType = z.ZodType,
>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec;
}

export function fieldErrors(
  error: { issues: readonly z.core.$ZodIssue[] },
  prefix?: string,
): FieldError[] {
  return error.issues.map((issue) => {
    let field = issue.path
      .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i ? '.' : ''}${String(part)}`))
      .join('');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      field = [field, ...issue.keys].filter(Boolean).join('.');
      message = 'is not a known field';
    } else if (issue.code === 'invalid_type' && message.endsWith('received undefined')) {
      message = 'is required';
    }
    return { field: prefix ? `${prefix}${field ? `.${field}` : ''}` : field || '(body)', message };
  });
}

/**
 * For routes without params or query. Built once: a zod object schema compiles its parser on first
 * use, so one built per request cost about 50 µs a request each (a CPU profile of `POST /events`).
 */
const nothing = z.object({});

function validate(spec: RouteSpec) {
  const paramNumbers = unboundedNumbers(spec.params);
  const queryNumbers = unboundedNumbers(spec.query);
  const noSuchResource = (req: Request, field: string) =>
    new Problem('not-found', `No resource at ${req.path}.`, {
      errors: [{ field, message: `unknown ${field}` }],
    });
  return (req: Request, res: Response, next: NextFunction): void => {
    const params = (spec.params ?? nothing).safeParse(req.params);
    if (!params.success) {
      throw noSuchResource(req, String(params.error.issues[0]?.path[0] ?? 'id'));
    }
    const bigParam = outOfRange(params.data, paramNumbers) ?? nulAt(params.data, '');
    if (bigParam) throw noSuchResource(req, bigParam);
    const query = (spec.query ?? nothing).safeParse(req.query);
    if (!query.success) {
      throw new Problem('validation', 'The query string is not valid.', {
        errors: fieldErrors(query.error, 'query'),
      });
    }
    const bigQuery = outOfRange(query.data, queryNumbers);
    if (bigQuery) {
      throw new Problem('validation', 'The query string is not valid.', {
        errors: [
          {
            field: `query.${bigQuery}`,
            message: `must be between ${-pgIntegerMax - 1} and ${pgIntegerMax}`,
          },
        ],
      });
    }
    const nulInQuery = nulAt(query.data, 'query');
    if (nulInQuery) {
      throw new Problem('validation', 'The query string is not valid.', {
        errors: [{ field: nulInQuery, message: nulRefused }],
      });
    }
    let body: unknown;
    if (spec.body) {
      if (!req.is('application/json')) {
        throw new Problem('unsupported-media-type', 'Send the body as application/json.');
      }
      const parsed = spec.body.safeParse(req.body);
      if (!parsed.success) {
        throw new Problem(spec.invalidBody ?? 'validation', 'The request body is not valid.', {
          errors: fieldErrors(parsed.error),
        });
      }
      const nulInBody = nulAt(parsed.data, '');
      if (nulInBody) {
        throw new Problem(spec.invalidBody ?? 'validation', 'The request body is not valid.', {
          errors: [{ field: nulInBody, message: nulRefused }],
        });
      }
      body = parsed.data;
    }
    res.locals.input = { params: params.data, query: query.data, body };
    next();
  };
}

const rawBodies = new WeakMap<Request, Buffer>();

const jsonBody = (limit = '1mb') =>
  express.json({
    limit,
    type: ['application/json', 'application/*+json'],
    verify: (req, _res, buffer) => rawBodies.set(req as Request, buffer),
  });
const defaultJsonBody = jsonBody();

/** The body exactly as received (for signatures), on routes with a JSON body. */
export const rawBodyOf = (req: Request): string => rawBodies.get(req)?.toString('utf8') ?? '';

/** CORS for a route's `corsOrigins`: the allow headers for those origins, none for others. */
function cors(spec: RouteSpec) {
  const origins = new Set(spec.corsOrigins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get('origin');
    res.vary('Origin');
    if (origin !== undefined && origins.has(origin)) {
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': `${spec.method.toUpperCase()}, OPTIONS`,
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
        'Access-Control-Max-Age': '600',
      });
    }
    next();
  };
}

export function mountRoutes(
  app: Express,
  routes: RouteSpec[],
  deps: AuthDeps & { idempotency: IdempotencyPolicy },
): void {
  for (const spec of routes) {
    // The CORS preflight: a middleware, not a route (it is no operation of the API).
    if (spec.corsOrigins) {
      const allow = cors(spec);
      app.use(spec.path, (req, res, next) => {
        if (req.method !== 'OPTIONS' || req.path !== '/') return next();
        allow(req, res, () => res.status(204).end());
      });
    }
    const chain = [
      ...(spec.corsOrigins ? [cors(spec)] : []),
      ...(spec.auth === 'public'
        ? []
        : [authenticate(deps, spec.auth, { crossOrigins: spec.corsOrigins ?? [] })]),
      ...(spec.body ? [spec.bodyLimit ? jsonBody(spec.bodyLimit) : defaultJsonBody] : []),
      ...(spec.rawBody
        ? [express.raw({ type: spec.rawBody.type, limit: spec.rawBody.limit ?? '1mb' })]
        : []),
      ...(spec.verify
        ? [(req: Request, _res: Response, next: NextFunction) => (spec.verify!(req), next())]
        : []),
      validate(spec),
      ...(honoursIdempotencyKey(spec) ? [idempotent(deps.db, deps.idempotency)] : []),
      async (req: Request, res: Response) => {
        await spec.handler(res.locals.input as Input<AnyObject, AnyObject, z.ZodType>, req, res);
      },
    ];
    app[spec.method](spec.path, ...chain);
  }
  refuseOtherMethods(app, routes);
}

/**
 * A known path asked with a method it does not have (TRACE, or DELETE where only GET exists): 405
 * with `Allow` naming the methods it has; OPTIONS answers 204 with the same `Allow`. Mounted after
 * every route, so it only sees requests no route took.
 */
function refuseOtherMethods(app: Express, routes: RouteSpec[]): void {
  const methodsByPath = new Map<string, Set<string>>();
  for (const spec of routes) {
    const methods = methodsByPath.get(spec.path) ?? new Set<string>();
    methods.add(spec.method.toUpperCase());
    if (spec.method === 'get') methods.add('HEAD');
    methodsByPath.set(spec.path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    app.route(path).all((req: Request, res: Response) => {
      res.set('Allow', allow);
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      throw new Problem('method-not-allowed', `${req.method} is not allowed on ${req.path}.`, {
        allow: [...methods],
      });
    });
  }
}
