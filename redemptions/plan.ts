/**
 * Eligibility: may this member have this reward now, and on what terms (price, tier, priority,
 * SLA)? Checked by the API before a redemption starts, so a refusal is an immediate 4xx naming
 * the field, and again by the workflow's first activity, since the member may have changed.
 * Both decide under the same program version: the one the redemption recorded when it was asked
 * for (`redemptions.rule_version`), else (not recorded yet) the member's version now. The terms
 * the plan carries (priority, SLA, retries) are that version's, whatever is in force later.
 */
import { FailureType } from '../domain/failures';
import { ms, tierIndex } from '../domain/program';
import { Refusal, RefusalKind } from '../domain/refusal';
import type { Program } from '../domain/program';
import type {
  RedemptionPlan,
  RedemptionRequest,
  ReviewReason,
  RewardKind,
  ShipTo,
} from '../domain/redemption';
import type { SubstitutionPolicy } from '../domain/rewards';
import type { Db } from '../infra/db';
import { loadRuleSet } from '../ledger/programs';
import { redemptionBudgetCheck } from '../budgets/redemptions';
import { screenRedemption, type RedemptionFinding } from '../guardrails/redemption';
import { addressKey, membersAtAddress } from './ship-to';

/** Why the plan says no: a business-failure type (the workflow's), the field and a message. */
export interface PlanRefusal {
  type: FailureType;
  field: 'memberId' | 'rewardId' | 'quantity';
  message: string;
}

export type PlanResult = { plan: RedemptionPlan; ruleVersion: number } | { refused: PlanRefusal };

interface PlanRow {
  status: string;
  tier: string;
  available: number;
  kind: RewardKind | null;
  reward_active: boolean | null;
  points_cost: number | null;
  tiers_allowed: string[] | null;
  provider: string | null;
  denomination: string | null;
  currency: string | null;
  campaign: string | null;
  substitution: SubstitutionPolicy | null;
  today: number;
  this_month: number;
  rule_version: number;
}

const refuse = (type: FailureType, field: PlanRefusal['field'], message: string): PlanResult => ({
  refused: { type, field, message },
});

/**
 * The plan's refusal as the caller is told it: an unknown member or reward is not found, a closed
 * member a conflict, anything else (not eligible, too few points) invalid; its type is the `reason`.
 */
export function refusalOf(refused: PlanRefusal): Refusal {
  const unknownReward = refused.message === 'no such reward';
  const kind = unknownReward
    ? RefusalKind.NotFound
    : refused.type === FailureType.MemberNotFound
      ? RefusalKind.MemberNotFound
      : refused.type === FailureType.MemberClosed
        ? RefusalKind.MemberClosed
        : refused.type === FailureType.MemberSuspended
          ? RefusalKind.MemberSuspended
          : refused.type === FailureType.InsufficientPoints
            ? RefusalKind.InsufficientPoints
            : refused.type === FailureType.BudgetExhausted
              ? RefusalKind.BudgetExhausted
              : RefusalKind.Invalid;
  const message = unknownReward
    ? 'No such reward.'
    : refused.type === FailureType.BudgetExhausted
      ? refused.message
      : `Not eligible: ${refused.field} ${refused.message}.`;
  return new Refusal(kind, message, [{ field: refused.field, message: refused.message }], {
    reason: refused.type,
  });
}

/**
 * Decides eligibility in one round trip; `now` fixes the day and month the caps count. With
 * `screen` (the workflow's plan step, not the API's early check), an eligible redemption is also
 * screened by the anomaly detectors: their findings are recorded (once per redemption, so a
 * retried plan records nothing twice) and become review reasons.
 */
