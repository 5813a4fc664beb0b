import { ApplicationFailure } from '@temporalio/activity';
import type { AppConfig } from '../config';
import type { Db } from '../infra/db';
import { programSchema, type Program } from '../domain/program';
import { simulationResult, type SimulationPart, type SimulationResult } from '../domain/simulation';
import { loadRuleSet } from '../ledger/programs';
import { simulatePage, type PageInput, type PageOutput } from '../changes/simulation-page';
import {
  completeSimulation,
  createSimulation,
  failSimulation,
  programmeMembers,
  recordProgress,
} from '../changes/simulations';
import type { SimulationInput } from '../workflows/shared';
import { refusalsAsFailures } from './refusals';

/** A simulation's program refused (it was validated by the API, so only a direct start gets it). */
export const SimulationRefused = 'SimulationRefused';

/**
 * The what-if's side effects: its row (started, progress, result) and its pages, which only read.
 * Pages are `SIMULATION_PAGE_SIZE` events; a page's progress is written as an absolute count.
 * A domain refusal from what they call fails the activity for good.
 */
export function createSimulationActivities({ db, config }: { db: Db; config: AppConfig }) {
  const parsed = new Map<string, Program>();
  const programOf = (input: SimulationInput): Program => {
    let program = parsed.get(input.simulationId);
    if (!program) {
      const result = programSchema.safeParse(input.program);
      if (!result.success)
        throw ApplicationFailure.nonRetryable(
          `The program is not valid: ${result.error.issues[0]?.message ?? 'invalid'}`,
          SimulationRefused,
        );
      program = result.data;
      if (parsed.size > 50) parsed.clear();
      parsed.set(input.simulationId, program);
    }
    return program;
  };

  return refusalsAsFailures({
    /** Records the simulation (once); refuses for good what no retry can mend. */
    async simulationBegin(input: SimulationInput): Promise<{ total: number }> {
      const from = Date.parse(input.window.from);
      const to = Date.parse(input.window.to);
      if (!(from < to))
        throw ApplicationFailure.nonRetryable(
          `The window must be two instants, from before to; got ${JSON.stringify(input.window)}.`,
          SimulationRefused,
        );
      if (input.baseVersion !== undefined) {
        const known = await db<{ version: number }>('rule_sets')
          .where({ version: input.baseVersion })
          .first();
        if (!known)
          throw ApplicationFailure.nonRetryable(
            `No rule set version ${input.baseVersion} to compare with.`,
            SimulationRefused,
          );
      }
      const row = await createSimulation(db, {
        id: input.simulationId,
        changeId: input.changeId,
        program: input.program,
        baseVersion: input.baseVersion,
        window: input.window,
        createdBy: input.actor,
      });
      programOf(input);
      return { total: row.total };
    },

    async simulationPage(
      input: SimulationInput & Omit<PageInput, 'window' | 'limit'> & { processed: number },
    ): Promise<PageOutput> {
      const base =
        input.baseVersion === undefined ? null : (await loadRuleSet(db, input.baseVersion)).program;
      const page = await simulatePage(
        db,
        { sim: programOf(input), base },
        {
          window: input.window,
          shard: input.shard,
          cursor: input.cursor,
          carry: input.carry,
          limit: config.SIMULATION_PAGE_SIZE,
        },
      );
      await recordProgress(db, input.simulationId, input.processed + page.events);
      return page;
    },

    async simulationFinish(input: {
      simulationId: string;
      window: { from: string; to: string };
      part: SimulationPart;
      actor: string;
    }): Promise<SimulationResult> {
      const result = simulationResult(input.part, {
        members: await programmeMembers(db, input.window),
        pointCost: config.POINT_COST,
      });
      await completeSimulation(db, input.simulationId, result, input.actor);
      return result;
    },

    async simulationFailed(input: {
      simulationId: string;
      error: string;
      actor: string;
    }): Promise<void> {
      await failSimulation(db, input.simulationId, input.error, input.actor);
    },
  });
}

export type SimulationActivities = ReturnType<typeof createSimulationActivities>;
