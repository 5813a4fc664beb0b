import { findSubstitutes, getReward } from '../catalog/rewards';
import type { Db } from '../infra/db';
import { refusalsAsFailures } from './refusals';
import {
  closeSubstitution,
  openSubstitution,
  remindSubstitution,
  type Candidate,
} from '../redemptions/substitutions';

/**
 * Substitution's side effects in Postgres: the candidates by the reward's policy, and the
 * substitution's record (opened, reminded, decided), each once however often retried. A catalog
 * refusal fails the activity for good.
 */
export function createSubstitutionActivities({ db }: { db: Db }) {
  return refusalsAsFailures({
    async findCandidates(input: {
      rewardId: string;
      tier: string;
      quantity: number;
    }): Promise<Candidate[]> {
      const reward = await getReward(db, input.rewardId);
      if (!reward) return [];
      const found = await findSubstitutes(db, reward, {
        tier: input.tier,
        quantity: input.quantity,
      });
      return found.map((r) => ({
        sku: r.id,
        name: r.name,
        cashValue: Number(r.cash_value),
        pointsCost: r.points_cost,
      }));
    },
    async openSubstitution(
      input: Omit<Parameters<typeof openSubstitution>[1], 'at' | 'deadlineAt'> & {
        at: number;
        deadlineAt: number | null;
      },
    ) {
      await openSubstitution(db, {
        ...input,
        at: new Date(input.at),
        deadlineAt: input.deadlineAt === null ? null : new Date(input.deadlineAt),
      });
    },
    async remindSubstitution(input: { redemptionId: string; at: number }): Promise<void> {
      await remindSubstitution(db, input.redemptionId, new Date(input.at));
    },
    async closeSubstitution(
      input: Omit<Parameters<typeof closeSubstitution>[1], 'at'> & { at: number },
    ) {
      await closeSubstitution(db, { ...input, at: new Date(input.at) });
    },
  });
}

export type SubstitutionActivities = ReturnType<typeof createSubstitutionActivities>;
