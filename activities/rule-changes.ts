import { ApplicationFailure } from '@temporalio/activity';
import { ZodError } from 'zod';
import type { Db } from '../infra/db';
import {
  approveRuleChange,
  createRuleChange,
  editRuleChange,
  proposeRuleChange,
  rejectRuleChange,
  RuleChangeConflict,
  withdrawRuleChange,
  type RuleChangeRow,
} from '../changes/rule-changes';
import {
  activateRuleChange,
  announceRuleChange,
  attachLaunch,
  attachSimulation,
  endLaunch,
  moveActivation,
  scheduleRuleChange,
} from '../changes/rule-change-rollout';
import { asActivityFailure } from './refusals';

type Rest<F> = F extends (db: Db, id: string, ...rest: infer R) => unknown ? R : never;

/** A row the workflow learns from: only what it decides by (small histories). */
const outcome = (row: RuleChangeRow) => ({
  state: row.state,
  revision: row.revision,
  version: row.version,
  baseVersion: row.base_version,
  approvals: row.approvals,
  activateAt: row.activate_at?.toISOString() ?? null,
  noticeAt: row.notice_at?.toISOString() ?? null,
});

export type RuleChangeOutcome = ReturnType<typeof outcome>;

/**
 * The store's conflict is a business failure: the workflow is told, not retried; so is a domain
 * refusal from what the step calls (`activities/refusals.ts`).
 */
async function recorded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RuleChangeConflict) {
      throw ApplicationFailure.nonRetryable(err.message, err.type);
    }
    // A program the API let through but the store refuses: retrying cannot help.
    if (err instanceof ZodError) {
      throw ApplicationFailure.nonRetryable(
        `The program is not valid: ${err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        'RuleChangeConflict',
      );
    }
    throw asActivityFailure(err);
  }
}

/**
 * A rule change's steps in Postgres, each one transaction with its audit row, each safe to
 * retry (`changes/rule-changes.ts`, `changes/rule-change-rollout.ts`).
 */
export function createRuleChangeActivities({ db }: { db: Db }) {
  const step =
    <F extends (db: Db, id: string, ...rest: never[]) => Promise<RuleChangeRow>>(f: F) =>
    async (id: string, ...rest: Rest<F>): Promise<RuleChangeOutcome> =>
      recorded(async () => outcome(await f(db, id, ...(rest as never[]))));
  return {
    async createRuleChange(input: Parameters<typeof createRuleChange>[1]) {
      return recorded(async () => outcome(await createRuleChange(db, input)));
    },
    proposeRuleChange: step(proposeRuleChange),
    editRuleChange: step(editRuleChange),
    approveRuleChange: step(approveRuleChange),
    rejectRuleChange: step(rejectRuleChange),
    withdrawRuleChange: step(withdrawRuleChange),
    scheduleRuleChange: step(scheduleRuleChange),
    announceRuleChange: step(announceRuleChange),
    moveActivation: step(moveActivation),
    activateRuleChange: step(activateRuleChange),
    endLaunch: step(endLaunch),
    async attachLaunch(id: string, input: Parameters<typeof attachLaunch>[2]) {
      return recorded(() => attachLaunch(db, id, input));
    },
    async attachSimulation(id: string, input: Parameters<typeof attachSimulation>[2]) {
      await attachSimulation(db, id, input);
    },
  };
}

export type RuleChangeActivities = ReturnType<typeof createRuleChangeActivities>;
