/**
 * What the local partner simulators (warehouse, gift cards) share: fault injection driven by a
 * control API, the problem+json error shape with validation at the edge, and listening on a port
 * with a `close()` that ends promptly even while requests are being held on purpose.
 *
 * Faults apply to every request outside `/_control`, decided when the request arrives:
 * - `failNext: n` fails exactly the next n requests (deterministic; what tests use);
 * - `timeoutRate` holds that share of requests without ever answering (until close);
 * - `failRate` answers `failStatus` to that share, before any work is done;
 * - `failAfterNext: n` lets the next n requests do their work, then answers 500 instead of the
 *   real answer (a response lost after the partner acted);
 * - `latencyMs` delays each request before it is handled.
 * Rates draw from a seeded generator, so a run with the same seed makes the same choices.
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../infra/logger';

/** The problem types the simulators answer, with their status and title. */
const problemTypes = {
  'bad-request': [400, 'Malformed request'],
  'insufficient-float': [402, 'Insufficient float'],
  'not-found': [404, 'Not found'],
  conflict: [409, 'Conflict'],
  'request-in-progress': [409, 'Request in progress'],
  validation: [422, 'Validation failed'],
  'idempotency-key-reused': [422, 'Idempotency key reused'],
  declined: [422, 'Card issue declined'],
  internal: [500, 'Internal error'],
  'injected-fault': [503, 'Injected fault'],
  unavailable: [503, 'Service unavailable'],
} as const satisfies Record<string, readonly [number, string]>;

/** An answer other than success, rendered as application/problem+json. */
export class PartnerProblem extends Error {
  readonly status: number;

  constructor(
    readonly type: keyof typeof problemTypes,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    status?: number,
  ) {
    super(detail);
    this.name = 'PartnerProblem';
    this.status = status ?? problemTypes[type][0];
  }

  toJSON(): Record<string, unknown> {
    const { status, detail } = this;
    const title = problemTypes[this.type][1];
    return { type: `/problems/${this.type}`, title, status, detail, ...this.extra };
  }
}

/** The `errors` member of a problem that blames one field. */
export const blame = (field: string, message: string) => ({ errors: [{ field, message }] });

export function sendProblem(res: Response, problem: PartnerProblem): void {
  res.status(problem.status).type('application/problem+json').json(problem.toJSON());
}

export const notFound = (what: string, field: string, value: string): PartnerProblem =>
  new PartnerProblem(
    'not-found',
    `No ${what} with ${field} '${value}'.`,
    blame(field, `unknown ${what}`),
  );

/** Parses a request body (or any input) with `schema`; a 422 naming each wrong field if not. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    field: issue.path.join('.') || '(body)',
    message: issue.message,
  }));
  throw new PartnerProblem('validation', 'The request is not valid.', { errors });
}

/** JSON with object keys sorted, to compare two requests by content. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export const faultSettingsSchema = z.strictObject({
  failRate: z.number().min(0).max(1).optional(),
  failStatus: z.union([z.literal(500), z.literal(502), z.literal(503)]).optional(),
  latencyMs: z.int().min(0).max(600_000).optional(),
  timeoutRate: z.number().min(0).max(1).optional(),
  failNext: z.int().min(0).optional(),
  failAfterNext: z.int().min(0).optional(),
  seed: z.int().optional(),
});
export type FaultSettings = Required<Omit<z.infer<typeof faultSettingsSchema>, 'seed'>>;

const noFaults: FaultSettings = {
  failRate: 0,
  failStatus: 503,
  latencyMs: 0,
  timeoutRate: 0,
  failNext: 0,
  failAfterNext: 0,
};

/** A small seeded generator (mulberry32): the same seed gives the same sequence. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Faults {
  settings(): FaultSettings;
  /** Changes the given settings (and reseeds if `seed` is given); returns them all. */
  set(patch: z.infer<typeof faultSettingsSchema>): FaultSettings;
  reset(): void;
  /** How many requests are being held ("timeouts") or delayed right now. */
  holding(): number;
  middleware(req: Request, res: Response, next: NextFunction): void;
  /** Ends held and delayed requests by destroying their sockets; later requests are dropped. */
  close(): void;
}

