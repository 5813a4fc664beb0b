/**
 * `POST /events/batch`: up to 1,000 events of the shapes `POST /events` takes, in one request. Each
 * event is recorded exactly once by its own eventId and gets its own result, the status and body
 * (or problem) `POST /events` would have answered for it alone; one bad event does not fail the
 * others, and a batch sent again changes nothing already done. Only a malformed envelope fails the
 * whole request (a 400, and nothing is recorded).
 */
import { z } from 'zod';
import type { Logger } from '../../infra/logger';
import type { Db } from '../../infra/db';
import type { EventAnswer, EventResult } from '../../ledger/activity';
import { createEventBatcher } from '../../ledger/event-batch';
import { callerOf } from '../auth';
import { notifyLifecycles, type LifecycleDeps } from '../lifecycle';
import { Problem } from '../problem';
import { problemOf } from '../errors';
import { defineRoute, fieldErrors, type RouteSpec } from '../route';
import { eventAnswer, eventBody } from './events';

export const maxBatchEvents = 1000;

type EventBody = z.infer<typeof eventBody>;

/** An item of the batch that is not a valid event: refused on its own, the others still go. */
class InvalidEvent {
  constructor(
    readonly issues: readonly z.core.$ZodIssue[],
    readonly eventId: string | null,
  ) {}
}

/**
 * Each item is validated by `eventBody` (so the OpenAPI document describes it as such), and one
 * that fails is kept as an `InvalidEvent` instead of failing the envelope. (Describing the schema
 * calls the catch with no context; that throws, and the description is `eventBody`'s alone.)
 */
const batchItem = eventBody.catch((ctx) => {
  const input = ctx.input as { eventId?: unknown } | null;
  const eventId = typeof input?.eventId === 'string' ? input.eventId : null;
  return new InvalidEvent(ctx.error.issues, eventId) as never;
});

const batchBody = z.strictObject({
  events: z
    .array(batchItem)
    .min(1)
    .max(maxBatchEvents)
    .describe(`1 to ${maxBatchEvents} events, each as POST /events takes it.`),
});

const problemObject = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .loose();

const itemResult = z.object({
  index: z.number().int().describe('The position of the event in the request, from 0.'),
  eventId: z.string().nullable(),
  status: z.number().int().describe('What POST /events would have answered for this event.'),
  body: eventAnswer.optional().describe('The answer, on 200 and 201.'),
  problem: problemObject.optional().describe('The problem (as problem+json), on 4xx and 5xx.'),
});

interface ItemResult {
  index: number;
  eventId: string | null;
  status: number;
  body?: EventAnswer;
  problem?: Record<string, unknown>;
}

/**
 * What `POST /events` answers for an event that failed: the thrown error as its problem+json
 * object, by the one mapping of refusals to problems (anything else is a 500, logged, without details).
 */
export function itemProblem(
  err: unknown,
  where: { instance: string; requestId?: string | undefined; logger: Logger },
): Record<string, unknown> {
  const problem = problemOf(err);
  if (problem.status >= 500 && problem !== err) {
    where.logger.error({ err, reqId: where.requestId }, 'unhandled error in a batch event');
  }
  return problem.toJSON(where.instance, where.requestId);
}

export function eventBatchRoutes(deps: LifecycleDeps & { db: Db }): RouteSpec[] {
  const batcher = createEventBatcher(deps.db, {
    chunk: deps.config.ACCRUAL_BATCH_MAX,
    inFlight: deps.config.ACCRUAL_BATCHES_IN_FLIGHT,
    merge: maxBatchEvents,
  });
  return [
    defineRoute({
      method: 'post',
      path: '/events/batch',
      operationId: 'recordEvents',
      summary: 'Record up to 1,000 events, each exactly once per eventId and answered on its own',
      tag: 'Events',
      auth: 'partner',
      body: batchBody,
      invalidBody: 'bad-request',
      bodyLimit: '10mb',
      responses: {
        200: {
          description:
            'One result per event, in request order: the status and body or problem that POST /events would have answered for it alone.',
          schema: z.object({ results: z.array(itemResult) }),
        },
        400: { description: 'The envelope is malformed (events not an array of 1 to 1,000).' },
        413: { description: 'The body is larger than 10 MB.' },
      },
      handler: async ({ body }, req, res) => {
        const caller = callerOf(res);
        const actor = `${caller.role}:${caller.name}`;
        const items = body.events as (EventBody | InvalidEvent)[];
        const valid = items.flatMap((event, index) =>
          event instanceof InvalidEvent ? [] : [{ index, event }],
        );
        const outcomes = await batcher.record(valid.map(({ event }) => ({ event, actor })));
        const where = {
          instance: req.originalUrl,
          requestId: typeof req.id === 'string' ? req.id : undefined,
          logger: deps.logger,
        };
        const results = new Array<ItemResult>(items.length);
        const recorded: EventResult[] = [];
        items.forEach((item, index) => {
          if (item instanceof InvalidEvent) {
            const problem = new Problem('validation', 'The request body is not valid.', {
              errors: fieldErrors(item),
            });
            results[index] = failed(index, item.eventId, itemProblem(problem, where));
          }
        });
        valid.forEach(({ index, event }, k) => {
          const outcome = outcomes[k]!;
          if ('error' in outcome) {
            results[index] = failed(index, event.eventId, itemProblem(outcome.error, where));
            return;
          }
          const { result } = outcome;
          recorded.push(result);
          const status = result.replayed ? 200 : 201;
          results[index] = { index, eventId: event.eventId, status, body: result.body };
        });
        await notifyLifecycles(deps, recorded);
        res.status(200).json({ results });
      },
    }),
  ];
}

function failed(
  index: number,
  eventId: string | null,
  problem: Record<string, unknown>,
): ItemResult {
  return { index, eventId, status: problem.status as number, problem };
}
