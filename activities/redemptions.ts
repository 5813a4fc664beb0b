import { ApplicationFailure } from '@temporalio/activity';
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
 * return) recorded when asked for, not the one in force when the activity happens to run. A
 * ledger refusal (too few points, a closed member) fails the activity for good, typed by its kind.
 */
export function createRedemptionActivities({
  db,
  metrics = createActivityMetrics(),
}: {
  db: Db;
  metrics?: ActivityMetrics;
}) {
  return refusalsAsFailures({
    async planRedemption(request: RedemptionRequest): Promise<RedemptionPlan> {
      const result = await planRedemption(db, request);
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
    }) {
      await placeHold(db, {
        holdId: input.redemptionId,
        memberId: input.memberId,
        amount: input.points,
        reason: `redemption ${input.redemptionId}`,
        actor: input.actor,
      });
    },

    async releasePoints(input: { redemptionId: string; memberId: string }): Promise<void> {
      await releaseHold(db, {
        holdId: input.redemptionId,
        memberId: input.memberId,
        reason: `redemption ${input.redemptionId} did not go ahead: points given back`,
        actor,
      });
    },

    async redeemPoints(input: { redemptionId: string; memberId: string }): Promise<void> {
      await redeemHold(db, {
        holdId: input.redemptionId,
        memberId: input.memberId,
        reason: `redemption ${input.redemptionId} fulfilled`,
        actor,
      });
    },

    /** The tier's service-recovery credit for a missed delivery SLA, once per redemption. */
    async creditServiceRecovery(input: {
      redemptionId: string;
      memberId: string;
      tier: string;
    }): Promise<{ points: number }> {
      const { ruleVersion } = await redemptionVersions(db, input.redemptionId);
      const { program } = await loadRuleSet(db, ruleVersion);
      const points = program.tiers[tierIndex(program, input.tier)]!.benefits.serviceRecoveryCredit;
      if (points <= 0) return { points: 0 };
      try {
        await adjustPoints(db, {
          memberId: input.memberId,
          points,
          reason: `service recovery: redemption ${input.redemptionId} missed its delivery SLA`,
          actor,
          dedupeKey: `sla:${input.redemptionId}`,
          ruleVersion,
        });
      } catch (err) {
        if (err instanceof Refusal && err.kind === RefusalKind.MemberClosed) return { points: 0 };
        throw err;
      }
      return { points };
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
      await adjustPoints(db, {
        memberId: input.memberId,
        points: input.points,
        reason: `refund: redemption ${input.redemptionId} returned`,
        actor,
        dedupeKey: `refund:${input.redemptionId}`,
        ruleVersion: returnRuleVersion,
      });
    },

    /** Records a step; the step that ends the redemption is timed from its request, once. */
    async recordRedemption(input: StepInput): Promise<void> {
      const recorded = await recordStep(db, input);
      const outcome = redemptionOutcomes.find((o) => o === input.status);
      if (!recorded || !outcome) return;
      const row = await findRedemptionRow(db, input.redemptionId);
      if (row) metrics.redemptionEnded(outcome, (input.step.at - row.created_at.getTime()) / 1000);
    },
  });
}

export type RedemptionActivities = ReturnType<typeof createRedemptionActivities>;
