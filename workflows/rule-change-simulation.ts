import { executeChild, log } from '@temporalio/workflow';
import { records, simulationIdOf, type RuleChange } from './rule-change-state';
import { workflowIds } from './shared';
import { simulationWorkflow } from './simulation';

/**
 * The what-if of one proposed revision: `simulation:<changeId>-r<revision>`, a child replaying
 * the revision's program over the last `simulationWindowMs` of stored events. The change shows
 * it running meanwhile (recorded with the proposal or edit), then its result (or that it failed); a later edit's simulation replaces
 * it, and the store ignores the result of a revision that is no longer current.
 */
export async function simulateRevision(change: RuleChange, actor: string): Promise<void> {
  const revision = change.snapshot.revision;
  const simulationId = simulationIdOf(change.id, revision);
  change.snapshot.simulationId = simulationId;
  const attach = (state: string, result: unknown) =>
    records.attachSimulation(change.id, { simulationId, revision, simulation: { state, result } });
  const now = Date.now();
  let outcome: { state: string; result: unknown };
  try {
    const result = await executeChild(simulationWorkflow, {
      workflowId: workflowIds.simulation(simulationId),
      args: [
        {
          simulationId,
          changeId: change.id,
          program: change.program,
          window: {
            from: new Date(now - change.input.simulationWindowMs).toISOString(),
            to: new Date(now).toISOString(),
          },
          actor,
        },
      ],
    });
    outcome = { state: 'completed', result };
  } catch (err) {
    log.warn('simulation failed', { changeId: change.id, simulationId, error: String(err) });
    outcome = { state: 'failed', result: null };
  }
  await attach(outcome.state, outcome.result);
}