export function createFaults(options: { seed?: number } = {}): Faults {
  let settings = { ...noFaults };
  let random = seededRandom(options.seed ?? Date.now());
  let closed = false;
  const held = new Map<ServerResponse, NodeJS.Timeout | undefined>();

  const hold = (res: Response, timer?: NodeJS.Timeout): void => {
    held.set(res, timer);
    res.on('close', () => {
      clearTimeout(held.get(res));
      held.delete(res);
    });
  };
  const injected = (status: number, detail: string): PartnerProblem =>
    new PartnerProblem('injected-fault', detail, {}, status);

  return {
    settings: () => ({ ...settings }),
    set(patch) {
      const { seed, ...rest } = patch;
      if (seed !== undefined) random = seededRandom(seed);
      settings = { ...settings, ...rest };
      return { ...settings };
    },
    reset() {
      settings = { ...noFaults };
    },
    holding: () => held.size,
    middleware(req, res, next) {
      if (req.path.startsWith('/_control/')) return next();
      if (closed) return void res.socket?.destroy();
      const s = settings;
      if (s.failNext > 0) {
        s.failNext -= 1;
        return sendProblem(
          res,
          injected(s.failStatus, 'This request failed on purpose (failNext).'),
        );
      }
      if (s.timeoutRate > 0 && random() < s.timeoutRate) return hold(res);
      if (s.failRate > 0 && random() < s.failRate) {
        return sendProblem(
          res,
          injected(s.failStatus, 'This request failed on purpose (failRate).'),
        );
      }
      if (s.failAfterNext > 0) {
        s.failAfterNext -= 1;
        // The handler does its work; whatever it answers, the client sees a 500.
        const json = res.json.bind(res);
        const lost = injected(500, 'The request was processed, then the answer was lost.');
        res.json = () => {
          res.status(500).type('application/problem+json');
          return json(lost.toJSON());
        };
      }
      if (s.latencyMs <= 0) return next();
      hold(
        res,
        setTimeout(() => {
          held.delete(res);
          next();
        }, s.latencyMs),
      );
    },
    close() {
      closed = true;
      for (const [res, timer] of held) {
        clearTimeout(timer);
        res.socket?.destroy();
      }
      held.clear();
    },
  };
}

/**
 * An express app with the shared parts around a simulator's own routes: faults first, JSON
 * bodies, `GET|POST /_control/faults` and `POST /_control/reset` (faults off, then `onReset`),
 * `GET /health` (what a launch's readiness check probes), the service's routes, then 404 and one
 * error handler.
 */
export function createPartnerApp(options: {
  faults: Faults;
  routes: (app: Express) => void;
  onReset?: () => void;
  logger?: Logger;
}): Express {
  const { faults } = options;
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => faults.middleware(req, res, next));
  app.use(express.json({ limit: '100kb' }));
  app.get('/_control/faults', (_req, res) => {
    res.json(faults.settings());
  });
  app.post('/_control/faults', (req, res) => {
    res.json(faults.set(parseInput(faultSettingsSchema, req.body ?? {})));
  });
  app.post('/_control/reset', (_req, res) => {
    faults.reset();
    options.onReset?.();
    res.json(faults.settings());
  });
  // What a readiness check probes; faults apply to it as to any request (a down partner is down).
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  options.routes(app);
  app.use((req: Request) => {
    throw new PartnerProblem('not-found', `No route for ${req.method} ${req.path}.`);
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (err instanceof PartnerProblem) return sendProblem(res, err);
    if ((err as { type?: string }).type === 'entity.parse.failed') {
      return sendProblem(
        res,
        new PartnerProblem(
          'bad-request',
          'The body is not valid JSON.',
          blame('(body)', 'malformed JSON'),
        ),
      );
    }
    options.logger?.error({ err }, 'partner simulator: unhandled error');
    sendProblem(res, new PartnerProblem('internal', 'Something went wrong.'));
  });
  return app;
}

export interface Listening {
  url: string;
  server: Server;
  /** Stops listening and ends every open connection; safe to call more than once. */
  close(): Promise<void>;
}

/** Listens on `host:port` (default 127.0.0.1, port 0: a free one). */
export async function listen(
  app: Express,
  address: { port?: number; host?: string },
): Promise<Listening> {
  const host = address.host ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(address.port ?? 0, host, (err?: Error) =>
      err ? reject(err) : resolve(s),
    );
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    server,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still being answered get a moment, then their connections are cut.
        setTimeout(() => server.closeAllConnections(), 200).unref();
      })),
  };
}
