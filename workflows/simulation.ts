import {
  ApplicationFailure,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SimulationActivities } from '../activities/simulations';
import type { PageCursor } from '../changes/simulation-page';
import {
  emptyPart,
  mergeParts,
  shards,
  type Shard,
  type SimulationPart,
  type SimulationResult,
} from '../domain/simulation';
import type { MemberRun } from '../domain/simulation-replay';
import { postgresLongRead, refusing } from './activity-profiles';
import { searchAttributes, type SimulationInput } from './shared';

/** Reads over many events: a page may take a while on a big window; retried until it answers. */
const simulation = proxyActivities<SimulationActivities>(
  refusing(postgresLongRead, 'SimulationRefused'),
);

/** Member-id ranges replayed side by side (a page of each at a time). */
const SHARDS = 4;
/** Rounds of pages per run before handing over, unless the SDK suggests it sooner. */
const ROUNDS_PER_RUN = 100;

interface ShardProgress {
  shard: Shard;
  cursor: PageCursor | null;
  /** The member the last page cut in two, with its running state. */
  carry: MemberRun | null;
  done: boolean;
}

/** What one run hands the next (continue-as-new): where each shard is, what is added up. */
export interface SimulationProgress {
  shards: ShardProgress[];
  part: SimulationPart;
  processed: number;
}

/**
 * The what-if (`simulation:<id>`): the proposed program replayed over the stored events of the
 * window. Members are split into id ranges replayed side by side, a page of events per activity
 * (member after member); each page's figures are merged here and the member it cut in two is
 * carried to the shard's next page. Progress is written by each page; a long run continues as
 * new with what it has so far; the result is written to the simulation's row and returned (a rule
 * change starts this as a child and attaches the result).
 */
export async function simulationWorkflow(
  input: SimulationInput,
  carried?: SimulationProgress,
): Promise<SimulationResult> {
  let progress: SimulationProgress = carried ?? {
    shards: shards(SHARDS).map((shard) => ({ shard, cursor: null, carry: null, done: false })),
    part: emptyPart(),
    processed: 0,
  };
  try {
    if (!carried) {
      if (input.changeId)
        upsertSearchAttributes([{ key: searchAttributes.RuleChangeId, value: input.changeId }]);
      await simulation.simulationBegin(input);
    }
    for (let rounds = 0; progress.shards.some((s) => !s.done); rounds += 1) {
      if (rounds >= ROUNDS_PER_RUN || workflowInfo().continueAsNewSuggested)
        return await continueAsNew<typeof simulationWorkflow>(input, progress);
      progress = await round(input, progress);
    }
    return await simulation.simulationFinish({
      simulationId: input.simulationId,
      window: input.window,
      part: progress.part,
      actor: input.actor,
    });
  } catch (err) {
    if (err instanceof ContinueAsNew || isCancellation(err)) throw err;
    const cause = err instanceof Error ? err.cause : undefined;
    const message =
      cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
    await simulation.simulationFailed({
      simulationId: input.simulationId,
      error: message,
      actor: input.actor,
    });
    throw ApplicationFailure.nonRetryable(`Simulation failed: ${message}`, 'SimulationFailed');
  }
}

/** The next page of every shard not done, side by side; merged in shard order. */
async function round(
  input: SimulationInput,
  progress: SimulationProgress,
): Promise<SimulationProgress> {
  const pages = await Promise.all(
    progress.shards.map((s) =>
      s.done
        ? Promise.resolve(null)
        : simulation.simulationPage({
            ...input,
            shard: s.shard,
            cursor: s.cursor,
            carry: s.carry,
            processed: progress.processed,
          }),
    ),
  );
  let { part, processed } = progress;
  const next = progress.shards.map((s, i) => {
    const page = pages[i];
    if (!page) return s;
    part = mergeParts(part, page.part);
    processed += page.events;
    return { shard: s.shard, cursor: page.cursor, carry: page.carry, done: page.done };
  });
  return { shards: next, part, processed };
}
