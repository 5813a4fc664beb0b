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
  type MemberRun,
  type SimulationPart,
  type SimulationResult,
} from '../domain/simulation';
import { nonRetryableFailureTypes } from '../domain/failures';
import { searchAttributes, type SimulationInput } from './shared';

/** Reads over many events: a page may take a while on a big window; retried until it answers. */
const simulation = proxyActivities<SimulationActivities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: [...nonRetryableFailureTypes, 'SimulationRefused'],
  },
});

/** What one run hands the next (continue-as-new): where the replay is and what it has added up. */
export interface SimulationProgress {
  cursor: PageCursor | null;
  carry: MemberRun | null;
  part: SimulationPart;
  processed: number;
}

/** Pages per run before handing over, unless the SDK suggests it sooner. */
const PAGES_PER_RUN = 200;

/**
 * The what-if (`simulation:<id>`): the proposed program replayed over the stored events of the
 * window, a page of events per activity (member after member), each page's figures merged here
 * and the member it cut in two carried to the next. Progress is written by each page; a long run
 * continues as new with what it has so far; the result is written to the simulation's row and
 * returned (a rule change starts this as a child and attaches the result).
 */
export async function simulationWorkflow(
  input: SimulationInput,
  carried?: SimulationProgress,
): Promise<SimulationResult> {
  let progress: SimulationProgress = carried ?? {
    cursor: null,
    carry: null,
    part: emptyPart(),
    processed: 0,
  };
  try {
    if (!carried) {
      if (input.changeId)
        upsertSearchAttributes([{ key: searchAttributes.RuleChangeId, value: input.changeId }]);
      await simulation.simulationBegin(input);
    }
    for (let pages = 0; ; pages += 1) {
      if (pages >= PAGES_PER_RUN || workflowInfo().continueAsNewSuggested)
        return await continueAsNew<typeof simulationWorkflow>(input, progress);
      const page = await simulation.simulationPage({
        ...input,
        cursor: progress.cursor,
        carry: progress.carry,
        processed: progress.processed,
      });
      progress = {
        cursor: page.cursor,
        carry: page.carry,
        part: mergeParts(progress.part, page.part),
        processed: progress.processed + page.events,
      };
      if (page.done) break;
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