export async function planRedemption(
  db: Db,
  request: Omit<RedemptionRequest, 'actor' | 'backorder'>,
  now: Date = new Date(),
  { screen = false }: { screen?: boolean } = {},
): Promise<PlanResult> {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const { rows } = await db.raw<{ rows: PlanRow[] }>(
    `SELECT m.status, m.tier, m.available, r.kind, r.active AS reward_active, r.points_cost,
       r.tiers_allowed, r.provider, r.denomination, r.currency, r.campaign, r.substitution,
       (SELECT count(*)::int FROM redemptions x WHERE x.member_id = m.id AND x.id <> :id
          AND x.created_at >= :day AND x.status NOT IN ('failed', 'cancelled', 'lost')) AS today,
       (SELECT count(*)::int FROM redemptions x WHERE x.member_id = m.id AND x.id <> :id
          AND x.created_at >= :month AND x.status NOT IN ('failed', 'cancelled', 'lost')) AS this_month,
       coalesce((SELECT x.rule_version FROM redemptions x WHERE x.id = :id),
         loyalty_rule_version(m.id)) AS rule_version
     FROM members m LEFT JOIN rewards r ON r.id = :reward
     WHERE m.id = :member`,
    { id: request.redemptionId, member: request.memberId, reward: request.rewardId, day, month },
  );
  const row = rows[0];
  if (!row) return refuse(FailureType.MemberNotFound, 'memberId', 'no such member');
  if (row.status === 'closed') return refuse(FailureType.MemberClosed, 'memberId', 'closed');
  if (row.status === 'suspended')
    return refuse(FailureType.MemberSuspended, 'memberId', 'the member is suspended');
  if (row.status !== 'active') {
    return refuse(FailureType.NotEligible, 'memberId', `the member is ${row.status}, not active`);
  }
  if (!row.kind || !row.reward_active) {
    return refuse(
      FailureType.NotEligible,
      'rewardId',
      row.kind ? 'not available' : 'no such reward',
    );
  }
  if (row.tiers_allowed?.length && !row.tiers_allowed.includes(row.tier)) {
    const allowed = row.tiers_allowed.join(', ');
    return refuse(
      FailureType.NotEligible,
      'rewardId',
      `for ${allowed} only; the member is ${row.tier}`,
    );
  }
  if (row.kind !== 'physical' && request.quantity !== 1) {
    return refuse(FailureType.NotEligible, 'quantity', 'gift cards and coupons come one at a time');
  }
  const points = row.points_cost! * request.quantity;
  const { program, version } = await loadRuleSet(db, row.rule_version);
  const policy = program.redemption;
  if (policy.perDay !== undefined && row.today >= policy.perDay) {
    return refuse(
      FailureType.NotEligible,
      'memberId',
      `at most ${policy.perDay} redemptions a day`,
    );
  }
  if (policy.perMonth !== undefined && row.this_month >= policy.perMonth) {
    const message = `at most ${policy.perMonth} redemptions a month`;
    return refuse(FailureType.NotEligible, 'memberId', message);
  }
  // A budget used up refuses here at once (or, holding for approval, gives a review reason);
  // the hold takes it for sure (budgets/units.ts).
  const budget = await redemptionBudgetCheck(
    db,
    program,
    {
      rewardId: request.rewardId,
      quantity: request.quantity,
      campaign: row.campaign,
      giftCard:
        row.kind === 'gift_card'
          ? { denomination: Number(row.denomination), currency: row.currency! }
          : null,
    },
    now,
  );
  if (budget.refusal) {
    return refuse(FailureType.BudgetExhausted, 'rewardId', budget.refusal.message);
  }
  if (points > row.available) {
    const message = `costs ${points} points; ${row.available} available`;
    return refuse(FailureType.InsufficientPoints, 'quantity', message);
  }
  const tier = program.tiers[tierIndex(program, row.tier)]!;
  // Where it ships, when the request said: the country and address detectors screen it too.
  const shipTo = request.shipTo;
  const anomalies = screen
    ? await screenRedemption(db, {
        redemptionId: request.redemptionId,
        memberId: request.memberId,
        rewardId: request.rewardId,
        points,
        ruleVersion: version,
        at: now,
        ...(shipTo
          ? {
              country: shipTo.country,
              membersAtAddress: await addressShare(db, shipTo, request.memberId),
            }
          : {}),
      })
    : [];
  const reasons = reviewReasons(policy, points, budget.holds, anomalies);
  return {
    ruleVersion: version,
    plan: {
      kind: row.kind,
      points,
      tier: row.tier,
      priority: tier.benefits.fulfilmentPriority,
      deliverySlaMs: ms(policy.deliverySla),
      lostAfterMs: ms(policy.lostAfter),
      returnWindowMs: ms(policy.returnWindow),
      substitution: {
        mode: row.substitution?.mode ?? 'none',
        deadlineMs: ms(row.substitution?.approvalDeadline ?? '2 days'),
        reminderMs: ms(row.substitution?.reminderBefore ?? '1 day'),
      },
      backorder: {
        checkEveryMs: ms(policy.backorderCheckEvery),
        giveUpAfterMs: ms(policy.backorderFor),
      },
      partnerRetry: {
        maximumAttempts: policy.partnerAttempts,
        maximumIntervalMs: ms(policy.partnerMaxInterval),
      },
      sku: request.rewardId,
      giftCard:
        row.kind === 'gift_card'
          ? {
              provider: row.provider!,
              denomination: Number(row.denomination),
              currency: row.currency!,
            }
          : null,
      review: reasons.length
        ? {
            reasons,
            deadlineMs: ms(policy.reviewDeadline),
            reminderMs: ms(policy.reviewReminderBefore),
            onTimeout: policy.reviewOnTimeout,
          }
        : null,
    },
  };
}

/**
 * Why this redemption must wait for a person, if at all: the one place reasons are gathered
 * (budgets held for approval, the points threshold, the anomaly detectors' findings).
 */
export function reviewReasons(
  policy: Program['redemption'],
  points: number,
  budgetHolds: { budget: string; message: string }[],
  anomalies: RedemptionFinding[] = [],
): ReviewReason[] {
  const reasons: ReviewReason[] = budgetHolds.map(({ budget, message }) => ({
    source: 'budget',
    summary: message,
    details: { budget, atLimit: 'holdForApproval' },
  }));
  if (policy.reviewAbovePoints !== undefined && points > policy.reviewAbovePoints) {
    reasons.push({
      source: 'reviewAbovePoints',
      summary: `${points} points is above the ${policy.reviewAbovePoints} that need a review`,
      details: { points, reviewAbovePoints: policy.reviewAbovePoints },
    });
  }
  reasons.push(...anomalies);
  return reasons;
}

/** How many members (this one included) asked for redemptions to this address. */
async function addressShare(
  db: Db,
  shipTo: ShipTo,
  memberId: string,
): Promise<{ address: string; members: number }> {
  const key = addressKey(shipTo);
  return { address: key, members: await membersAtAddress(db, key, memberId) };
}
