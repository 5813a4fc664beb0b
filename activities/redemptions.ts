import { ApplicationFailure } from '@temporalio/activity';
import { giveBackRedemptionBudgets, takeRedemptionBudgets } from '../budgets/redemptions';
import { FailureType } from '../domain/failures';
import { loadRuleSet } from '../ledger/programs';
import { adjustPoints } from '../ledger/adjustments';
import { placeHold, redeemHold, releaseHold } from '../ledger/holds';
import type { RedemptionPlan, RedemptionRequest, ReturnPlan } from '../domain/redemption';
import { ms } from '../domain/program';
import { Refusal, RefusalKind } from '../domain/refusal';
import type { Db } from '../infra/db';
import { planRedemption } from '../redemptions/plan';
import {
  findRedemptionRow,
  recordStep,
  redemptionVersions,
  withSteps,
  type StepInput,
} from '../redemptions/records';
import { tierIndex } from '../domain/program';
import { createActivityMetrics, redemptionOutcomes, type ActivityMetrics } from './metrics';
import { refusalsAsFailures } from './refusals';

const actor = 'system:redemption';

/**
 * The redemption's ledger side in Postgres: eligibility, the points hold and what becomes of it,
 * the service-recovery credit and the timeline. Each is idempotent by the redemption id, so a
 * retried activity changes nothing twice. Each decides under the version the redemption (or its
 * return) recorded when asked for, not the one in force when the activity happens to run.
 * Given `steps`, an effect writes its timeline steps in its own transaction (once each, by their
 * number); without, it is the effect alone (as workflows started before steps came along ask).
 * A ledger refusal (too few points, a closed member) fails the activity for good, typed by its kind.
 */
