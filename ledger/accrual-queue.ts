/**
 * Group commit for the API process: an earning event that arrives while batches are being written
 * waits, and goes with every other waiting event into the next batch (`accrual-batch.ts`). Idle,
 * an event is written at once, alone; under load one transaction carries many events, so the
 * round trips, commits and statement plans are shared, and a busy member's events queue in memory
 * instead of on its row lock. Returns are recorded one by one, as before.
 */
import type { Db } from '../infra/db';
import { recordAlone, recordEvent, settle } from './accrual';
import { recordEarningBatch, type AccrualOutcome, type AccrualRequest } from './accrual-batch';
import type { ActivityEvent, EventResult } from './activity';

export interface AccrualQueueOptions {
  /** Events in one batch at most. */
  maxBatch: number;
  /** Batches written at the same time (each on its own connection). */
  inFlight: number;
}

interface Waiting {
  request: AccrualRequest;
  done: (outcome: AccrualOutcome) => void;
}

export function createAccrualQueue(db: Db, options: AccrualQueueOptions) {
  const waiting: Waiting[] = [];
  let running = 0;

  const pump = (): void => {
    while (running < options.inFlight && waiting.length > 0) {
      const batch = waiting.splice(0, options.maxBatch);
      running += 1;
      void write(batch).finally(() => {
        running -= 1;
        pump();
      });
    }
  };

  const write = async (batch: Waiting[]): Promise<void> => {
    let outcomes: AccrualOutcome[];
    try {
      outcomes = await recordEarningBatch(
        db,
        batch.map((w) => w.request),
      );
    } catch {
      // Another process wrote one of these events (or an order) first: each on its own, in order,
      // which answers the race as the database decided it.
      outcomes = [];
      for (const { request } of batch)
        outcomes.push(await recordAlone(db, request.event, request.actor));
    }
    batch.forEach((w, i) => w.done(outcomes[i]!));
  };

  return {
    /** Records `event` (exactly once per event id) and answers as `recordEvent` does. */
    async submit(event: ActivityEvent, actor: string): Promise<EventResult> {
      if (event.type === 'return') return recordEvent(db, event, actor);
      const outcome = await new Promise<AccrualOutcome>((done) => {
        waiting.push({ request: { event, actor }, done });
        pump();
      });
      return settle(outcome);
    },
  };
}

export type AccrualQueue = ReturnType<typeof createAccrualQueue>;
