/**
 * Redemptions: what a member asked for, the statuses a redemption passes through, and what the
 * workflow, the activities and the API say about it. Pure: imported by all three.
 */
import type { RewardKind } from './rewards';

export type { RewardKind };

/**
 * In order of a physical reward's happy path. A gift card or coupon goes from `points_held` to
 * `issued` and `completed`; any failure ends in `failed`, a cancellation in `cancelled`, both after
 * compensation (stock and points given back). A parcel shipped but never delivered within the
 * program's `redemption.lostAfter` ends `lost`: the points are given back (the stock has left).
 */
export const redemptionStatuses = [
  'requested',
  'points_held',
  'in_review',
  'substitution_pending',
  'backordered',
  'stock_reserved',
  'shipment_requested',
  'shipped',
  'delivered',
  'issued',
  'completed',
  'returned',
  'refunded',
  'failed',
  'cancelled',
  'lost',
] as const;

export type RedemptionStatus = (typeof redemptionStatuses)[number];

export const finalStatuses: readonly RedemptionStatus[] = [
  'completed',
  'refunded',
  'failed',
  'cancelled',
  'lost',
];

/** A return's steps follow the redemption's in its timeline, numbered from here. */
export const returnSeqBase = 100;

export interface ReturnInput {
  redemptionId: string;
  memberId: string;
  reason: string;
  actor: string;
}

/** When a returned reward's points come back: sooner for tiers with `fasterReturns`. */
export interface ReturnPlan {
  points: number;
  tier: string;
  refundAfterMs: number;
  fast: boolean;
}

/**
 * Until the parcel leaves the warehouse (or the card or code is issued) a redemption can be
 * cancelled; a shipment already requested is then cancelled at the warehouse first (if it left
 * meanwhile, the cancel is refused and the redemption goes on).
 */
export const cancellableStatuses: readonly RedemptionStatus[] = [
  'requested',
  'points_held',
  'in_review',
  'substitution_pending',
  'backordered',
  'stock_reserved',
  'shipment_requested',
];

/** Where a physical reward ships (optional): an ISO 3166-1 alpha-2 country and the address. */
export interface ShipTo {
  country: string;
  address: string;
}

export interface RedemptionRequest {
  redemptionId: string;
  memberId: string;
  rewardId: string;
  quantity: number;
  /** Out of stock and no substitute taken: wait for stock instead of a refund. */
  backorder: boolean;
  /** Where it ships, when the request said (screened by the anomaly detectors). */
  shipTo?: ShipTo;
  /** Who asked: `<role>:<key name>`. */
  actor: string;
}

/** What eligibility found: the price, the member's tier and the benefits that shape fulfilment. */
export interface RedemptionPlan {
  kind: RewardKind;
  points: number;
  tier: string;
  /** Higher ships first (the tier's `fulfilmentPriority`). */
  priority: number;
  /** How long delivery may take before the SLA is breached, in ms. */
  deliverySlaMs: number;
  /** How long after shipping a parcel not delivered is declared lost (points given back), in ms. */
  lostAfterMs: number;
  /**
   * How long after delivery a physical reward may be returned, in ms: the workflow waits that
   * long for a return before it closes. Absent in plans recorded before it did.
   */
  returnWindowMs?: number;
  /** Retries of partner calls, from program policy. */
  partnerRetry: { maximumAttempts: number; maximumIntervalMs: number };
  sku: string;
  giftCard: { provider: string; denomination: number; currency: string } | null;
  /** The reward's substitution policy, for physical rewards out of stock. */
  substitution: { mode: 'none' | 'auto' | 'approval'; deadlineMs: number; reminderMs: number };
  /** Backorders: how often stock is checked again, and how long before giving up. */
  backorder: { checkEveryMs: number; giveUpAfterMs: number };
  /**
   * Held for review (`in_review`) before fulfilment, if any reason says so. Absent in plans
   * recorded before the review hold existed.
   */
  review?: ReviewHold | null;
}

/**
 * Why a redemption waits for a person: which check (`reviewAbovePoints`, `budget`, a detector),
 * what it saw, and the numbers behind it.
 */
export interface ReviewReason {
  source: string;
  summary: string;
  details: Record<string, unknown>;
}

/** The review hold's terms, from programme policy: the reasons, the reminder and the deadline. */
export interface ReviewHold {
  reasons: ReviewReason[];
  deadlineMs: number;
  reminderMs: number;
  /** Undecided at the deadline: `release` approves, `reject` refunds. */
  onTimeout: 'release' | 'reject';
}

/** Ops' decision on a redemption in review (the `reviewRedemption` update's argument). */
export interface ReviewDecision {
  decision: 'approve' | 'reject';
  reason: string;
  /** `<role>:<key name>`; only ops and admin decide. */
  actor: string;
}

export type SubstitutionOutcome =
  | { decision: 'approved'; sku: string; by: string; reason: string }
  | { decision: 'rejected' | 'timed_out' | 'no_candidates'; by: string; reason: string };

export interface SubstitutionInput {
  redemptionId: string;
  memberId: string;
  rewardId: string;
  quantity: number;
  tier: string;
  mode: 'auto' | 'approval';
  deadlineMs: number;
  reminderMs: number;
}

export interface TimelineStep {
  status:
    | RedemptionStatus
    | 'sla_breached'
    | 'substituted'
    | 'substitution_declined'
    /** In review: the reminder before the deadline, and the decision (ops' or the policy's). */
    | 'review_reminded'
    | 'review_decided'
    /** The warehouse's answers were lost and the retries ran out: it is asked to drop it. */
    | 'shipment_unconfirmed'
    /** ...and it had the shipment, which has left: fulfilment goes on, nothing is given back. */
    | 'shipment_confirmed'
    /** Ops settled the points left held by a workflow closed past the point of no return. */
    | 'settled'
    /** The warehouse said it was delivered after the redemption ended `lost` (recorded by the API). */
    | 'delivered_after_lost';
  at: number;
  detail?: Record<string, unknown>;
}