export function createRedemptionActivities({
  db,
  metrics = createActivityMetrics(),
}: {
  db: Db;
  metrics?: ActivityMetrics;
}) {
  /** The step that ends a redemption, timed from its request: once, when it is written. */
  const observeEndings = async (written: StepInput[]): Promise<void> => {
    for (const input of written) {
      const outcome = redemptionOutcomes.find((o) => o === input.status);
      if (!outcome) continue;
      const row = await findRedemptionRow(db, input.redemptionId);
      if (row) metrics.redemptionEnded(outcome, (input.step.at - row.created_at.getTime()) / 1000);
    }
  };

  return refusalsAsFailures({
    async planRedemption(request: RedemptionRequest): Promise<RedemptionPlan> {
      // The plan step screens for anomalies (the API's early check does not).
      const result = await planRedemption(db, request, new Date(), { screen: true });
      if ('refused' in result) {
        const { type, field, message } = result.refused;
        throw ApplicationFailure.nonRetryable(`${field}: ${message}`, type);
      }
      return result.plan;
    },

    async holdPoints(input: {
      redemptionId: string;
      memberId: string;
      points: number;
      actor: string;
      steps?: StepInput[];
      /** Budget keys held for approval (review reasons with source `budget`). */
      overBudget?: string[];
    }) {
      await withSteps(
        db,
        async (trx) => {
          const hold = await placeHold(trx, {
            holdId: input.redemptionId,
            memberId: input.memberId,
            amount: input.points,
            reason: `redemption ${input.redemptionId}`,
            actor: input.actor,
          });
          // The programme budgets it counts against, with the hold (refused: neither is written).
          // A budget the plan held it for approval on is taken past its limit (a person decides).
          await takeRedemptionBudgets(trx, input.redemptionId, new Date(), input.overBudget);
          return hold;
        },
        () => input.steps ?? [],
      );
    },

    async releasePoints(input: { redemptionId: string; memberId: string }): Promise<void> {
      await db.transaction(async (trx) => {
        await releaseHold(trx, {
          holdId: input.redemptionId,
          memberId: input.memberId,
          reason: `redemption ${input.redemptionId} did not go ahead: points given back`,
          actor,
        });
        await giveBackRedemptionBudgets(trx, input.redemptionId);
      });
    },

    async redeemPoints(input: {
      redemptionId: string;
      memberId: string;
      steps?: StepInput[];
    }): Promise<void> {
      const { written } = await withSteps(
        db,
        (trx) =>
          redeemHold(trx, {
            holdId: input.redemptionId,
            memberId: input.memberId,
            reason: `redemption ${input.redemptionId} fulfilled`,
            actor,
          }),
        () => input.steps ?? [],
      );
      await observeEndings(written);
    },

    /**
     * The tier's service-recovery credit for a missed delivery SLA, once per redemption; its
     * steps (`sla_breached`) are written with the credit and say how much (`credited`).
     */
    async creditServiceRecovery(input: {
      redemptionId: string;
      memberId: string;
      tier: string;
      steps?: StepInput[];
    }): Promise<{ points: number }> {
      const { ruleVersion } = await redemptionVersions(db, input.redemptionId);
      const { program } = await loadRuleSet(db, ruleVersion);
      const points = program.tiers[tierIndex(program, input.tier)]!.benefits.serviceRecoveryCredit;
      const credit = async (trx: Db): Promise<number> => {
        if (points <= 0) return 0;
        try {
          await adjustPoints(trx, {
            memberId: input.memberId,
            points,
            reason: `service recovery: redemption ${input.redemptionId} missed its delivery SLA`,
            actor,
            dedupeKey: `sla:${input.redemptionId}`,
            ruleVersion,
          });
        } catch (err) {
          if (err instanceof Refusal && err.kind === RefusalKind.MemberClosed) return 0;
          throw err;
        }
        return points;
      };
      const { result } = await withSteps(db, credit, (credited) =>
        (input.steps ?? []).map((s) => ({
          ...s,
          step: { ...s.step, detail: { ...s.step.detail, credited } },
        })),
      );
      return { points: result };
    },

    /**
     * The points a return gives back and when: the member's tier decides how soon, under the
     * version in force when the return was asked for.
     */
    async planReturn(input: { redemptionId: string; memberId: string }): Promise<ReturnPlan> {
      const { returnRuleVersion } = await redemptionVersions(db, input.redemptionId);
      const { program } = await loadRuleSet(db, returnRuleVersion);
      const { rows } = await db.raw<{ rows: { points: number | null; tier: string }[] }>(
        `SELECT r.points, m.tier FROM redemptions r JOIN members m ON m.id = r.member_id
         WHERE r.id = ?`,
        [input.redemptionId],
      );
      const row = rows[0];
      if (!row?.points) {
        throw ApplicationFailure.nonRetryable(
          `no points to refund for ${input.redemptionId}`,
          FailureType.NotEligible,
        );
      }
      const fast = program.tiers[tierIndex(program, row.tier)]!.benefits.fasterReturns;
      const policy = program.redemption;
      const refundAfterMs = ms(fast ? policy.fastReturnRefundAfter : policy.returnRefundAfter);
      return { points: row.points, tier: row.tier, refundAfterMs, fast };
    },

    /** Gives a returned reward's points back, once, in a lot expiring by the return's version. */
    async refundPoints(input: { redemptionId: string; memberId: string; points: number }) {
      const { returnRuleVersion } = await redemptionVersions(db, input.redemptionId);
      await db.transaction(async (trx) => {
        await adjustPoints(trx, {
          memberId: input.memberId,
          points: input.points,
          reason: `refund: redemption ${input.redemptionId} returned`,
          actor,
          dedupeKey: `refund:${input.redemptionId}`,
          ruleVersion: returnRuleVersion,
        });
        // The reward came back: its redemption no longer counts against the budgets.
        await giveBackRedemptionBudgets(trx, input.redemptionId);
      });
    },

    /** Records a step; the step that ends the redemption is timed from its request, once. */
    async recordRedemption(input: StepInput): Promise<void> {
      if (await recordStep(db, input)) await observeEndings([input]);
    },
  });
}

export type RedemptionActivities = ReturnType<typeof createRedemptionActivities>;
